/**
 * A playbook file under a near-miss name (`.yaml`, another case, a typo) is named with the
 * name aiop reads, exit 2, nothing written; it never passes for an absent file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';

const RECIPE = `default: package
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    commands: ["echo hi > $target"]
`;

const PACKAGES = `packages:
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
`;

/** What aiop says about `.aiop/<actual>` standing for `.aiop/<expected>`. */
function misnamed(actual: string, expected: string): string {
  return (
    `aiop: error: .aiop/${actual}:1:1: aiop reads .aiop/${expected}, which does not exist; this file is not read\n` +
    `  did you mean "${expected}"? rename it: mv .aiop/${actual} .aiop/${expected}\n`
  );
}

async function playbook(dir: string): Promise<string> {
  return writePlaybook(join(dir, 'pb'), { recipe: RECIPE, packages: PACKAGES });
}

test('.aiop/recipe.yaml: validate and build name recipe.yml, exit 2, nothing built', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const env = isolatedEnv(dir);
  await rename(join(root, '.aiop/recipe.yml'), join(root, '.aiop/recipe.yaml'));
  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 2);
  assert.equal(validate.stdout, '');
  assert.equal(validate.stderr, `${misnamed('recipe.yaml', 'recipe.yml')}aiop: 1 problem found\n`);
  const verbose = await aiop(['validate', '-v'], { cwd: root, env });
  assert.doesNotMatch(verbose.stdout, /No problems found/);

  const before = await snapshot(root);
  const build = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(build.code, 2);
  assert.equal(build.stderr, misnamed('recipe.yaml', 'recipe.yml'));
  assert.deepEqual(await snapshot(root), before, 'nothing written');
});

test('.aiop/Recipe.yml (another case) is named too, even after a build cached the playbook', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const env = isolatedEnv(dir);
  const first = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  await rename(join(root, '.aiop/recipe.yml'), join(root, '.aiop/Recipe.yml'));
  const build = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(build.code, 2);
  assert.equal(build.stderr, misnamed('Recipe.yml', 'recipe.yml'));
});

test('.aiop/inventory_config.yaml: not "no playbook here" but its name, exit 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const env = isolatedEnv(dir);
  await rename(join(root, '.aiop/inventory_config.yml'), join(root, '.aiop/inventory_config.yaml'));
  for (const args of [['validate'], ['build', 'linux', 'debian12', 'amd64'], ['build_all']]) {
    const run = await aiop(args, { cwd: root, env });
    assert.equal(run.code, 2, args.join(' '));
    assert.equal(run.stderr, misnamed('inventory_config.yaml', 'inventory_config.yml'), args.join(' '));
  }
});

test('.aiop/packages.yaml: validate and build_all name packages.yml, exit 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const env = isolatedEnv(dir);
  await rename(join(root, '.aiop/packages.yml'), join(root, '.aiop/packages.yaml'));
  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 2);
  assert.equal(validate.stderr, `${misnamed('packages.yaml', 'packages.yml')}aiop: 1 problem found\n`);
  const all = await aiop(['build_all'], { cwd: root, env });
  assert.equal(all.code, 2);
  assert.equal(all.stderr, misnamed('packages.yaml', 'packages.yml'));
  // `aiop build` does not read packages.yml: it is not refused for it.
  const build = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(build.code, 0, build.stderr);
});

test('a backup beside an absent file is not taken for it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  await rename(join(root, '.aiop/packages.yml'), join(root, '.aiop/packages.yml.orig'));
  await writeFile(join(root, '.aiop/recipe.yml~'), RECIPE);
  const validate = await aiop(['validate'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal(validate.stderr, '');
});
