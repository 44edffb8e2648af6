/**
 * Concurrency: two `aiop build` of the same package never both write (the second waits for
 * the lock, or fails clearly with AIOP_LOCK_WAIT=0); a stale lock of a killed build is taken
 * over; two different packages sharing one cache, built at once, both come out correct.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, snapshot, writePlaybook } from '../util/playbook.js';
import { requireTools } from '../util/tools.js';
import { startNginx } from '../util/nginx.js';
import { crashInventory, debris, makeToolArchive, writeCrashPlaybook } from './fixture.js';
import { recordTrial } from './report.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [out.txt] }
  out.txt:
    sources: [files/in.txt]
    commands: ["sh files/hold.sh", ":copy $source $target"]
`;
// Logs its start and end; in hold mode waits (boundedly) for the test's "release" file.
const HOLD = `#!/bin/sh
echo "start $$" >> events.log
if [ -f hold-mode ]; then
  i=0
  while [ ! -f release ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
fi
echo "end $$" >> events.log
`;
const PKG_DIR = '.build/demo-1.0.0-linux-debian12-amd64';
const LOCK = '.aiop/state/packages/demo-1.0.0-linux-debian12-amd64/lock';

interface Running {
  child: ChildProcess;
  stderr: () => string;
  code: Promise<number | null>;
}

function start(root: string, env: Record<string, string | undefined>): Running {
  const child = spawn(process.execPath, [AIOP, 'build', 'linux', 'debian12', 'amd64'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, stderr: () => stderr, code: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`never happened: ${what}`);
}

async function holdingPlaybook(dir: string): Promise<string> {
  return writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'files/hold.sh': HOLD, 'files/in.txt': 'v1\n', 'hold-mode': '' } });
}

/** No command of one build ran while another's was between its start and end. */
function neverOverlapped(lines: string[]): boolean {
  let open: string | undefined;
  for (const line of lines) {
    const [kind, pid] = line.split(' ');
    if (kind === 'start') {
      if (open !== undefined) return false;
      open = pid;
    } else if (open !== pid) return false;
    else open = undefined;
  }
  return open === undefined;
}

test('two builds of the same package: the second waits for the first, with a message, and they never write at once', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await holdingPlaybook(dir);
  const env = isolatedEnv(dir);
  const first = start(root, env);
  t.after(() => first.child.kill('SIGKILL'));
  await until('the first build runs its command', async () => (await readLines(join(root, 'events.log'))).length > 0);
  const second = start(root, env);
  t.after(() => second.child.kill('SIGKILL'));
  await until('the second build says it waits', () => /waiting for another aiop build of this package \(pid \d+\)/.test(second.stderr()));
  assert.deepEqual((await readLines(join(root, 'events.log'))).length, 1, 'the second build ran nothing while waiting');
  await writeFile(join(root, 'release'), '');
  assert.equal(await first.code, 0);
  assert.equal(await second.code, 0, second.stderr());
  const events = await readLines(join(root, 'events.log'));
  assert.ok(neverOverlapped(events), events.join('\n'));
  assert.equal(await readFile(join(root, PKG_DIR, 'out.txt'), 'utf8'), 'v1\n');
  await assert.rejects(access(join(root, LOCK)), 'the lock is released');
  recordTrial({ category: 'concurrency', what: 'two builds of one package at once: the second waits', held: true });
});

test('AIOP_LOCK_WAIT=0: the second build fails at once, clearly, and leaves the first one\'s package alone', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await holdingPlaybook(dir);
  const env = isolatedEnv(dir);
  // A finished package first, so there is something the second build could damage.
  await writeFile(join(root, 'release'), '');
  assert.equal((await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env })).code, 0);
  const before = await snapshot(join(root, PKG_DIR));
  await writeFile(join(root, 'files/in.txt'), 'v2\n');
  await writeFile(join(root, 'events.log'), '');
  await rm(join(root, 'release'));
  const first = start(root, env);
  t.after(() => first.child.kill('SIGKILL'));
  await until('the first build runs its command', async () => (await readLines(join(root, 'events.log'))).length > 0);
  const second = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env: { ...env, AIOP_LOCK_WAIT: '0' } });
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /another aiop build of this package \(pid \d+\) is still running and holds \S+\/lock/);
  assert.equal((await readLines(join(root, 'events.log'))).length, 1, 'the refused build ran no command');
  await writeFile(join(root, 'release'), '');
  assert.equal(await first.code, 0, first.stderr());
  assert.notDeepEqual(await snapshot(join(root, PKG_DIR)), before, 'the first build did its update');
  assert.equal(await readFile(join(root, PKG_DIR, 'out.txt'), 'utf8'), 'v2\n');
  recordTrial({ category: 'concurrency', what: 'second build with AIOP_LOCK_WAIT=0 refused clearly (exit 2)', held: true });
});

