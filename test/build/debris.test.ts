/**
 * Temp files of a build killed while it packed (SIGKILL leaves them): the next build removes
 * those of dead processes, whatever scratch suffix the writer gave them, and never a live
 * process's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';

test('the next build removes a dead build\'s temp files in the output folder (.deb/.rpm payload scratch included), not a live one\'s', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  // A process that has exited: its pid is no longer alive.
  const dead = spawnSync('true').pid;
  const live = process.pid;
  const out = join(root, '.build');
  await mkdir(out, { recursive: true });
  const planted = {
    payload: `.hello_1.4.0-1~debian12_amd64.deb.tmp-${dead}-0a1b2c3d.payload`,
    data: `.hello_1.4.0-1~debian12_amd64.deb.tmp-${dead}-0a1b2c3e.data`,
    plain: `.SHA256SUMS.tmp-${dead}-0a1b2c3f`,
    alive: `.hello_1.4.0-1~debian12_amd64.deb.tmp-${live}-0a1b2c40.payload`,
  };
  for (const name of Object.values(planted)) await writeFile(join(out, name), 'half a package');
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb'], { cwd: root, env });
  assert.equal(result.code, 0, result.stderr);
  const left = (await readdir(out)).filter((name) => name.includes('.tmp-'));
  assert.deepEqual(left, [planted.alive]);
});
