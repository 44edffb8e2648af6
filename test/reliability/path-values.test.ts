/**
 * Values that become part of a path (compatibility choices, the package version, an artifact's
 * dest, a file target's name) cannot name a place outside the playbook: `validate` and `build`
 * refuse them where they are written (file:line:column), exit 2, and write nothing anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, snapshot, writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [out.txt] }
  out.txt:
    commands: ["echo hello > $target"]
`;

interface Case {
  name: string;
  inventory?: string;
  recipe?: string;
  /** Compatibility values given to `aiop build linux`. */
  values: string[];
  /** file:line:column and message. */
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: '"../" in a compatibility choice',
    inventory: SIMPLE_INVENTORY.replace('choices: [debian12, ubuntu22.04]', 'choices: [debian12, "../../../../victim/data"]'),
    values: ['../../../../victim/data', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:11:45: choice "\.\.\/\.\.\/\.\.\/\.\.\/victim\/data" of parameter "distro" contains "\/"/,
  },
  {
    name: '"/../" in package.version',
    inventory: SIMPLE_INVENTORY.replace('version: 1.0.0', 'version: 1.4.0/../../../../v'),
    values: ['debian12', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:3:12: package version "1\.4\.0\/\.\.\/\.\.\/\.\.\/\.\.\/v" contains "\/"/,
  },
  {
    name: 'a version of ".."',
    inventory: SIMPLE_INVENTORY.replace('version: 1.0.0', 'version: ".."'),
    values: ['debian12', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:3:12: package version "\.\." is "\.\."/,
  },
  {
    name: 'a choice starting with "-"',
    inventory: SIMPLE_INVENTORY.replace('choices: [amd64, arm64]', 'choices: [amd64, "-rf"]'),
    values: ['debian12', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:12:\d+: choice "-rf" of parameter "arch" starts with "-"/,
  },
  {
    name: 'a NUL in a choice',
    inventory: SIMPLE_INVENTORY.replace('choices: [amd64, arm64]', 'choices: [amd64, "arm\\0"]'),
    values: ['debian12', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:12:\d+: a NUL character in a value/,
  },
  {
    name: 'artifact dest with ".."',
    inventory: `${SIMPLE_INVENTORY}    artifacts:\n      - name: evil\n        url: file:///nonexistent/evil.txt\n        sha256: ${'0'.repeat(64)}\n        dest: share/../../up/\n`,
    values: ['debian12', 'amd64'],
    message: /\.aiop\/inventory_config\.yml:19:15: artifact evil: dest "share\/\.\.\/\.\.\/up\/" climbs out/,
  },
  {
    name: 'file target starting with "-"',
    recipe: RECIPE.replace(/out\.txt/g, '-rf'),
    values: ['debian12', 'amd64'],
    message: /\.aiop\/recipe\.yml:4:3: file target "-rf" starts with "-"/,
  },
];

for (const c of CASES) {
  test(`path value refused by validate and build: ${c.name}`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    await mkdir(join(dir, 'victim', 'data'), { recursive: true });
    const root = await writePlaybook(join(dir, 'a', 'b', 'c', 'pb'), { ...(c.inventory ? { inventory: c.inventory } : {}), recipe: c.recipe ?? RECIPE });
    const env = isolatedEnv(dir);
    const before = await snapshot(dir);
    for (const args of [['validate'], ['build', 'linux', ...c.values, '--force']]) {
      const result = await aiop(args, { cwd: root, env, timeoutMs: 30_000 });
      assert.equal(result.code, 2, `${args[0]}: exit 2 expected:\n${result.stderr}`);
      assert.match(result.stderr, c.message, `${args[0]}:\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'a clear message, not a stack trace');
      assert.deepEqual(await snapshot(dir), before, `${args[0]} wrote nothing`);
    }
    recordTrial({ category: 'hostile', what: `${c.name} (validate and build)`, held: true });
  });
}
