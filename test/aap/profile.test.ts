import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TraceRecorder, type TraceEvent, type TraceFile } from '../../src/engine/profile.js';
import { aapPlaybook, expectStatus } from './helpers.js';

const targetEvents = (trace: TraceFile): TraceEvent[] => trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'target');

test('--profile writes Chrome trace JSON: one complete event per target run, with its reason, commands nested', async (t) => {
  const pb = await aapPlaybook(t);
  const first = await pb.run(['--profile', 'trace.json']);
  expectStatus(first, 0);
  const trace = JSON.parse(await readFile(join(pb.root, 'trace.json'), 'utf8')) as TraceFile;
  const targets = targetEvents(trace);
  assert.deepEqual(targets.map((e) => e.name).sort(), ['a.txt', 'b.txt', 'c.txt']);
  for (const e of targets) {
    assert.equal(e.args?.reason, 'never-built');
    assert.ok(Number.isInteger(e.ts) && e.ts >= 0 && Number.isInteger(e.dur) && e.dur! >= 0);
    assert.equal(e.pid, targets[0]!.pid);
    const commands = trace.traceEvents.filter((c) => c.cat === 'command' && c.args?.target === e.name);
    assert.equal(commands.length, 2, `both commands of ${e.name}`);
    for (const c of commands) {
      assert.equal(c.ph, 'X');
      assert.equal(c.tid, e.tid, 'a command is drawn on its target\'s lane');
      assert.ok(c.ts >= e.ts && c.ts + c.dur! <= e.ts + e.dur!, 'a command lies within its target');
    }
  }
  const c = targets.find((e) => e.name === 'c.txt')!;
  for (const dep of targets.filter((e) => e.name !== 'c.txt')) assert.ok(dep.ts + dep.dur! <= c.ts, 'c.txt starts after its sources');

  await writeFile(join(pb.root, 'src/a.in'), 'ALPHA\n');
  expectStatus(await pb.run(['--profile', 'trace2.json']), 0);
  const second = JSON.parse(await readFile(join(pb.root, 'trace2.json'), 'utf8')) as TraceFile;
  assert.deepEqual(
    targetEvents(second).map((e) => [e.name, e.args?.reason]).sort(),
    [['a.txt', 'sources-changed'], ['c.txt', 'dependencies-changed']],
  );
  assert.deepEqual(second.traceEvents.filter((e) => e.ph === 'i').map((e) => e.name), ['b.txt'], 'an up-to-date target is an instant event');
});

test('--profile is written even when the build fails', async (t) => {
  const pb = await aapPlaybook(t, { recipe: 'default: bad\ntargets:\n  bad: { virtual: true, commands: ["exit 3"] }\n' });
  expectStatus(await pb.run(['--profile', 'fail.json']), 1);
  const trace = JSON.parse(await readFile(join(pb.root, 'fail.json'), 'utf8')) as TraceFile;
  const [bad] = targetEvents(trace);
  assert.equal(bad?.name, 'bad');
  assert.match(String(bad?.args?.error), /exited with status 3/);

  const intoFolder = await pb.run(['--profile', 'src', '-f', 'NONE']);
  expectStatus(intoFolder, 1);
  assert.match(intoFolder.stderr, /--profile: cannot write .*src: /);
});

test('TraceRecorder: parallel targets get separate lanes, a freed lane is reused', () => {
  const recorder = new TraceRecorder(42);
  recorder.record({ type: 'target-start', target: 'x', reason: 'forced' });
  recorder.record({ type: 'target-start', target: 'y', reason: 'never-built' });
  recorder.record({ type: 'command', target: 'y', command: 'true', builtin: false });
  recorder.record({ type: 'command-end', target: 'y', command: 'true', durationMs: 0, ok: true });
  recorder.record({ type: 'target-done', target: 'x', durationMs: 0, changed: true });
  recorder.record({ type: 'target-start', target: 'z', reason: 'forced' });
  recorder.record({ type: 'target-done', target: 'z', durationMs: 0, changed: false });
  recorder.record({ type: 'target-fail', target: 'y', error: 'boom' });
  const trace = JSON.parse(JSON.stringify(recorder.toJSON())) as TraceFile;
  const lane = (name: string): number => trace.traceEvents.find((e) => e.name === name && e.cat === 'target')!.tid;
  assert.equal(lane('x'), 1);
  assert.equal(lane('y'), 2);
  assert.equal(lane('z'), 1);
  assert.equal(trace.traceEvents.find((e) => e.cat === 'command')!.tid, 2);
  assert.deepEqual(trace.traceEvents.filter((e) => e.ph === 'M').map((e) => e.args?.name), ['aap', 'up to date', 'job 1', 'job 2']);
  assert.ok(trace.traceEvents.every((e) => e.pid === 42));
});
