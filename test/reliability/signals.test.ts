/**
 * Signals stop a build the same way: SIGINT, SIGTERM and SIGHUP end every command's process
 * group, remove the `.partial` folder and the lock, and exit (130, 130, 129). A second signal
 * does not wait for a command that ignores SIGTERM: it is killed at once, and the clean-up
 * still happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

// A command that ignores SIGTERM (and SIGINT), records its pid and would run for a minute.
const STUBBORN = `!#!/bin/sh
trap '' TERM INT HUP
echo $$ > "$1/stubborn.pid"
i=0
while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
`;
const RECIPE = 'default: all\ntargets:\n  all: { virtual: true, depends: [out.txt] }\n  out.txt:\n    commands: ["sh files/stubborn.sh $PLAYBOOK", ":touch $target"]\n';

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

async function interrupted(signals: NodeJS.Signals[], gapMs: number, recipe = RECIPE): Promise<{ code: number | null; pid: number; root: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir();
  const root = await writePlaybook(join(dir, 'pb'), { recipe, files: { 'files/stubborn.sh': STUBBORN } });
  const child = spawn(process.execPath, [AIOP, 'build', 'linux', 'debian12', 'amd64'], { cwd: root, env: { ...process.env, ...isolatedEnv(dir) }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let pid = 0;
  for (let i = 0; i < 400 && pid === 0; i++) {
    await sleep(50);
    pid = Number(await readFile(join(root, 'stubborn.pid'), 'utf8').catch(() => '0'));
  }
  assert.ok(pid > 0, 'the command started');
  for (const [i, signal] of signals.entries()) {
    if (i > 0) await sleep(gapMs);
    child.kill(signal);
  }
  const code = await Promise.race([exited, sleep(15_000).then(() => 'hung' as const)]);
  assert.notEqual(code, 'hung', 'aiop ended');
  return { code: code as number | null, pid, root, cleanup };
}

async function leftovers(root: string): Promise<string[]> {
  const build = (await readdir(join(root, '.build')).catch(() => [] as string[])).filter((n) => n.includes('partial'));
  const locks = (await readdir(join(root, '.aiop/state/packages'), { recursive: true }).catch(() => [] as string[])).filter((n) => n.endsWith('lock'));
  return [...build, ...locks];
}

test('two SIGINTs 0.2 s apart kill a command that ignores SIGTERM at once; no .partial, no lock; exit 130', async (t) => {
  const started = Date.now();
  const { code, pid, root, cleanup } = await interrupted(['SIGINT', 'SIGINT'], 200);
  t.after(cleanup);
  t.diagnostic(`ended ${Date.now() - started} ms after the start`);
  assert.equal(code, 130);
  await sleep(200);
  assert.equal(await alive(pid), false, 'the stubborn command was killed');
  assert.deepEqual(await leftovers(root), []);
  recordTrial({ category: 'fault', what: 'two SIGINTs 0.2 s apart: stubborn child killed, no .partial, no lock', held: true });
});

for (const [signal, status] of [['SIGHUP', 129], ['SIGTERM', 130]] as const) {
  test(`${signal} stops the build like SIGINT: children, .partial and lock cleaned, exit ${status}`, async (t) => {
    const { code, pid, root, cleanup } = await interrupted([signal], 0);
    t.after(cleanup);
    assert.equal(code, status);
    await sleep(200);
    assert.equal(await alive(pid), false, 'the command was killed (SIGKILL after the grace period)');
    assert.deepEqual(await leftovers(root), []);
    recordTrial({ category: 'fault', what: `${signal}: children, .partial and lock cleaned, exit ${status}`, held: true });
  });
}

test('a command whose shell dies on SIGTERM while its child ignores it: the child is killed too, exit 130', async (t) => {
  // "; true" keeps /bin/sh from exec'ing the script: the shell leads the process group and dies
  // on SIGTERM, the stubborn script it started lives on in the group.
  const recipe = RECIPE.replace('"sh files/stubborn.sh $PLAYBOOK"', '"sh files/stubborn.sh $PLAYBOOK; true"');
  const { code, pid, root, cleanup } = await interrupted(['SIGINT'], 0, recipe);
  t.after(cleanup);
  assert.equal(code, 130);
  await sleep(200);
  assert.equal(await alive(pid), false, 'the stubborn child of the dead shell was killed');
  assert.deepEqual(await leftovers(root), []);
  recordTrial({ category: 'fault', what: 'SIGINT: a stubborn child outliving its shell is killed, exit 130', held: true });
});
