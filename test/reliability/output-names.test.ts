/**
 * Output names are unique across the packages of a build_all: a distro matrix gets Debian's
 * `~<distro>` names by default, and two packages that would still write the same file are
 * refused before anything is built (exit 2, naming both and the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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

/** Every line of SHA256SUMS is the digest of the file there now. */
async function assertSumsMatchDisk(outDir: string): Promise<void> {
  const sums = await readFile(join(outDir, 'SHA256SUMS'), 'utf8');
  for (const line of sums.split('\n').filter((l) => l !== '')) {
    const [hex, name] = line.split('  ');
    assert.equal(createHash('sha256').update(await readFile(join(outDir, name!))).digest('hex'), hex, `SHA256SUMS line for ${name}`);
  }
}

/** What each manifest in `outDir` says of its installers, checked against the files. */
async function assertManifestsMatchDisk(outDir: string): Promise<void> {
  for (const name of (await readdir(outDir)).filter((n) => n.endsWith('.manifest.json'))) {
    const manifest = JSON.parse(await readFile(join(outDir, name), 'utf8')) as { outputs: Array<{ kind: string; path: string; sha256?: string }> };
    for (const output of manifest.outputs.filter((o) => o.sha256 !== undefined)) {
      assert.equal(createHash('sha256').update(await readFile(join(outDir, output.path))).digest('hex'), output.sha256, `${name}: ${output.path}`);
    }
  }
}

test('a build that would replace the installer of another package built into the same folder is refused, naming both', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { inventory: SIMPLE_INVENTORY, recipe: RECIPE });
  const env = isolatedEnv(dir);
  const first = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb'], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  const before = await snapshot(root, (rel) => rel.startsWith('.aiop/logs') || rel.startsWith('.aiop/state'));
  const second = await aiop(['build', 'linux', 'ubuntu22.04', 'amd64', '--installer', 'deb'], { cwd: root, env });
  assert.equal(second.code, 2, second.stderr);
  assert.match(
    second.stderr,
    /aiop: error: \S+\/\.build\/demo_1\.0\.0_amd64\.deb is an output of package "demo-1\.0\.0-linux-debian12-amd64" \(demo-1\.0\.0-linux-debian12-amd64\.manifest\.json names it\); "demo-1\.0\.0-linux-ubuntu22\.04-amd64" would write the same file/,
  );
  assert.deepEqual(await snapshot(root, (rel) => rel.startsWith('.aiop/logs') || rel.startsWith('.aiop/state')), before, 'nothing written');
  await assertManifestsMatchDisk(join(root, '.build'));
  await assertSumsMatchDisk(join(root, '.build'));
  // Under its own name it is built beside the first; both manifests and SHA256SUMS stay true.
  const named = await aiop(['build', 'linux', 'ubuntu22.04', 'amd64', '--installer', 'deb', '--installer_name', 'demo_1.0.0~ubuntu22.04_amd64.deb'], { cwd: root, env });
  assert.equal(named.code, 0, named.stderr);
  await assertManifestsMatchDisk(join(root, '.build'));
  await assertSumsMatchDisk(join(root, '.build'));
  // --force replaces it and says which manifest no longer describes it.
  const forced = await aiop(['build', 'linux', 'ubuntu22.04', 'amd64', '--installer', 'deb', '--force'], { cwd: root, env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr + forced.stdout, /demo_1\.0\.0_amd64\.deb is an output of package "demo-1\.0\.0-linux-debian12-amd64" .*--force: "demo-1\.0\.0-linux-ubuntu22\.04-amd64" replaces it/);
  await assertSumsMatchDisk(join(root, '.build'));
  recordTrial({ category: 'hostile', what: "separate build replacing another package's installer in the same folder refused (manifests and SHA256SUMS stay true)", held: true });
});
