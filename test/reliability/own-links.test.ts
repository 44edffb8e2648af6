/**
 * aiop never follows a symbolic link where it keeps its own folders (the package folder, the
 * state and log folders): it refuses with a clear error (exit 2) and writes nothing where the
 * link points; `--force` removes the link itself and leaves its target alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';
import { requireTools } from '../util/tools.js';
import { recordTrial } from './report.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [out.txt] }
  out.txt:
    commands: ["echo hello > $target"]
`;
const ID = 'demo-1.0.0-linux-debian12-amd64';

async function setup(dir: string): Promise<{ root: string; elsewhere: string; env: Record<string, string | undefined> }> {
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE });
  const elsewhere = join(dir, 'elsewhere');
  await mkdir(elsewhere);
  await writeFile(join(elsewhere, 'precious.txt'), 'not aiop\'s\n');
  return { root, elsewhere, env: isolatedEnv(dir) };
}

test('a package folder replaced by a symlink is refused; --force replaces the link and leaves its target alone', async (t) => {
  if (!requireTools(t, 'unzip')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { root, elsewhere, env } = await setup(dir);
  const build = (...extra: string[]) => aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', ...extra], { cwd: root, env });
  assert.equal((await build()).code, 0);
  const pkgDir = join(root, '.build', ID);
  await rm(pkgDir, { recursive: true });
  await symlink(elsewhere, pkgDir);
  const before = await snapshot(elsewhere);

  const refused = await build();
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, new RegExp(`aiop: error: the package folder .*\\.build/${ID} is a symbolic link \\(to ${elsewhere}\\); aiop does not follow links`));
  assert.doesNotMatch(refused.stderr, /\n\s+at /);
  assert.deepEqual(await snapshot(elsewhere), before, 'nothing written where the link points');
  assert.ok((await lstat(pkgDir)).isSymbolicLink(), 'the link is left as it is without --force');

  const forced = await build('--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(await snapshot(elsewhere), before, '--force left the link\'s target alone');
  assert.ok((await lstat(pkgDir)).isDirectory(), 'a real folder replaced the link');
  const listing = execFileSync('unzip', ['-Z1', join(root, '.build', `${ID}.zip`)], { encoding: 'utf8' });
  assert.doesNotMatch(listing, /precious/, 'no foreign file in the zip');
  recordTrial({ category: 'hostile', what: 'package folder replaced by a symlink: refused, --force removes only the link', held: true });
});

for (const [what, rel] of [
  ['state folder', '.aiop/state'],
  ['package state folder', `.aiop/state/packages/${ID}`],
  ['log folder', '.aiop/logs'],
] as const) {
  test(`a ${what} that is a symlink is refused, and --force removes only the link`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const { root, elsewhere, env } = await setup(dir);
    const build = (...extra: string[]) => aiop(['build', 'linux', 'debian12', 'amd64', ...extra], { cwd: root, env });
    assert.equal((await build()).code, 0);
    const path = join(root, rel);
    await rename(path, join(dir, 'moved'));
    await symlink(elsewhere, path);
    const before = await snapshot(elsewhere);
    await rm(join(root, '.build'), { recursive: true });

    const refused = await build();
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /aiop: error: the (state|log) folder .* is a symbolic link \(to .*elsewhere\); aiop does not follow links/);
    assert.deepEqual(await snapshot(elsewhere), before, 'nothing written where the link points');

    const forced = await build('--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await snapshot(elsewhere), before, 'the target is left alone');
    assert.ok((await lstat(path)).isDirectory());
    recordTrial({ category: 'hostile', what: `${what} replaced by a symlink: refused, --force removes only the link`, held: true });
  });
}
