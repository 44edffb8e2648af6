/**
 * What a user reads on the console: every failure once, with the log path once; usage
 * errors once; `aiop` alone is a usage error; no heading for a step with nothing to do; a
 * success summary that says each thing once. Real `aiop` processes in temp folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const PKG = 'demo-1.0.0-linux-debian12-amd64';
const BUILD = ['build', 'linux', 'distro=debian12', 'arch=amd64'];

const recipe = (command: string): string => `default: package
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    commands:
      - ${JSON.stringify(command)}
`;

/** How many times `needle` occurs in `text`. */
function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The path of the `Log file:` line. */
function logPath(stderr: string): string {
  const m = /^Log file: (.+)$/m.exec(stderr);
  assert.ok(m, `no log file line in:\n${stderr}`);
  return m[1]!;
}

test('a failing command: its failure and its output are shown once, the log path once, exit 1', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: recipe("printf 'X%sY\\n' ERR >&2; exit 3") });
  const run = await aiop(BUILD, { cwd: root, env: isolatedEnv(dir) });
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '');
  const failure = `target "bin/hello": command exited with status 3: printf 'X%sY\\n' ERR >&2; exit 3`;
  const log = logPath(run.stderr);
  assert.deepEqual(run.stderr.split('\n').slice(-6), [
    `error: ${failure}`,
    'XERRY',
    `error: ${PKG} failed after ${/failed after (\d+ ms|[\d.]+ s)/.exec(run.stderr)?.[1]}`,
    /^0 targets made, 0 up to date, 1 failed; 0 downloads, 0 from the cache; took .+$/m.exec(run.stderr)![0],
    `Log file: ${log}`,
    '',
  ]);
  assert.equal(count(run.stderr, failure), 1, run.stderr);
  assert.equal(count(run.stderr, log), 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Failed:|aiop: error:/);
});

test('a failure outside any target (an upload) is said once, on the package line, exit 1', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: recipe('echo hi > $target') });
  // Nothing listens on port 9 of the loopback: the upload fails after the build.
  const run = await aiop([...BUILD, '--zip_pack', '--upload', 'zip', '--upload_url', 'http://127.0.0.1:9/up', '--retries', '0'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(run.code, 1, run.stderr);
  const line = run.stderr.split('\n').find((l) => l.startsWith(`error: ${PKG} failed after `));
  assert.ok(line, run.stderr);
  const message = line.replace(/^error: \S+ failed after [^:]+: /, '');
  assert.notEqual(message, line, 'the package line says why');
  assert.equal(count(run.stderr, message), 1, run.stderr);
  assert.equal(count(run.stderr, logPath(run.stderr)), 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Failed:|aiop: error:/);
});

test('commander usage errors are printed once, exit 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const run = await aiop(['build', '--bogus'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, "aiop: error: unknown option '--bogus'\n");
  const typo = await aiop(['valdate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, "aiop: error: unknown command 'valdate'\n(Did you mean validate?)\n");
});

test('aiop with no arguments prints its usage on stderr and exits 2; aiop --help exits 0', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const run = await aiop([], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(run.code, 2);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^Usage: aiop \[options\] \[command\]\n/);
  assert.match(run.stderr, /^ {2}build \[options\]/m);
  assert.doesNotMatch(run.stderr, /error/);
  const help = await aiop(['--help'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: aiop /);
});

test('a successful build says each thing once: no empty fetch step, each output once, one timing', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: recipe('echo hi > $target') });
  const run = await aiop([...BUILD, '--zip_pack'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(run.code, 0, run.stderr);
  const folder = join(root, '.build', PKG);
  const log = logPath(run.stderr);
  assert.deepEqual(run.stderr.split('\n'), [
    `==> Building ${PKG} (linux debian12 amd64)`,
    '==> Running the recipe',
    'Making bin/hello (never-built)',
    // A first build works in a .partial folder beside the package folder.
    /^bin\/hello: echo hi > .+\/bin\/hello$/m.exec(run.stderr)![0],
    '==> Packing',
    '==> Done',
    `Outputs of ${PKG}:`,
    `  folder ${folder} (1 file, 3 B)`,
    /^ {2}zip {4}.+$/m.exec(run.stderr)![0],
    /^1 target made, 0 up to date; 0 downloads, 0 from the cache; took .+$/m.exec(run.stderr)![0],
    `Log file: ${log}`,
    '',
  ]);
  assert.equal(count(run.stderr, `${folder}.zip`), 1, run.stderr);
  assert.doesNotMatch(run.stderr, /Fetching artifacts/);
});

test('with the console level above ERROR, the failure that ends the run is still said once, as aiop: error:', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: recipe('exit 3') });
  const run = await aiop([...BUILD, '-sll', 'DISABLED'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'aiop: error: target "bin/hello": command exited with status 3: exit 3\n');
});
