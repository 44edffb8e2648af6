import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot } from '../util/playbook.js';

test('the three ways of giving compatibility values build the same package', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  for (const args of [
    ['linux', 'ubuntu22.04', 'arm64'],
    ['linux', '--compat_args', 'ubuntu22.04', 'arm64'],
    ['linux', '--args', 'ubuntu22.04', 'arm64'],
    ['linux', '--compat_args', 'arch=arm64', 'distro=ubuntu22.04'],
  ]) {
    const result = await aiop(['build', ...args], { cwd: root, env });
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.ok((await stat(join(root, '.build/hello-1.4.0-linux-ubuntu22.04-arm64/bin/hello'))).isFile());
  }
});

test('aiop build TARGET -h lists its parameters with choices and help', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const result = await aiop(['build', 'linux', '-h'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /usage: aiop build linux \{distro\} \{arch\}/);
  assert.match(result.stdout, /distro +Distribution release\n +choices: debian12, ubuntu22\.04/);
  assert.match(result.stdout, /arch +CPU architecture\n +choices: amd64, arm64/);
  const general = await aiop(['build', '-h'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(general.code, 0);
  for (const option of ['--destination_path', '--zip_pack', '--installer', '--no_verify', '--retries', '--no_caching', '--stdout_log_level', '-sll', '--hide_progress']) {
    assert.ok(general.stdout.includes(option), option);
  }
});

test('--destination_path: own earlier output is updated, --force replaces a foreign folder', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  const args = ['build', 'linux', 'debian12', 'amd64', '--destination_path', '../out/pkg', '--zip_pack'];
  assert.equal((await aiop(args, { cwd: root, env })).code, 0);
  assert.equal((await aiop(args, { cwd: root, env })).code, 0, 'its own earlier output is fine');
  assert.ok((await stat(join(dir, 'out/hello-1.4.0-linux-debian12-amd64.zip'))).isFile(), 'outputs beside the package folder');
  const other = ['build', 'linux', 'debian12', 'arm64', '--destination_path', '../out/pkg'];
  const refused = await aiop(other, { cwd: root, env });
  assert.equal(refused.code, 2, 'another package may not take it over');
  const forced = await aiop([...other, '--force'], { cwd: root, env });
  assert.equal(forced.code, 0, forced.stderr);
  const sourcesInside = await aiop(['build', 'linux', 'debian12', 'amd64', '--destination_path', 'files', '--force'], { cwd: root, env });
  assert.equal(sourcesInside.code, 2, 'never over the playbook sources');
  assert.ok((await stat(join(root, 'files/hello.sh'))).isFile());
});

test('every long option takes `_` and `-` alike; --help shows the seed spelling in plain words', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  const dashed = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip-pack', '--destination-path=../out/a', '--machine_readable', '--hide-progress', '-j', '1'], { cwd: root, env });
  assert.equal(dashed.code, 0, dashed.stderr);
  assert.ok((await stat(join(dir, 'out/hello-1.4.0-linux-debian12-amd64.zip'))).isFile(), '--zip-pack made the zip where --destination-path= said');
  assert.match(dashed.stdout, /^\d+,[^,]*,artifact-count,\d+$/m, '--machine_readable gives machine-readable lines');
  const seed = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--destination_path', '../out/b', '--machine-readable'], { cwd: root, env });
  assert.equal(seed.code, 0, seed.stderr);
  assert.ok((await stat(join(dir, 'out/hello-1.4.0-linux-debian12-amd64.zip'))).isFile());
  const typo = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip-pak'], { cwd: root, env });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option '--zip-pak'/);
  const help = await aiop(['build', '--help'], { cwd: root, env });
  assert.equal(help.code, 0);
  for (const seedSpelling of ['--zip_pack', '--destination_path', '--no_verify', '--machine-readable', '--hide_progress']) assert.ok(help.stdout.includes(seedSpelling), seedSpelling);
  for (const other of ['--zip-pack', '--destination-path', '--machine_readable']) assert.ok(!help.stdout.includes(other), other);
  for (const command of [[], ['build'], ['build_all'], ['build_again'], ['completion']]) {
    const text = (await aiop([...command, '--help'], { cwd: root, env })).stdout;
    assert.doesNotMatch(text, /\(default: False\)|seed|docs\//, `aiop ${command.join(' ')} --help`);
  }
});

test('a mistyped name=value compatibility parameter gets the names and a did-you-mean, exit 2, nothing written', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  // The playbook cache (and the .gitignore that keeps it out of git) is aiop's own state, read
  // before the values can be checked; no output, log, record or lock may appear.
  const cache = (rel: string): boolean => rel === 'hello/.aiop/.gitignore' || rel === 'hello/.aiop/state' || rel === 'hello/.aiop/state/playbook-cache.json';
  const before = await snapshot(dir, cache);
  const result = await aiop(['build', 'linux', 'dist=debian12', 'arch=amd64'], { cwd: root, env });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /"dist=debian12": "dist" is not a compatibility parameter of "linux"/);
  assert.match(result.stderr, /did you mean "distro=debian12"\? compatibility parameters of "linux": distro, arch/);
  assert.equal(result.stdout, '');
  assert.deepEqual(await snapshot(dir, cache), before, 'nothing written');
  // A variable whose name is not close to the missing parameter is still a variable: the error is the missing value.
  const missing = await aiop(['build', 'linux', 'GREETING=hi', 'arch=amd64'], { cwd: root, env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing compatibility value "distro" for "linux"/);
});
