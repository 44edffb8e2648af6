import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, writePlaybook } from '../util/playbook.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [a.txt, b.txt, c.txt] }
  a.txt:
    sources: [src/a.in]
    commands: ["echo a >> $PLAYBOOK/runs.log", ":copy $source $target"]
  b.txt:
    sources: [src/b.in]
    commands: ["echo b >> $PLAYBOOK/runs.log", ":copy $source $target"]
  c.txt:
    sources: [a.txt, b.txt]
    commands: ["echo c >> $PLAYBOOK/runs.log", "cat $source > $target"]
`;

test('incremental builds run exactly what changed', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'src/a.in': 'alpha\n', 'src/b.in': 'beta\n' } });
  const env = isolatedEnv(dir);
  const log = join(root, 'runs.log');
  const pkg = join(root, '.build/demo-1.0.0-linux-debian12-amd64');
  const build = async (): Promise<string[]> => {
    await rm(log, { force: true });
    const result = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return (await readLines(log)).sort();
  };

  assert.deepEqual(await build(), ['a', 'b', 'c']);
  assert.equal(await readFile(join(pkg, 'c.txt'), 'utf8'), 'alpha\nbeta\n');

  await rm(log, { force: true });
  const again = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readLines(log), [], 'a second identical build runs no command');
  assert.match(again.stderr, /up to date/);

  await writeFile(join(root, 'src/a.in'), 'ALPHA\n');
  assert.deepEqual(await build(), ['a', 'c'], 'a changed source rebuilds exactly its dependents');
  assert.equal(await readFile(join(pkg, 'c.txt'), 'utf8'), 'ALPHA\nbeta\n');

  const later = new Date(Date.now() + 5000);
  await utimes(join(root, 'src/b.in'), later, later);
  assert.deepEqual(await build(), [], 'touch alone rebuilds nothing');

  let recipe = RECIPE.replace('cat $source > $target', 'cat $source $source > $target');
  await writeFile(join(root, '.aiop/recipe.yml'), recipe);
  assert.deepEqual(await build(), ['c'], "editing one target's command rebuilds that target only (it has no dependents)");

  recipe = recipe.replace('":copy $source $target"]\n  b.txt', '"tr A-Z a-z < $source > $target"]\n  b.txt');
  await writeFile(join(root, '.aiop/recipe.yml'), recipe);
  assert.deepEqual(await build(), ['a', 'c'], 'a command change that changes the output rebuilds the target and its dependents');

  recipe = recipe.replace('"echo b >> $PLAYBOOK/runs.log"', '"echo b >> $PLAYBOOK/runs.log; true"');
  await writeFile(join(root, '.aiop/recipe.yml'), recipe);
  assert.deepEqual(await build(), ['b'], 'a rebuilt target whose output is byte-identical does not rebuild its dependents');

  await rm(join(pkg, 'b.txt'));
  assert.deepEqual(await build(), ['b'], 'a deleted output is rebuilt');

  await writeFile(join(pkg, 'b.txt'), 'tampered\n');
  assert.deepEqual(await build(), ['b'], 'an output changed behind the engine is rebuilt');
  assert.equal(await readFile(join(pkg, 'b.txt'), 'utf8'), 'beta\n');
});

test('a failed command records nothing and runs again once fixed', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: out.txt
targets:
  out.txt:
    commands: ["echo try >> $PLAYBOOK/runs.log", "test -f $PLAYBOOK/fixed", "echo ok > $target"]
`,
  });
  const env = isolatedEnv(dir);
  const failed = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /out\.txt/);
  assert.deepEqual(await readLines(join(root, 'runs.log')), ['try']);
  await writeFile(join(root, 'fixed'), '');
  const fixed = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual(await readLines(join(root, 'runs.log')), ['try', 'try']);
  assert.equal(await readFile(join(root, '.build/demo-1.0.0-linux-debian12-amd64/out.txt'), 'utf8'), 'ok\n');
});

test('independent targets run at the same time (rendezvous)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  // Each target announces itself, then waits for the other: a serial engine deadlocks and fails.
  const wait = `!#!/bin/sh
touch "$1"
i=0
while [ ! -f "$2" ]; do
  i=$((i+1))
  [ $i -gt 50 ] && exit 1
  sleep 0.1
done
`;
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: both
targets:
  both: { virtual: true, depends: [x, y] }
  x: { commands: ["sh files/wait.sh $PLAYBOOK/x.ready $PLAYBOOK/y.ready", ":touch $target"] }
  y: { commands: ["sh files/wait.sh $PLAYBOOK/y.ready $PLAYBOOK/x.ready", ":touch $target"] }
`,
    files: { 'files/wait.sh': wait },
  });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-j', '2'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  await rm(join(root, 'x.ready'));
  await rm(join(root, 'y.ready'));
  const serial = await aiop(['build', 'linux', 'debian12', 'arm64', '-j', '1'], { cwd: root, env: isolatedEnv(dir), timeoutMs: 60_000 });
  assert.equal(serial.code, 1, 'with one job the rendezvous cannot happen: the test can fail');
});
