/**
 * Destinations the system will not let aiop write: a folder that cannot be created (under
 * /proc, below a file), a read-only file system, a full one. Each ends the build at once with
 * the path and the system's reason, exit 1 (exit 2 when it is known before anything is built),
 * no stack trace, no network-style retry. The file systems are real: a tmpfs mounted read-only
 * or with a size limit, in a private mount namespace (`unshare -m`) that ends with the build.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AIOP, aiop, isolatedEnv, tempDir, type RunResult } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

const RECIPE = 'default: all\ntargets:\n  all: { virtual: true, depends: [hello.txt] }\n  hello.txt:\n    commands: [":print hello > $target"]\n';

/** No stack trace, no internal error, no retry. */
function assertPlainFailure(result: RunResult): void {
  assert.match(result.stderr, /^(aiop: )?error: /m, result.stderr);
  assert.doesNotMatch(result.stderr, /\n\s+at |internal error/, 'a clear message, not a stack trace');
  assert.doesNotMatch(result.stderr, /retry|retrying|try 2|after \d+ tries/i, 'not retried');
}

/** `unshare` flags that give a mount namespace where this user may mount a tmpfs, or why there is none. */
function mountNamespace(mountpoint: string): { flags: string[] } | { why: string } {
  const flags = process.getuid?.() === 0 ? ['-m'] : ['-r', '-m'];
  const probe = spawnSync('unshare', [...flags, 'sh', '-c', 'mount -t tmpfs -o ro,size=64k tmpfs "$1"', 'sh', mountpoint], { encoding: 'utf8' });
  if (probe.error) return { why: `cannot run unshare: ${probe.error.message}` };
  if (probe.status !== 0) return { why: `this system does not let the tests mount a tmpfs in a private mount namespace: ${probe.stderr.trim()}` };
  return { flags };
}

/** Runs aiop in a private mount namespace where a tmpfs with `options` is mounted at `mountpoint`. */
function aiopOnTmpfs(flags: string[], mountpoint: string, options: string, args: string[], cwd: string, env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', [...flags, 'sh', '-c', 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"', 'sh', options, mountpoint, process.execPath, AIOP, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function setUp(t: TestContext, inventory: (dir: string) => string = () => SIMPLE_INVENTORY): Promise<{ dir: string; root: string; env: Record<string, string | undefined> }> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { inventory: inventory(dir), recipe: RECIPE });
  return { dir, root, env: isolatedEnv(dir) };
}

test('a destination that cannot be created under /proc fails at once with the path and the reason (it hung)', async (t) => {
  if (!existsSync('/proc/self')) return t.skip('needs /proc (Linux)');
  const { root, env } = await setUp(t);
  const started = Date.now();
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--destination_path', '/proc/x/pkg'], { cwd: root, env, timeoutMs: 30_000 });
  assert.equal(result.signal, null, `killed after ${Date.now() - started} ms: it hung`);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /aiop: error: cannot mkdir \/proc\/x: no such file or directory \(ENOENT\)/);
  assertPlainFailure(result);
  recordTrial({ category: 'fault', what: 'destination that cannot be created (/proc/x/pkg): exit 1 with the path, no hang', held: true });
});

test('a destination below a file is refused naming the file', async (t) => {
  const { dir, root, env } = await setUp(t);
  await writeFile(join(dir, 'afile'), 'x');
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--destination_path', join(dir, 'afile/sub/pkg')], { cwd: root, env });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, new RegExp(`destination ${dir}/afile/sub/pkg cannot be created: ${dir}/afile is a file, not a folder`));
  assertPlainFailure(result);
  recordTrial({ category: 'fault', what: 'destination below a file: exit 2 naming the file', held: true });
});

