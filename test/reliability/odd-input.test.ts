/**
 * NUL bytes, invalid UTF-8 and absurd nesting in a playbook are refused where they are
 * (file:line:column), exit 2, with nothing written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

const RECIPE = 'default: all\ntargets:\n  all: { virtual: true, depends: [out.txt] }\n  out.txt:\n    commands: ["echo hello > $target"]\n';

const CASES: Array<{ name: string; recipe: string | Buffer; message: RegExp }> = [
  {
    name: 'a NUL byte in a command',
    recipe: 'default: all\ntargets:\n  all: { virtual: true, depends: [out.txt] }\n  out.txt:\n    commands: ["echo a\\0b > $target"]\n',
    message: /\.aiop\/recipe\.yml:5:16: a NUL character in a value/,
  },
  {
    name: 'a NUL byte in a variable',
    recipe: `variables: { GREETING: "hel\\0lo" }\n${RECIPE}`,
    message: /\.aiop\/recipe\.yml:1:24: a NUL character in a value/,
  },
  {
    name: 'invalid UTF-8',
    recipe: Buffer.concat([Buffer.from('default: all\ntargets:\n  all: { virtual: true, depends: [out.txt] }\n  out.txt:\n    commands: ["echo caf'), Buffer.from([0xe9]), Buffer.from(' > $target"]\n')]),
    message: /\.aiop\/recipe\.yml:5:25: \.aiop\/recipe\.yml: not valid UTF-8 text \(byte 0xe9 at line 5, column 25\)/,
  },
  {
    name: '100,000-deep nesting',
    recipe: `default: all\ntargets:\n  all: { virtual: true }\n  x: { virtual: true, depends: ${'['.repeat(100_000)}${']'.repeat(100_000)} }\n`,
    message: /\.aiop\/recipe\.yml:4:\d+: nested deeper than 100 levels/,
  },
];

for (const c of CASES) {
  test(`refused where it is, exit 2, nothing written: ${c.name}`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const root = await writePlaybook(join(dir, 'pb'), {});
    await writeFile(join(root, '.aiop/recipe.yml'), c.recipe);
    const before = await snapshot(dir);
    for (const args of [['validate'], ['build', 'linux', 'debian12', 'amd64']]) {
      const result = await aiop(args, { cwd: root, env: isolatedEnv(dir) });
      assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, c.message, `${args[0]}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /Maximum call stack|\n\s+at |\uFFFD/);
      assert.deepEqual(await snapshot(dir), before, `${args[0]} wrote nothing`);
    }
    recordTrial({ category: 'hostile', what: `${c.name} refused with its place`, held: true });
  });
}

