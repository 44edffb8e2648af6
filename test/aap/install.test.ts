import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { startNginx } from '../util/nginx.js';
import { aap } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { SIMPLE_INVENTORY } from '../util/playbook.js';
import { aapPlaybook, expectStatus } from './helpers.js';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

test('--install downloads, verifies, extracts and links a tool that recipe commands then find on PATH', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const pb = await aapPlaybook(t, { recipe: 'this: [is not read\n' });
  const www = join(pb.dir, 'www');
  await mkdir(join(www, 'src/greeter-1.0/bin'), { recursive: true });
  await writeFile(join(www, 'src/greeter-1.0/bin/greet'), '#!/bin/sh\necho "greetings from the tool"\n');
  await chmod(join(www, 'src/greeter-1.0/bin/greet'), 0o644); // the installer makes bin executable
  await create({ gzip: true, file: join(www, 'greeter-1.0.tar.gz'), cwd: join(www, 'src'), portable: true }, ['greeter-1.0']);
  await writeFile(join(www, 'solo'), '#!/bin/sh\necho solo tool\n');
  const server = await startNginx({ root: www });
  t.after(() => server.stop());
  const goodSha = await sha256(join(www, 'greeter-1.0.tar.gz'));
  const inventory = `${SIMPLE_INVENTORY}tools:
  - { name: greet, url: "${server.url}/greeter-1.0.tar.gz", sha256: ${goodSha}, bin: greeter-1.0/bin/greet }
  - { name: broken, url: "${server.url}/greeter-1.0.tar.gz", sha256: ${'0'.repeat(64)}, bin: greeter-1.0/bin/greet }
`;
  await writeFile(join(pb.root, '.aiop/inventory_config.yml'), inventory);

  const tools = join(pb.dir, 'xdg-data/aiop/tools');
  const dry = await pb.run(['-n', '--install', 'greet']);
  expectStatus(dry, 0);
  assert.match(dry.stderr, /would install greet/);
  assert.equal(existsSync(tools), false, '-n installs nothing');

  const installed = await pb.run(['--install', 'greet']);
  expectStatus(installed, 0);
  assert.equal(await readlink(join(tools, 'bin/greet')), '../greet/greeter-1.0/bin/greet');
  assert.equal(execFileSync(join(tools, 'bin/greet'), { encoding: 'utf8' }), 'greetings from the tool\n');
  assert.match(installed.stderr, /installed greet/);

  // Recipe commands find it on PATH.
  await writeFile(join(pb.root, '.aiop/recipe.yml'), 'default: g\ntargets:\n  g: { virtual: true, commands: ["greet >> runs.log"] }\n');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), ['greetings from the tool']);

  // A wrong checksum installs nothing and says what was expected.
  const bad = await aap(['--install', 'broken'], { cwd: pb.root, env: { ...pb.env, AIOP_DOWNLOAD_RETRIES: '0' } });
  expectStatus(bad, 1);
  assert.ok(bad.stderr.includes(`checksum mismatch for ${server.url}/greeter-1.0.tar.gz`), bad.stderr);
  // The tool's sha256 is written in hex: both digests are shown so, expected above actual.
  assert.ok(bad.stderr.includes(`\n  expected sha256: ${'0'.repeat(64)}\n  actual   sha256: ${goodSha}\n`), bad.stderr);
  assert.equal(existsSync(join(tools, 'broken')), false);
  assert.equal(existsSync(join(tools, 'bin/broken')), false);

  const unknown = await pb.run(['--install', 'nope']);
  expectStatus(unknown, 2);
  assert.match(unknown.stderr, /no tool named "nope".*declared: greet, broken/);

  // The user configuration's tools, a plain file kept as it is, and its own tool_dir.
  const ownDir = join(pb.dir, 'my-tools');
  const config = join(pb.dir, 'config.yml');
  await writeFile(config, `tool_dir: ${ownDir}\ntools:\n  - { name: solo, url: "${server.url}/solo", sha256: ${await sha256(join(www, 'solo'))}, bin: solo }\n`);
  const env = { ...pb.env, AIOP_CONFIG: config };
  expectStatus(await aap(['--install', 'solo'], { cwd: pb.dir, env }), 0);
  assert.equal(execFileSync(join(ownDir, 'bin/solo'), { encoding: 'utf8' }), 'solo tool\n');
  expectStatus(await aap(['-f', 'NONE', '-c', 'solo > out.txt'], { cwd: pb.dir, env }), 0);
  assert.equal(await readFile(join(pb.dir, 'out.txt'), 'utf8'), 'solo tool\n');
});
