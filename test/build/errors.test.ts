import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, snapshot, writePlaybook, type PlaybookFiles } from '../util/playbook.js';

const RECIPE = `default: out.txt
targets:
  out.txt: { commands: ["echo $GREETING > $target"] }
variables: { GREETING: hi }
`;

interface Case {
  name: string;
  files?: PlaybookFiles;
  args?: string[];
  /** Folder (relative to the playbook) to run from. */
  from?: string;
  prepare?: (root: string) => Promise<void>;
  expect: RegExp[];
}

const cases: Case[] = [
  {
    name: 'malformed YAML shows file:line:column',
    files: { inventory: SIMPLE_INVENTORY.replace('  version: 1.0.0', '  version: [1.0.0') },
    expect: [/inventory_config\.yml:\d+:\d+/],
  },
  {
    name: 'a mistyped key suggests the right one',
    files: { inventory: SIMPLE_INVENTORY.replace('choices: [amd64, arm64]', 'choises: [amd64, arm64]') },
    expect: [/inventory_config\.yml:\d+:\d+/, /choices/, /did you mean/i],
  },
  { name: 'a wrong compatibility value lists the choices', args: ['linux', 'debian12', 'sparc'], expect: [/sparc/, /amd64, arm64/] },
  { name: 'an unknown system target lists the known ones', args: ['windows', 'x'], expect: [/windows/, /linux/] },
  { name: 'a missing compatibility value is named', args: ['linux', 'debian12'], expect: [/arch/, /missing/] },
  {
    name: 'a dependency cycle is printed',
    files: { recipe: `default: a\ntargets:\n  a: { depends: [b], commands: [":touch $target"] }\n  b: { depends: [c], commands: [":touch $target"] }\n  c: { depends: [a], commands: [":touch $target"] }\n` },
    expect: [/cycle/, /a -> b -> c -> a/],
  },
  {
    name: 'an unset variable is named with its target',
    files: { recipe: `default: out.txt\ntargets:\n  out.txt: { commands: ["echo $NOPE > $target"] }\n` },
    expect: [/NOPE/, /out\.txt/],
  },
  {
    name: 'a foreign non-empty destination is refused without --force',
    args: ['linux', 'debian12', 'amd64', '--destination_path', '../elsewhere'],
    prepare: async (root) => {
      await mkdir(join(root, '../elsewhere'), { recursive: true });
      await writeFile(join(root, '../elsewhere/precious.txt'), 'keep me');
    },
    expect: [/not empty/, /--force/],
  },
  {
    name: 'a destination holding a recipe source is refused even with --force',
    files: { recipe: `default: out.txt\ntargets:\n  out.txt: { sources: [files/x.txt], commands: [":copy $source $target"] }\n` },
    args: ['linux', 'debian12', 'amd64', '--destination_path', 'files', '--force'],
    expect: [/holds the recipe source files\/x\.txt/],
  },
  {
    name: 'the playbook itself as destination is refused even with --force',
    args: ['linux', 'debian12', 'amd64', '--destination_path', '.', '--force'],
    expect: [/contains the playbook itself/],
  },
  {
    name: 'a destination inside .aiop is refused',
    args: ['linux', 'debian12', 'amd64', '--destination_path', '.aiop/out', '--force'],
    expect: [/inside the playbook's \.aiop folder/],
  },
  { name: 'running from a subfolder names the playbook root', from: 'files', expect: [/playbook root/] },
];

for (const c of cases) {
  test(`exit 2 and nothing written: ${c.name}`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'files/x.txt': 'x' }, ...c.files });
    await c.prepare?.(root);
    // The parse cache is internal state, not an output; everything else must be untouched.
    const skip = (rel: string): boolean => rel === join('pb', '.aiop', 'state') || rel.startsWith(join('pb', '.aiop', 'state') + '/');
    const before = await snapshot(dir, skip);
    const result = await aiop(['build', ...(c.args ?? ['linux', 'debian12', 'amd64'])], {
      cwd: c.from ? join(root, c.from) : root,
      env: isolatedEnv(dir),
    });
    assert.equal(result.code, 2, `exit status\n${result.stderr}`);
    for (const pattern of c.expect) assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /internal error/);
    assert.deepEqual(await snapshot(dir, skip), before, 'nothing written');
  });
}

test('a destination whose name only starts like a source folder is not mistaken for it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const recipe = `default: out.txt\ntargets:\n  out.txt: { sources: [files/x.txt], commands: [":copy $source $target"] }\n`;
  const root = await writePlaybook(join(dir, 'pb'), { recipe, files: { 'files/x.txt': 'x' } });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--destination_path', 'fil'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
});
