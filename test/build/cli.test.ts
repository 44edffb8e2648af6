import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';

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