test('a destination on a read-only file system: exit 1 with the path and the reason, nothing left', async (t) => {
  const { dir, root, env } = await setUp(t);
  const ro = join(dir, 'ro');
  await mkdir(ro);
  const ns = mountNamespace(ro);
  if ('why' in ns) return t.skip(ns.why);
  for (const destination of [join(ro, 'pkg'), join(ro, 'sub/pkg')]) {
    const result = await aiopOnTmpfs(ns.flags, ro, 'ro', ['build', 'linux', 'debian12', 'amd64', '--destination_path', destination, '--zip_pack'], root, env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`aiop: error: cannot mkdir ${ro}/\\S+: read-only file system \\(EROFS\\)`));
    assertPlainFailure(result);
  }
  // The default destination, .build, read-only.
  const build = join(root, '.build');
  await mkdir(build);
  const result = await aiopOnTmpfs(ns.flags, build, 'ro', ['build', 'linux', 'debian12', 'amd64', '--zip_pack'], root, env);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`aiop: error: cannot \\w+ ${build}/\\S+: read-only file system \\(EROFS\\)`));
  assertPlainFailure(result);
  assert.deepEqual(await readdir(ro), [], 'the mount point is untouched once the namespace is gone');
  recordTrial({ category: 'fault', what: 'destination on a read-only file system: exit 1 with the path, no stack, no retry', held: true });
});

test('a destination on a full file system: exit 1 with the path and the reason, not retried', async (t) => {
  const big = randomBytes(3 * 1024 * 1024);
  const digest = createHash('sha256').update(big).digest('hex');
  const { dir, root, env } = await setUp(
    t,
    (at) => `${SIMPLE_INVENTORY}    artifacts:\n      - name: big\n        url: file://${at}/big.bin\n        sha256: ${digest}\n        dest: data/\n`,
  );
  await writeFile(join(dir, 'big.bin'), big);
  const full = join(dir, 'full');
  await mkdir(full);
  const ns = mountNamespace(full);
  if ('why' in ns) return t.skip(ns.why);
  // Cold cache (the download writes the destination too), then warm (a copy from the cache).
  for (const cache of ['cold', 'warm']) {
    const result = await aiopOnTmpfs(ns.flags, full, 'size=1m', ['build', 'linux', 'debian12', 'amd64', '--destination_path', join(full, 'pkg')], root, env);
    assert.equal(result.code, 1, `${cache} cache: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`aiop: error: cannot write ${full}/\\S+: no space left on the device \\(ENOSPC\\)`), `${cache} cache`);
    assertPlainFailure(result);
  }
  recordTrial({ category: 'fault', what: 'destination on a full file system: exit 1 with the path, not retried', held: true });
});

test('a download cache on a full or read-only file system: exit 1 naming the cache folder, not retried', async (t) => {
  const big = randomBytes(3 * 1024 * 1024);
  const digest = createHash('sha256').update(big).digest('hex');
  const { dir, root, env } = await setUp(
    t,
    (at) => `${SIMPLE_INVENTORY}    artifacts:\n      - name: big\n        url: file://${at}/big.bin\n        sha256: ${digest}\n        dest: data/\n`,
  );
  await writeFile(join(dir, 'big.bin'), big);
  const mnt = join(dir, 'cache-fs');
  await mkdir(mnt);
  const ns = mountNamespace(mnt);
  if ('why' in ns) return t.skip(ns.why);
  const cacheEnv = { ...env, XDG_CACHE_HOME: join(mnt, 'cache') };
  for (const [options, reason] of [['size=1m', 'no space left on the device \\(ENOSPC\\)'], ['ro', 'read-only file system \\(EROFS\\)']] as const) {
    const result = await aiopOnTmpfs(ns.flags, mnt, options, ['build', 'linux', 'debian12', 'amd64'], root, cacheEnv);
    assert.equal(result.code, 1, `${options}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`failed after 1 try: cannot \\w+ ${mnt}/cache\\S*: ${reason}`), options);
    assertPlainFailure(result);
  }
  recordTrial({ category: 'fault', what: 'download cache on a full or read-only file system: exit 1 naming the folder, not retried', held: true });
});
