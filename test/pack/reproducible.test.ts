import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'repro-child.js');

const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/**
 * Lays out and packs the fixture in a child process under the given zone, umask and file
 * times; with `clock`, under libfaketime's clock set to that time.
 */
function packIn(dir: string, tz: string, umask: string, fileTime: number, compression: string, env: Record<string, string | undefined>, clock?: string): void {
  const program = clock === undefined ? [process.execPath] : ['faketime', clock, process.execPath];
  const result = spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', ...program, CHILD, dir, String(fileTime), compression], {
    env: { ...process.env, TZ: tz, ...env },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
}

for (const compression of ['gzip', 'xz', 'zstd', 'none']) {
  test(`zip, ${compression} .deb and .rpm are byte-identical across TZ, umask and file times`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    await mkdir(a);
    await mkdir(b);
    packIn(a, 'UTC', '022', 1_600_000_000, compression, env);
    packIn(b, 'Pacific/Kiritimati', '077', 1_650_000_123, compression, env);
    assert.equal(await sha(join(a, 'out/hello.zip')), await sha(join(b, 'out/hello.zip')));
    assert.equal(await sha(join(a, 'out/hello.deb')), await sha(join(b, 'out/hello.deb')));
    assert.equal(await sha(join(a, 'out/hello.rpm')), await sha(join(b, 'out/hello.rpm')));
    // And the source date really is in there: another SOURCE_DATE_EPOCH changes the bytes.
    const c = join(dir, 'c');
    await mkdir(c);
    packIn(c, 'UTC', '022', 1_600_000_000, compression, { SOURCE_DATE_EPOCH: '1700000002' });
    assert.notEqual(await sha(join(a, 'out/hello.zip')), await sha(join(c, 'out/hello.zip')));
    assert.notEqual(await sha(join(a, 'out/hello.deb')), await sha(join(c, 'out/hello.deb')));
    assert.notEqual(await sha(join(a, 'out/hello.rpm')), await sha(join(c, 'out/hello.rpm')));
  });
}

test('zip, .deb and .rpm are byte-identical whatever the clock says (libfaketime: 2040, then 1999)', async (t) => {
  if (!requireTools(t, 'faketime')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const outs: string[][] = [];
  for (const [i, clock] of ['2040-02-29 23:59:59', '1999-12-31 12:00:00'].entries()) {
    const d = join(dir, String(i));
    await mkdir(d);
    packIn(d, 'UTC', '022', 1_600_000_000, 'xz', env, clock);
    outs.push(await Promise.all(['hello.zip', 'hello.deb', 'hello.rpm'].map((f) => sha(join(d, 'out', f)))));
  }
  // The fake clock really reached the child: a file it creates carries the fake year.
  const probe = spawnSync('faketime', ['2040-02-29 23:59:59', process.execPath, '-e', 'process.stdout.write(String(new Date().getUTCFullYear()))'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(probe.stdout, '2040');
  assert.deepEqual(outs[0], outs[1]);
});

test('without SOURCE_DATE_EPOCH the playbook\'s last git commit gives the time', async (t) => {
  if (!requireTools(t, 'git')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const a = join(dir, 'a');
  await mkdir(a);
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: a,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_DATE: '@1690000000 +0000', GIT_COMMITTER_DATE: '@1690000000 +0000', GIT_CONFIG_NOSYSTEM: '1', HOME: dir },
    });
  git('init', '-q');
  await writeFile(join(a, 'recipe.yml'), 'targets: {}\n');
  git('add', 'recipe.yml');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'x');
  packIn(a, 'UTC', '022', 1_600_000_000, 'gzip', { SOURCE_DATE_EPOCH: undefined });
  const listing = execFileSync('zipinfo', ['-T', '-l', join(a, 'out/hello.zip')], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.match(listing, / 20230722\.042640 hello-1\.4\.0\/bin\/hello$/m);
});
