import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook, SIMPLE_INVENTORY } from '../util/playbook.js';
import { parseMachineReadable } from '../report/packer-parser.js';

const DESCRIPTION = 'Demo, with commas.\nA second line, and more.';
const INVENTORY = SIMPLE_INVENTORY.replace(/  description: \|\n    Demo package\.\n    Used by the tests\.\n/, `  description: ${JSON.stringify(DESCRIPTION)}\n`);
const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [ok.txt] }
  ok.txt: { commands: ["echo debug-output-line", ":touch $target"] }
  bad.txt: { commands: ["echo 'a, b' >&2; exit 3"] }
`;

async function playbook(dir: string, recipe = RECIPE): Promise<string> {
  return writePlaybook(join(dir, 'pb'), { inventory: INVENTORY, recipe });
}

test('--machine-readable: every stdout line parses as Packer output; commas and newlines round-trip', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const ok = await aiop(['build', 'linux', 'debian12', 'amd64', '--machine-readable'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(ok.code, 0, ok.stderr);
  const run = parseMachineReadable(ok.stdout);
  assert.equal(run.errorCount, 0);
  const [folder] = run.artifacts.get('demo-1.0.0-linux-debian12-amd64') ?? [];
  assert.equal(folder?.builderId, 'aiop.folder');
  assert.equal(folder?.string, DESCRIPTION);
  assert.deepEqual(folder?.files.map((f) => f.split('/').pop()), ['ok.txt']);

  const failing = await playbook(join(dir, 'f'), RECIPE.replace('depends: [ok.txt]', 'depends: [ok.txt, bad.txt]'));
  const bad = await aiop(['build', 'linux', 'debian12', 'amd64', '--machine-readable'], { cwd: failing, env: isolatedEnv(dir) });
  assert.equal(bad.code, 1);
  const failed = parseMachineReadable(bad.stdout);
  assert.equal(failed.errorCount, 1);
  assert.match(failed.errors[0]!.message, /bad\.txt.*exited with status 3/);
});

test("log levels: the seed's -v examples, -sll DISABLED prints nothing, -fll ERROR keeps only errors", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await playbook(dir);
  const env = isolatedEnv(dir);
  const build = (...extra: string[]) => aiop(['build', 'linux', 'debian12', 'amd64', '--force', ...extra], { cwd: root, env });
  for (const level of ['INFO', 'DISABLED']) {
    const result = await build('-v', '-sll', level);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /debug-output-line/, `-v -sll ${level} still shows DEBUG lines`);
  }
  const silent = await build('-sll', 'DISABLED');
  assert.equal(silent.code, 0);
  assert.equal(silent.stdout + silent.stderr, '', '-sll DISABLED prints nothing on success');

  const failing = await playbook(join(dir, 'f'), RECIPE.replace('depends: [ok.txt]', 'depends: [ok.txt, bad.txt]'));
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-fll', 'ERROR'], { cwd: failing, env });
  assert.equal(result.code, 1);
  const logs = join(failing, '.aiop/logs');
  const [file] = await readdir(logs);
  const lines = (await readFile(join(logs, file!), 'utf8')).trim().split('\n');
  assert.ok(lines.length > 0);
  for (const line of lines) assert.match(line, /\b(ERROR|CRITICAL)\b/, line);
});
