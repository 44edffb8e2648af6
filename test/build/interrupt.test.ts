import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [quick.txt, slow.txt] }
  quick.txt: { commands: [":touch $target"] }
  slow.txt:
    sources: [files/slow.in]
    commands: ["sh files/slow.sh $PLAYBOOK", ":copy $source $target"]
`;
// Starts a grandchild that would outlive a careless parent, records its pid, waits for it.
const SLOW = `!#!/bin/sh
if [ -f "$1/slow-mode" ]; then
  sleep 60 &
  echo $! > "$1/grandchild.pid"
  wait
fi
`;

/** Running, not a zombie (an orphan may wait a while to be reaped by this container's init). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function interruptDuringSlowTarget(root: string, env: Record<string, string | undefined>, signal: NodeJS.Signals): Promise<{ code: number | null; grandchild: number }> {
  const child = spawn(process.execPath, [AIOP, 'build', 'linux', 'debian12', 'amd64'], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let pid = 0;
  for (let i = 0; i < 200 && pid === 0; i++) {
    await sleep(50);
    pid = Number(await readFile(join(root, 'grandchild.pid'), 'utf8').catch(() => '0'));
  }
  assert.ok(pid > 0, 'the slow command started');
  child.kill(signal);
  // Generous liveness bound: the build must end promptly, long before `sleep 60` would.
  const code = await Promise.race([exited, sleep(10_000).then(() => 'hung' as const)]);
  assert.notEqual(code, 'hung', 'aiop ended after the signal');
  return { code: code as number | null, grandchild: pid };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} during a first build: exit 130, no process left, no package and no temporary folder`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'files/slow.sh': SLOW, 'files/slow.in': 'v1\n', 'slow-mode': '' } });
    const { code, grandchild } = await interruptDuringSlowTarget(root, isolatedEnv(dir), signal);
    assert.equal(code, 130);
    await sleep(200);
    assert.equal(await alive(grandchild), false, 'the command and its children were ended');
    assert.deepEqual((await readdir(join(root, '.build')).catch(() => [])).filter((n) => !n.startsWith('.') || n.includes('partial')), []);
  });
}

test('SIGINT during an in-place update leaves the package folder as it was', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'files/slow.sh': SLOW, 'files/slow.in': 'v1\n' } });
  const env = isolatedEnv(dir);
  const first = spawn(process.execPath, [AIOP, 'build', 'linux', 'debian12', 'amd64'], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  assert.equal(await new Promise((r) => first.on('exit', r)), 0);
  const pkg = join(root, '.build/demo-1.0.0-linux-debian12-amd64');
  const before = await snapshot(pkg);
  await writeFile(join(root, 'files/slow.in'), 'v2\n');
  await writeFile(join(root, 'slow-mode'), '');
  const { code, grandchild } = await interruptDuringSlowTarget(root, env, 'SIGINT');
  assert.equal(code, 130);
  await sleep(200);
  assert.equal(await alive(grandchild), false);
  assert.deepEqual(await snapshot(pkg), before);
});
