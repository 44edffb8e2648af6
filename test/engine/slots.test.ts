import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandSlots, type ShellResult, type SlotRunOptions } from '../../src/engine/shell.js';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const ENV: NodeJS.ProcessEnv = { ...process.env, SHLVL: '1' };

interface Ran extends ShellResult {
  stdout: string[];
  stderr: string[];
}

function run(slots: CommandSlots, command: string, cwd: string, extra: Partial<SlotRunOptions> = {}): Promise<Ran> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return slots
    .run(command, { cwd, env: ENV, onOutput: (stream, line) => (stream === 'stdout' ? stdout : stderr).push(line), ...extra })
    .then((result) => ({ ...result, stdout, stderr }));
}

/** The most `+`/`-` pairs open at once in a log of `+ name` / `- name` lines. */
function maxOverlap(log: string): number {
  let open = 0;
  let most = 0;
  for (const line of log.split('\n')) {
    if (line.startsWith('+ ')) most = Math.max(most, ++open);
    else if (line.startsWith('- ')) open--;
  }
  return most;
}

test('more callers than slots: never more commands at once than slots, all of them run, each gets its own output', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(2);
  const log = join(dir, 'log');
  // Six callers for two slots: each slot's launcher gets a command queued behind the running one.
  const runs = Array.from({ length: 12 }, (_, i) =>
    run(slots, `echo "+ ${i}" >> log; sleep 0.05; echo "- ${i}" >> log; echo out${i}; printf err${i} >&2; echo $PPID > ppid${i}`, dir),
  );
  const results = await Promise.all(runs);
  results.forEach((r, i) => {
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout, [`out${i}`]);
    assert.deepEqual(r.stderr, [`err${i}`]);
  });
  const text = await readFile(log, 'utf8');
  assert.equal(text.split('\n').filter((l) => l.startsWith('+ ')).length, 12);
  // At most two at once, and two did run at once (so this could fail).
  assert.equal(maxOverlap(text), 2);
  const launchers = new Set(await Promise.all(results.map((_, i) => readFile(join(dir, `ppid${i}`), 'utf8'))));
  assert.ok(launchers.size <= 2, `commands ran in ${launchers.size} launchers`);
});

test('a command queued behind one that fails is skipped, never started; the launcher then runs new commands', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  const failing = run(slots, 'sleep 0.2; exit 3', dir);
  // Handed out while the first runs: it waits in the launcher, not in Node.
  const queued = run(slots, 'touch queued-ran', dir);
  assert.equal((await failing).code, 3);
  const skipped = await queued;
  assert.equal(skipped.skipped, true);
  assert.equal(existsSync(join(dir, 'queued-ran')), false);
  const after = await run(slots, 'touch after-ran; echo ok', dir);
  assert.deepEqual(after.stdout, ['ok']);
  assert.equal(existsSync(join(dir, 'after-ran')), true);
});

test('cancelQueued: the running command finishes, the queued one never starts, later commands run', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  const first = run(slots, 'sleep 0.3; echo first', dir);
  const queued = run(slots, 'touch queued-ran', dir);
  // Once the first command has started (its launcher has a child), cancel what waits behind it.
  await new Promise((resolve) => setTimeout(resolve, 100));
  slots.cancelQueued();
  assert.deepEqual((await first).stdout, ['first']);
  assert.equal((await queued).skipped, true);
  assert.equal(existsSync(join(dir, 'queued-ran')), false);
  const later = await run(slots, 'touch later-ran', dir);
  assert.equal(later.code, 0);
  assert.equal(existsSync(join(dir, 'later-ran')), true);
  // The stop file is gone once nothing is queued.
  assert.deepEqual(readdirSync(tmpdir()).filter((name) => name.startsWith(`aiop-stop-${process.pid}-`)), []);
});

test('an abort ends the running command and the queued one never starts', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  const controller = new AbortController();
  const first = run(slots, 'sleep 30', dir, { signal: controller.signal });
  const queued = run(slots, 'touch queued-ran', dir, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 100));
  controller.abort();
  assert.equal((await first).signal, 'SIGTERM');
  assert.equal((await queued).signal, 'SIGTERM');
  assert.equal(existsSync(join(dir, 'queued-ran')), false);
  assert.deepEqual(readdirSync(tmpdir()).filter((name) => name.startsWith(`aiop-stop-${process.pid}-`)), []);
});

test('shouldStart false: a command waiting for a slot is never handed out', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  let stop = false;
  const first = run(slots, 'sleep 0.1; exit 1', dir);
  // A different environment cannot queue in the first one's launcher: it waits in Node for the slot.
  const waiting = run(slots, 'touch waiting-ran', dir, { env: { ...ENV, OTHER: '1' }, shouldStart: () => !stop });
  stop = true;
  assert.equal((await first).code, 1);
  assert.equal((await waiting).skipped, true);
  assert.equal(existsSync(join(dir, 'waiting-ran')), false);
});

test('exclusive work waits for a free slot', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  const busy = run(slots, 'sleep 0.2; touch busy-done', dir);
  const sawDone = await slots.exclusive(async () => existsSync(join(dir, 'busy-done')));
  assert.equal(sawDone, true);
  assert.equal((await busy).code, 0);
});

test('a build with -j 2 never runs more than two commands at once (start and end markers)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const names = Array.from({ length: 8 }, (_, i) => `t${i}`);
  const recipe = [
    'default: all',
    'targets:',
    `  all: { virtual: true, depends: [${names.join(', ')}] }`,
    ...names.map((n) => `  ${n}: { commands: ["echo '+ ${n}' >> $PLAYBOOK/log; sleep 0.1; echo '- ${n}' >> $PLAYBOOK/log", "touch $target"] }`),
  ].join('\n');
  const root = await writePlaybook(join(dir, 'pb'), { recipe: `${recipe}\n` });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-j', '2'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  const log = await readFile(join(root, 'log'), 'utf8');
  assert.equal(log.split('\n').filter((l) => l.startsWith('+ ')).length, 8);
  assert.equal(maxOverlap(log), 2);
});

test('a target keeps its slot from its first command to its last: with one slot, targets never interleave', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const slots = new CommandSlots(1);
  // Three targets of three commands each, all asking at once.
  const target = async (name: string): Promise<void> => {
    const owner = {};
    for (let i = 0; i < 3; i++) {
      const ran = await run(slots, `echo ${name}${i} >> log`, dir, { owner, last: i === 2 });
      assert.equal(ran.code, 0);
    }
    slots.release(owner);
  };
  await Promise.all(['a', 'b', 'c'].map(target));
  const lines = (await readFile(join(dir, 'log'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 9);
  for (let k = 0; k < 9; k += 3) {
    const name = lines[k]!.slice(0, 1);
    assert.deepEqual(lines.slice(k, k + 3), [`${name}0`, `${name}1`, `${name}2`], lines.join(' '));
  }
});