test('a stale lock left by a killed build is taken over', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await holdingPlaybook(dir);
  await writeFile(join(root, 'release'), '');
  // The pid of a process that has certainly ended.
  const gone = spawn('true');
  await new Promise((resolve) => gone.on('close', resolve));
  await mkdir(join(root, LOCK, '..'), { recursive: true });
  await writeFile(join(root, LOCK), `${gone.pid} 0123456789abcdef\n`);
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-sll', 'DEBUG'], { cwd: root, env: { ...isolatedEnv(dir), AIOP_LOCK_WAIT: '0' } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`stale lock .*pid ${gone.pid}`));
  await assert.rejects(access(join(root, LOCK)));
  recordTrial({ category: 'concurrency', what: 'stale lock of a dead build taken over', held: true });
});

test('three different packages sharing a cold cache and SHA256SUMS, built at once, all come out correct', async (t) => {
  if (!requireTools(t, 'nginx', 'tar', 'gzip', 'sha256sum', 'dpkg-deb', 'unzip')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const www = join(dir, 'www');
  const sha = await makeToolArchive(dir, www, '1');
  const nginx = await startNginx({ root: www });
  t.after(() => nginx.stop());
  const root = await writeCrashPlaybook(join(dir, 'pb'), crashInventory(nginx.url, '1', sha));
  const env = { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
  const packages = [
    ['debian12', 'amd64'],
    ['ubuntu22.04', 'amd64'],
    ['debian12', 'arm64'],
  ] as const;
  const results = await Promise.all(
    packages.map(([distro, arch]) =>
      aiop(['build', 'linux', distro, arch, '--zip_pack', '--installer', 'deb', '--installer_name', `demo-${distro}-${arch}.deb`], { cwd: root, env }),
    ),
  );
  for (const result of results) assert.equal(result.code, 0, result.stderr);
  const data = await readFile(join(dir, 'tool-src-1/tool/data.bin'));
  const expected = createHash('sha256').update(data).digest('hex');
  for (const [distro, arch] of packages) {
    const id = `demo-1.0.0-linux-${distro}-${arch}`;
    assert.equal((await readFile(join(root, '.build', id, 'share/data.sha256'), 'utf8')).trim(), expected);
    assert.deepEqual(await readFile(join(root, '.build', id, 'tool/data.bin')), data);
    execFileSync('unzip', ['-tq', join(root, '.build', `${id}.zip`)]);
    execFileSync('dpkg-deb', ['--info', join(root, '.build', `demo-${distro}-${arch}.deb`)]);
  }
  // They share .build/SHA256SUMS too: no package's lines may be lost to another's update.
  const sums = await readLines(join(root, '.build/SHA256SUMS'));
  assert.equal(sums.length, 6, `SHA256SUMS lists every zip and .deb:\n${sums.join('\n')}`);
  assert.deepEqual(await debris(root, join(dir, 'xdg-cache/aiop')), []);
  recordTrial({ category: 'concurrency', what: 'three packages sharing a cold cache and SHA256SUMS built at once', held: true });
});

test('while another build holds the lock, the no-op fast path does not answer: the build waits for the lock like any other', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await holdingPlaybook(dir);
  await writeFile(join(root, 'release'), '');
  const env = isolatedEnv(dir);
  assert.equal((await aiop(['build', 'linux', 'debian12', 'amd64', '-sll', 'DEBUG'], { cwd: root, env })).code, 0);
  // The no-op record trusts no file modified within a second of it: let the outputs age, record again.
  await sleep(1100);
  assert.equal((await aiop(['build', 'linux', 'debian12', 'amd64', '-sll', 'DEBUG'], { cwd: root, env })).code, 0);
  // An identical request is a no-op...
  const again = await aiop(['build', 'linux', 'debian12', 'amd64', '-sll', 'DEBUG'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /no-op fast path/);
  // ...but not while a live process (this test) holds the package's lock.
  await writeFile(join(root, LOCK), `${process.pid} 0123456789abcdef\n`);
  const blocked = await aiop(['build', 'linux', 'debian12', 'amd64', '-sll', 'DEBUG'], { cwd: root, env: { ...env, AIOP_LOCK_WAIT: '0' } });
  assert.equal(blocked.code, 2, blocked.stderr);
  assert.doesNotMatch(blocked.stderr, /no-op fast path/);
  assert.match(blocked.stderr, new RegExp(`\\(pid ${process.pid}\\) is still running`));
  recordTrial({ category: 'concurrency', what: 'no-op fast path not taken while the package is locked', held: true });
});

test('Ctrl-C while waiting for the lock: exit 130, and the other build\'s lock is left alone', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await holdingPlaybook(dir);
  await mkdir(join(root, LOCK, '..'), { recursive: true });
  // This test process plays the other build: alive, holding the lock.
  const held = `${process.pid} 0123456789abcdef\n`;
  await writeFile(join(root, LOCK), held);
  const waiting = start(root, isolatedEnv(dir));
  t.after(() => waiting.child.kill('SIGKILL'));
  await until('the build says it waits', () => /waiting for another aiop build/.test(waiting.stderr()));
  waiting.child.kill('SIGINT');
  assert.equal(await waiting.code, 130, waiting.stderr());
  assert.equal(await readFile(join(root, LOCK), 'utf8'), held);
  assert.equal((await readLines(join(root, 'events.log'))).length, 0, 'it ran nothing');
  recordTrial({ category: 'concurrency', what: 'Ctrl-C while waiting for the lock (exit 130)', held: true });
});
