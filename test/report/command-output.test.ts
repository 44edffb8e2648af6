/**
 * What a recipe command prints reaches the console in one piece when the command ends, as
 * ninja shows it: with the failure it causes (ERROR), or after its echo when it succeeds
 * (INFO); the log file keeps every line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const BUILD = ['build', 'linux', 'debian12', 'amd64'];

async function lastLog(root: string): Promise<string> {
  const logs = join(root, '.aiop/logs');
  const files = (await readdir(logs)).sort();
  return readFile(join(logs, files.at(-1)!), 'utf8');
}

test("a failing command's stdout and stderr are shown with its failure, at ERROR, and kept in the log file", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const recipe = `default: bad
targets:
  bad: { virtual: true, commands: ["echo out-line; printf 'X%sY\\\\n' ERR >&2; exit 3"] }
`;
  const root = await writePlaybook(join(dir, 'pb'), { recipe });
  const env = isolatedEnv(dir);
  for (const level of ['INFO', 'ERROR']) {
    const result = await aiop([...BUILD, '-sll', level], { cwd: root, env });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      result.stderr.includes(`error: target "bad": command exited with status 3: echo out-line; printf 'X%sY\\n' ERR >&2; exit 3\nout-line\nXERRY\n`),
      `-sll ${level}:\n${result.stderr}`,
    );
    assert.equal(result.stderr.split('XERRY').length, 2, 'the output is shown once');
  }
  const log = await lastLog(root);
  assert.match(log, /DEBUG +\[stdout [^\]]+\] bad\| out-line\n/);
  assert.match(log, /DEBUG +\[stderr [^\]]+\] bad\| XERRY\n/);

  // A log file that leaves DEBUG out still keeps the output, with the failure.
  await aiop([...BUILD, '-fll', 'ERROR'], { cwd: root, env });
  assert.match(await lastLog(root), /ERROR +\[engine [^\]]+\] target "bad": command exited with status 3: .*\n.*ERROR +\[engine [^\]]+\] out-line\n.*ERROR +\[engine [^\]]+\] XERRY\n/);
});

test('a succeeding command with output shows it at INFO after its echo; lines are never run together', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const recipe = `default: all
targets:
  all: { virtual: true, depends: [a.txt] }
  a.txt: { commands: ["echo one; echo two >&2; echo three > $target", ":sys echo from-sys"] }
`;
  const root = await writePlaybook(join(dir, 'pb'), { recipe });
  const env = isolatedEnv(dir);
  const result = await aiop(BUILD, { cwd: root, env });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /\na\.txt: echo one; echo two >&2; echo three > \S+\/a\.txt\none\ntwo\nfrom-sys\n/);
  const quiet = await aiop([...BUILD, '--force', '-sll', 'WARNING'], { cwd: root, env });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'a successful command\'s output is INFO');
  const log = await lastLog(root);
  assert.match(log, /\[stdout [^\]]+\] a\.txt\| one\n/);
  assert.match(log, /\[stderr [^\]]+\] a\.txt\| two\n/, 'each line is its own log line');
  assert.match(log, /\[stdout [^\]]+\] a\.txt\| from-sys\n/);
});

test('two commands running at once: each one\'s output is shown in one piece, never mixed with the other\'s', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const lines = (name: string) => `for i in 1 2 3 4; do echo ${name}$($)i; sleep 0.15; done; touch $target`;
  const recipe = `default: all
targets:
  all: { virtual: true, depends: [a, b] }
  a: { commands: ["${lines('A')}"] }
  b: { commands: ["sleep 0.07; ${lines('B')}"] }
`;
  const root = await writePlaybook(join(dir, 'pb'), { recipe });
  const result = await aiop([...BUILD, '-j', '2'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.stderr.includes('A1\nA2\nA3\nA4\n'), result.stderr);
  assert.ok(result.stderr.includes('B1\nB2\nB3\nB4\n'), result.stderr);
  // b's echo came before a's output, so b's block says again which command it is.
  assert.match(result.stderr, /\nb: sleep 0\.07; [^\n]+\nB1\n/);
});
