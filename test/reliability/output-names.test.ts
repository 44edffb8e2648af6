/**
 * Output names are unique across the packages of a build_all: a distro matrix gets Debian's
 * `~<distro>` names by default, and two packages that would still write the same file are
 * refused before anything is built (exit 2, naming both and the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, snapshot, writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

const RECIPE = 'default: all\ntargets:\n  all: { virtual: true, depends: [distro.txt] }\n  distro.txt:\n    commands: ["echo $distro > $target"]\n';

test('build_all of a distro matrix writes one .deb per distro, named with ~<distro>', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: RECIPE,
    packages: 'packages:\n  - system_target: linux\n    matrix: { distro: [debian12, ubuntu22.04], arch: [amd64] }\n    options: { installer: deb }\n',
  });
  const result = await aiop(['build_all'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  const debs = (await readdir(join(root, '.build'))).filter((n) => n.endsWith('.deb')).sort();
  assert.deepEqual(debs, ['demo_1.0.0~debian12_amd64.deb', 'demo_1.0.0~ubuntu22.04_amd64.deb']);
  const sums = await readFile(join(root, '.build/SHA256SUMS'), 'utf8');
  for (const deb of debs) assert.match(sums, new RegExp(`  ${deb.replace(/[.~]/g, '\\$&')}\\n`));
  recordTrial({ category: 'hostile', what: 'distro matrix: one .deb per distro (~<distro> names)', held: true });
});

test('two packages of build_all that would write the same .deb are refused before anything is built', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    inventory: SIMPLE_INVENTORY,
    recipe: RECIPE,
    packages: `packages:
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { installer: deb, installer_name: app.deb }
  - system_target: linux
    compat_args: [ubuntu22.04, amd64]
    options: { installer: deb, installer_name: app.deb }
`,
  });
  const before = await snapshot(root);
  for (const args of [['build_all'], ['validate']]) {
    const result = await aiop(args, { cwd: root, env: isolatedEnv(dir) });
    assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /\.aiop\/packages\.yml:7:48: package 2: "demo-1\.0\.0-linux-ubuntu22\.04-amd64" and "demo-1\.0\.0-linux-debian12-amd64" \(package 1\) would both write \.build\/app\.deb/,
    );
    assert.deepEqual(await snapshot(root, (rel) => rel.startsWith('.aiop/logs') || rel.startsWith('.aiop/state')), before, 'nothing built');
  }
  recordTrial({ category: 'hostile', what: 'two build_all packages writing the same .deb refused before building', held: true });
});
