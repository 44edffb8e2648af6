/**
 * make's rule: a command that fails or is interrupted leaves no output of its target behind
 * (when it changed that output), the log says which, and the next build makes it again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const PKG = '.build/demo-1.0.0-linux-debian12-amd64';
const BUILD = ['build', 'linux', 'debian12', 'amd64'];
// Writes half its output, then fails (exit 3), hangs (slow-mode) or finishes.
const MAKE = `!#!/bin/sh
printf 'half of ' > "$2"
cat "$1/src/in.txt" >> "$2"
if [ -f "$1/slow-mode" ]; then touch "$1/started"; exec sleep 60; fi
[ -f "$1/broken" ] && exit 3
printf 'and the rest\\n' >> "$2"
`;
const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [out.txt, other.txt] }
  out.txt:
    sources: [src/in.txt]
    commands: ["sh make.sh $PLAYBOOK $target"]
  other.txt:
    commands: [":touch $target"]
`;

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

test('a command that writes half its output and exits 3 leaves no output; the next build makes it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'make.sh': MAKE, 'src/in.txt': 'v1\n' } });
  const env = isolatedEnv(dir);
  const out = join(root, PKG, 'out.txt');
  const first = await aiop(BUILD, { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await readFile(out, 'utf8'), 'half of v1\nand the rest\n');

  // An in-place update whose command fails half-way.
  await writeFile(join(root, 'src/in.txt'), 'v2\n');
  await writeFile(join(root, 'broken'), '');
  const failed = await aiop([...BUILD, '-sll', 'INFO'], { cwd: root, env });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /exited with status 3/);
  assert.match(failed.stderr, /removed out\.txt: its command failed or was interrupted/);
  assert.equal(await exists(out), false, 'the half-written output is gone');

  // Fixed without touching the recipe or the source: the next build makes it again.
  await rm(join(root, 'broken'));
  const again = await aiop(BUILD, { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(out, 'utf8'), 'half of v2\nand the rest\n');
});

test('a command that fails before it touches its output leaves the output as it was, and it is made again', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const recipe = RECIPE.replace('"sh make.sh $PLAYBOOK $target"', '"test ! -f $PLAYBOOK/broken", "sh make.sh $PLAYBOOK $target"');
  const root = await writePlaybook(join(dir, 'pb'), { recipe, files: { 'make.sh': MAKE, 'src/in.txt': 'v1\n' } });
  const env = isolatedEnv(dir);
  const out = join(root, PKG, 'out.txt');
  assert.equal((await aiop(BUILD, { cwd: root, env })).code, 0);
  await writeFile(join(root, 'src/in.txt'), 'v2\n');
  await writeFile(join(root, 'broken'), '');
  const failed = await aiop([...BUILD, '-sll', 'INFO'], { cwd: root, env });
  assert.notEqual(failed.code, 0);
  assert.doesNotMatch(failed.stderr, /removed out\.txt/);
  assert.equal(await readFile(out, 'utf8'), 'half of v1\nand the rest\n');
  await rm(join(root, 'broken'));
  assert.equal((await aiop(BUILD, { cwd: root, env })).code, 0);
  assert.equal(await readFile(out, 'utf8'), 'half of v2\nand the rest\n');
});

test('SIGINT to aiop while a command has written half its output: exit 130, the output is gone, the next build makes it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'make.sh': MAKE, 'src/in.txt': 'v1\n' } });
  const env = isolatedEnv(dir);
  const out = join(root, PKG, 'out.txt');
  assert.equal((await aiop(BUILD, { cwd: root, env })).code, 0);
  await writeFile(join(root, 'src/in.txt'), 'v2\n');
  await writeFile(join(root, 'slow-mode'), '');
  const child = spawn(process.execPath, [AIOP, ...BUILD, '-sll', 'INFO'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !(await exists(join(root, 'started'))); i++) await sleep(50);
  assert.ok(await exists(join(root, 'started')), 'the slow command started');
  assert.equal(await readFile(out, 'utf8'), 'half of v2\n');
  child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(10_000).then(() => 'hung' as const)]);
  assert.equal(code, 130, stderr);
  assert.equal(await exists(out), false, 'the half-written output is gone');
  assert.match(stderr, /removed out\.txt: its command failed or was interrupted/);

  await rm(join(root, 'slow-mode'));
  const again = await aiop(BUILD, { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await readFile(out, 'utf8'), 'half of v2\nand the rest\n');
});
