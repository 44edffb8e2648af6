import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const INVENTORY = `package:
  name: demo
  version: 1.0.0
  maintainer: Demo Team <demo@example.com>
  description: Demo package.
system_targets:
  linux:
    compatibility:
      - { name: n, choices: ["1", "2", "3", "4", "5", "6"] }
`;

// Each package marks itself running, waits until another one runs too (so a serial build_all
// fails), records how many run at once, and unmarks itself.
const STEP = `!#!/bin/sh
dir=$1
touch "$dir/running.$2"
i=0
while [ "$(ls "$dir" | grep -c '^running')" -lt 2 ]; do
  i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.05
done
ls "$dir" | grep -c '^running' >> "$dir/../counts"
sleep 0.3
ls "$dir" | grep -c '^running' >> "$dir/../counts"
rm "$dir/running.$2"
`;

test('build_all --threads 3: at most 3 packages at a time, and at least 2 overlap', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    inventory: INVENTORY,
    recipe: `default: out\ntargets:\n  out:\n    commands: ["mkdir -p $PLAYBOOK/markers", "sh files/step.sh $PLAYBOOK/markers $n", ":touch $target"]\n`,
    packages: `packages:\n  - system_target: linux\n    matrix: { n: ["1", "2", "3", "4", "5", "6"] }\n`,
    files: { 'files/step.sh': STEP },
  });
  const result = await aiop(['build_all', '--threads', '3'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  const counts = (await readFile(join(root, 'counts'), 'utf8')).trim().split('\n').map(Number);
  assert.equal(counts.length, 12);
  assert.ok(Math.max(...counts) <= 3, `never more than 3 at once: ${counts}`);
  assert.ok(Math.max(...counts) >= 2, `at least 2 at once: ${counts}`);
  assert.match(result.stderr, /Succeeded \(6\)/);
});

test('build_all: a failing package does not stop the others; the summary names it with its log; exit 1', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    inventory: INVENTORY,
    recipe: `default: out\ntargets:\n  out:\n    commands: ["test $n != 4", ":touch $target"]\n`,
    packages: `packages:\n  - system_target: linux\n    matrix: { n: ["1", "2", "3", "4", "5", "6"] }\n`,
  });
  const result = await aiop(['build_all', '--threads', '2'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /Succeeded \(5\)/);
  assert.match(result.stderr, /demo-1\.0\.0-linux-4: .*test 4 != 4.*\(log: [^)]+\.log\)/s);
  for (const n of ['1', '2', '3', '5', '6']) {
    await readFile(join(root, `.build/demo-1.0.0-linux-${n}/out`));
  }
});
