import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshot } from '../util/playbook.js';
import { aapPlaybook, expectStatus } from './helpers.js';

const PARENT = `variables: { WHO: parent }
children: [plugins/one, plugins/two]
default: all
targets:
  all:
    virtual: true
    depends: [top.txt]
  top.txt:
    sources: [one.txt, two.txt]
    commands: ["echo parent >> $PLAYBOOK/runs.log", "cat $source > $target"]
  clean:
    virtual: true
    commands: ["echo clean-parent >> $PLAYBOOK/runs.log"]
`;
const CHILD = (name: string): string => `default: ${name}.txt
targets:
  ${name}.txt:
    sources: [in.txt]
    commands: ["echo ${name} >> $PLAYBOOK/runs.log", "pwd >> $PLAYBOOK/runs.log", "echo $WHO > $target", "cat $source >> $target"]
${name === 'one' ? '  clean:\n    virtual: true\n    commands: ["echo clean-one >> $PLAYBOOK/runs.log"]\n' : ''}`;

test('children are built first, each relative to its folder, into the shared PKGDIR; -l skips them', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: PARENT,
    files: {
      'plugins/one/recipe.yml': CHILD('one'),
      'plugins/one/in.txt': 'one-in\n',
      'plugins/two/recipe.yml': CHILD('two'),
      'plugins/two/in.txt': 'two-in\n',
    },
  });
  const built = await pb.run([]);
  expectStatus(built, 0);
  assert.deepEqual(await pb.takeRuns(), ['one', join(pb.root, 'plugins/one'), 'two', join(pb.root, 'plugins/two'), 'parent']);
  assert.equal(await readFile(join(pb.root, '.build/aap/top.txt'), 'utf8'), 'parent\none-in\nparent\ntwo-in\n', 'children inherit the parent\'s variables');
  assert.match(built.stderr, /==> plugins\/one: one\.txt/);
  assert.equal((await readdir(join(pb.root, '.aiop/state/aap'))).length, 3, 'one state file per recipe');

  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), [], 'nothing to do the second time');

  await writeFile(join(pb.root, 'plugins/two/in.txt'), 'TWO\n');
  expectStatus(await pb.run(['-l']), 0);
  assert.deepEqual(await pb.takeRuns(), [], '-l: the changed child is not looked at');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), ['two', join(pb.root, 'plugins/two'), 'parent']);

  // A target named on the command line is built in every recipe that defines it.
  expectStatus(await pb.run(['clean']), 0);
  assert.deepEqual(await pb.takeRuns(), ['clean-one', 'clean-parent']);
  expectStatus(await pb.run(['clean', '-l']), 0);
  assert.deepEqual(await pb.takeRuns(), ['clean-parent']);
  const childOnly = await pb.run(['two.txt', '-l']);
  expectStatus(childOnly, 2);
  assert.match(childOnly.stderr, /no target named "two\.txt" in the recipe;/);
});

test('a missing child recipe is exit 2 before anything runs; a cycle is named', async (t) => {
  const pb = await aapPlaybook(t, { recipe: 'children: [sub]\ndefault: a.txt\ntargets:\n  a.txt: { commands: ["echo a >> runs.log", "echo a > $target"] }\n' });
  const missing = await pb.run([]);
  expectStatus(missing, 2);
  assert.match(missing.stderr, /child recipe sub\/recipe\.yml does not exist/);
  assert.deepEqual(await pb.takeRuns(), []);
  assert.equal(existsSync(join(pb.root, '.build')), false);

  await mkdir(join(pb.root, 'sub'));
  await writeFile(join(pb.root, 'sub/recipe.yml'), 'children: [.]\ntargets: {}\n');
  const cycle = await pb.run([]);
  expectStatus(cycle, 2);
  assert.match(cycle.stderr, /child recipes form a cycle: \. -> sub -> \.$/m);
});

test('-k: a failed child is listed with the parent that needed its output; an independent child is still built', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'children: [bad, good]\ndefault: top.txt\ntargets:\n  top.txt: { sources: [made.txt], commands: ["echo top >> $PLAYBOOK/runs.log", "cat $source > $target"] }\n',
    files: {
      'bad/recipe.yml': 'default: made.txt\ntargets:\n  made.txt: { commands: ["echo bad >> $PLAYBOOK/runs.log", "exit 5"] }\n',
      'good/recipe.yml': 'default: g.txt\ntargets:\n  g.txt: { commands: ["echo good >> $PLAYBOOK/runs.log", "echo g > $target"] }\n',
    },
  });
  const stop = await pb.run([]);
  expectStatus(stop, 1);
  assert.deepEqual(await pb.takeRuns(), ['bad'], 'without -k the first failure stops everything');

  const going = await pb.run(['-k']);
  expectStatus(going, 1);
  assert.deepEqual(await pb.takeRuns(), ['bad', 'good']);
  assert.match(going.stderr, /failed targets \(2\), each with its error:\n {2}bad: made\.txt: .*status 5.*\n {2}\(main recipe\): .*"made\.txt" is neither a target nor an existing file/);
});

test('-n over a tree whose parent needs what a child makes: says all would run, writes nothing', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: PARENT,
    files: {
      'plugins/one/recipe.yml': CHILD('one'),
      'plugins/one/in.txt': 'one-in\n',
      'plugins/two/recipe.yml': CHILD('two'),
      'plugins/two/in.txt': 'two-in\n',
    },
  });
  const before = await snapshot(pb.dir);
  const dry = await pb.run(['-n']);
  expectStatus(dry, 0);
  assert.match(dry.stderr, /==> plugins\/one: one\.txt \(would run\)/);
  assert.match(dry.stderr, /==> top\.txt \(would run\)/);
  assert.deepEqual(await snapshot(pb.dir), before);
});
