import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import cacache from 'cacache';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';

/** Every regular file under `dir` (relative paths), or [] when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.path ?? (e as unknown as { parentPath: string }).parentPath, e.name).slice(dir.length + 1));
}

/** A playbook whose build downloads two file:// artifacts into the cache. */
async function populatedCache(dir: string): Promise<{ env: Record<string, string | undefined>; cacheDir: string; urls: string[] }> {
  const env = { ...isolatedEnv(dir), AIOP_CACHE_DIR: join(dir, 'cache') };
  const artifacts: string[] = [];
  const urls: string[] = [];
  for (const name of ['one', 'two']) {
    const file = join(dir, `${name}.bin`);
    const content = `${name} `.repeat(1000);
    await writeFile(file, content);
    const url = pathToFileURL(file).href;
    urls.push(url);
    artifacts.push(`      - name: ${name}
        url: ${url}
        sha256: ${createHash('sha256').update(content).digest('hex')}
        dest: share/${name}.bin
`);
  }
  const root = join(dir, 'pb');
  await writePlaybook(root, { inventory: `${SIMPLE_INVENTORY}    artifacts:\n${artifacts.join('')}` });
  const build = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env });
  assert.equal(build.code, 0, build.stderr);
  return { env, cacheDir: join(dir, 'cache'), urls };
}

test('aiop cache ls lists what a build downloaded: size, age, integrity, URL', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { env, urls } = await populatedCache(dir);
  const ls = await aiop(['cache', 'ls'], { cwd: dir, env });
  assert.equal(ls.code, 0, ls.stderr);
  const lines = ls.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^\s*SIZE\s+AGE\s+INTEGRITY\s+URL$/);
  for (const url of urls) assert.ok(lines.some((l) => /^\s*3\.9 KiB\s+now\s+sha256-\S+\s+/.test(l) && l.endsWith(url)), ls.stdout);
  assert.match(lines.at(-1)!, /^2 entries, 7\.8 KiB in /);
});

test('aiop cache verify finds and removes an entry corrupted on disk, keeps the good one', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { env, cacheDir, urls } = await populatedCache(dir);
  const entries = Object.values(await cacache.ls(cacheDir));
  assert.equal(entries.length, 2);
  const victim = entries.find((e) => (e.metadata as { url: string }).url === urls[0])!;
  const file = victim.path;
  const bytes = await readFile(file);
  bytes[10] = bytes[10]! ^ 0xff; // one flipped byte, same size
  await writeFile(file, bytes);

  const verify = await aiop(['cache', 'verify'], { cwd: dir, env });
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, new RegExp(`^removed ${urls[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: content does not match its integrity`, 'm'));
  assert.match(verify.stdout, /^2 entries checked, 1 bad removed/m);
  const left = Object.values(await cacache.ls(cacheDir));
  assert.deepEqual(left.map((e) => (e.metadata as { url: string }).url), [urls[1]]);
  assert.ok(!(await filesUnder(cacheDir)).some((f) => join(cacheDir, f) === file), 'the corrupted content file is gone');

  const again = await aiop(['cache', 'verify'], { cwd: dir, env });
  assert.match(again.stdout, /^1 entry checked, 0 bad removed/m);
});

test('aiop cache clean --older-than 0 empties the cache; a large --older-than keeps fresh entries', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { env, cacheDir } = await populatedCache(dir);
  const keep = await aiop(['cache', 'clean', '--older-than', '30'], { cwd: dir, env });
  assert.equal(keep.code, 0, keep.stderr);
  assert.match(keep.stdout, /^removed 0 entries/);
  assert.equal(Object.keys(await cacache.ls(cacheDir)).length, 2);

  const clean = await aiop(['cache', 'clean', '--older-than', '0'], { cwd: dir, env });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^removed 2 entries \(7\.8 KiB\)/);
  assert.equal(Object.keys(await cacache.ls(cacheDir)).length, 0);
  assert.deepEqual((await filesUnder(cacheDir)).filter((f) => !f.startsWith('tmp')), []);
  const ls = await aiop(['cache', 'ls'], { cwd: dir, env });
  assert.match(ls.stdout, /is empty/);
});

test('aiop cache clean with no option removes everything; a bad --older-than is a usage error', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { env, cacheDir } = await populatedCache(dir);
  const clean = await aiop(['cache', 'clean'], { cwd: dir, env });
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual((await filesUnder(cacheDir)).filter((f) => !f.startsWith('tmp')), []);
  const bad = await aiop(['cache', 'clean', '--older-than', 'soon'], { cwd: dir, env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--older-than must be a number of days/);
});
