import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, writePlaybook } from '../util/playbook.js';

test('build_again prints and replays the last build; with none recorded it exits 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: out\ntargets:\n  out: { commands: ["echo $arch >> $PLAYBOOK/runs.log", ":touch $target"] }\n`,
  });
  const env = isolatedEnv(dir);
  const none = await aiop(['build_again'], { cwd: root, env });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no build recorded/);

  const first = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack'], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  const zip = join(root, '.build/demo-1.0.0-linux-debian12-amd64.zip');
  await rm(zip);
  await rm(join(root, '.build/demo-1.0.0-linux-debian12-amd64'), { recursive: true });
  await rm(join(root, 'runs.log'));
  const again = await aiop(['build_again'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^aiop build linux debian12 amd64 --zip_pack$/m, 'the command is printed first');
  assert.deepEqual(await readLines(join(root, 'runs.log')), ['amd64'], 'the same build was replayed');
  assert.ok((await stat(zip)).isFile(), 'with the same options (--zip_pack)');
});

test('build_again takes its own reporting switches instead of the recorded ones, on the full and no-op paths', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: out\ntargets:\n  out: { commands: ["echo $arch >> $PLAYBOOK/runs.log", ":touch $target"] }\n`,
  });
  const env = isolatedEnv(dir);
  const first = await aiop(['build', 'linux', 'debian12', 'amd64', '-hp', '--machine-readable'], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^\d+,[^,]*,artifact-count,/m, 'the recorded build was machine-readable');

  // Nothing changed: the no-op path answers, with the switches typed now.
  const plain = await aiop(['build_again', '-hp'], { cwd: root, env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^aiop build linux debian12 amd64 -hp$/m, 'the recorded --machine-readable is replaced');
  assert.doesNotMatch(plain.stdout, /artifact-count/, 'not machine-readable unless asked now');

  const verbose = await aiop(['build_again', '-v', '-hp', '--stdout_log_level', 'DEBUG'], { cwd: root, env });
  assert.equal(verbose.code, 0, verbose.stderr);
  assert.match(verbose.stderr, /^aiop build linux debian12 amd64 -v -hp --stdout_log_level DEBUG$/m);
  assert.match(verbose.stdout + verbose.stderr, /DEBUG/, '-v shows DEBUG lines');

  const machine = await aiop(['build_again', '--machine-readable'], { cwd: root, env });
  assert.equal(machine.code, 0, machine.stderr);
  assert.match(machine.stdout, /^\d+,[^,]*,artifact-count,/m);

  const bad = await aiop(['build_again', '-sll', 'LOUD'], { cwd: root, env });
  assert.equal(bad.code, 2, 'its own switches are checked as typed');
  assert.match(bad.stderr, /"LOUD" is not a log level/);
  assert.deepEqual(await readLines(join(root, 'runs.log')), ['amd64'], 'nothing was rebuilt: the same build each time');
});
