import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';
import { assertSameAsClean } from '../util/clean-build.js';

const PKG = 'demo-1.0.0-linux-debian12-amd64';
const ARGS = ['linux', 'debian12', 'amd64', '--zip_pack'];

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [a.txt, sub/b.txt] }
  a.txt: { sources: [src/a.in], commands: [":copy $source $target"] }
  sub/b.txt: { sources: [src/b.in], commands: ["cat $source $source > $target"] }
`;

async function setup(t: import('node:test').TestContext) {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'src/a.in': 'alpha\n', 'src/b.in': 'beta\n' } });
  const env = { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
  const build = async (...extra: string[]): Promise<{ stdout: string; stderr: string }> => {
    const result = await aiop(['build', ...ARGS, ...extra], { cwd: root, env });
    assert.equal(result.code, 0, `aiop build ${extra.join(' ')}: ${result.stderr}`);
    return result;
  };
  const stateDir = join(root, '.aiop/state/packages', PKG);
  return { dir, root, env, build, stateDir, pkgDir: join(root, '.build', PKG) };
}

test('a package built to several destinations goes back and forth without a refusal', async (t) => {
  const { dir, root, env, build } = await setup(t);
  const elsewhere = join(dir, 'out/pkg');
  await build();
  await build('--destination_path', elsewhere);
  await writeFile(join(root, 'src/a.in'), 'ALPHA\n');
  await build();
  assert.equal(await readFile(join(root, '.build', PKG, 'a.txt'), 'utf8'), 'ALPHA\n');
  await build('--destination_path', elsewhere);
  assert.equal(await readFile(join(elsewhere, 'a.txt'), 'utf8'), 'ALPHA\n', 'the other destination is updated in place, not refused');
  await build('--destination_path', '.build/second');
  await build();
  await assertSameAsClean(root, ARGS, env, PKG, 'after switching destinations');
  // A folder outside .build/ that aiop did not make is still never taken over.
  await mkdir(join(dir, 'foreign'), { recursive: true });
  await writeFile(join(dir, 'foreign/precious.txt'), 'keep me');
  const refused = await aiop(['build', ...ARGS, '--destination_path', join(dir, 'foreign')], { cwd: root, env });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /not an earlier build of this package/);
  assert.equal(await readFile(join(dir, 'foreign/precious.txt'), 'utf8'), 'keep me');
});

test('under .build/, removed state means a full rebuild, never a refusal', async (t) => {
  const { root, env, build, pkgDir } = await setup(t);
  await build();
  await writeFile(join(pkgDir, 'stray.txt'), 'left from before\n');
  await rm(join(root, '.aiop/state'), { recursive: true });
  const result = await build();
  assert.match(result.stdout + result.stderr, /no build record names this folder .*built anew/);
  assert.equal(await stat(join(pkgDir, 'stray.txt')).catch(() => undefined), undefined);
  await assertSameAsClean(root, ARGS, env, PKG, 'after rm -rf .aiop/state');
});

test('a damaged build record or signature file is a full rebuild with a warning naming it', async (t) => {
  const { root, env, build, stateDir } = await setup(t);
  await build();
  await writeFile(join(stateDir, 'build.json'), '{"destination": "/tm');
  await writeFile(join(root, 'src/b.in'), 'BETA\n');
  const record = await build();
  assert.match(record.stdout + record.stderr, /warning: \.aiop\/state\/packages\/demo-1\.0\.0-linux-debian12-amd64\/build\.json is damaged/);
  await assertSameAsClean(root, ARGS, env, PKG, 'after a damaged build record');

  for (const size of [10, 200, 400]) {
    await truncate(join(stateDir, 'signatures.json'), size);
    await writeFile(join(root, 'src/a.in'), `alpha ${size}\n`);
    const signatures = await build();
    assert.match(signatures.stdout + signatures.stderr, /warning: \.aiop\/state\/packages\/demo-1\.0\.0-linux-debian12-amd64\/signatures\.json is damaged \(cut short\)/, `cut to ${size} bytes`);
    await assertSameAsClean(root, ARGS, env, PKG, `signatures cut to ${size} bytes`);
    const again = await build();
    assert.doesNotMatch(again.stdout + again.stderr, /damaged/, 'written anew');
  }
});
