/**
 * --no_verify placements start copying the content file remembered from the last one before
 * cacache confirms it (docs/artifacts.md). What a user sees must not depend on that record: a
 * record naming a file that does not hold the artifact's bytes (or none, or damaged) gives the
 * same package, the same output and no error; cacache's own confirmation decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';
import { cachedFile } from './helpers.js';

const PKG = '.build/demo-1.0.0-linux-debian12-amd64';

async function setup(t: import('node:test').TestContext) {
  const { dir, cleanup } = await tempDir('aiop-head-start-');
  t.after(cleanup);
  const content = randomBytes(200_000);
  const source = join(dir, 'tool.bin');
  await writeFile(source, content);
  const url = pathToFileURL(source).href;
  const cacheDir = join(dir, 'cache');
  const env = { ...isolatedEnv(dir), AIOP_CACHE_DIR: cacheDir };
  const root = join(dir, 'pb');
  await writePlaybook(root, {
    inventory: `${SIMPLE_INVENTORY}    artifacts:
      - name: tool
        url: ${url}
        sha256: ${createHash('sha256').update(content).digest('hex')}
        dest: lib/tool.bin
`,
  });
  const records = join(cacheDir, 'aiop-content-paths');
  const recordFiles = async (): Promise<string[]> => (await readdir(records).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  /** A fresh package folder, built with --no_verify: returns the build's output and the placed bytes. */
  const build = async () => {
    await rm(join(root, PKG), { recursive: true, force: true });
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--no_verify'], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return { ...result, placed: await readFile(join(root, PKG, 'lib/tool.bin')) };
  };
  return { dir, content, url, cacheDir, records, recordFiles, build };
}

test('a --no_verify placement remembers the content file cacache named; a record naming other bytes is not used', async (t) => {
  const { dir, content, url, cacheDir, records, recordFiles, build } = await setup(t);
  const first = await build();
  assert.deepEqual(first.placed, content);
  const names = await recordFiles();
  assert.equal(names.length, 1, 'one record for the one integrity');
  const record = join(records, names[0]!);
  const stored = await cachedFile(cacheDir, url);
  assert.equal((JSON.parse(await readFile(record, 'utf8')) as { path: string }).path, stored);

  // The remembered file is in place: same package, same output.
  const second = await build();
  assert.deepEqual(second.placed, content);
  assert.equal(second.stdout, first.stdout);
  assert.doesNotMatch(second.stderr, /WARNING|ERROR/);

  // The record now names a file of the same size holding other bytes: cacache names another
  // file, so the head start is thrown away and the cached content placed.
  const decoy = join(dir, 'decoy.bin');
  const wrong = randomBytes(content.length);
  await writeFile(decoy, wrong);
  const text = await readFile(record, 'utf8');
  await writeFile(record, text.replace(JSON.stringify(stored), JSON.stringify(decoy)));
  const misled = await build();
  assert.deepEqual(misled.placed, content, 'the bytes cacache confirmed, not the decoy');
  assert.equal(misled.stdout, first.stdout);
  assert.doesNotMatch(misled.stderr, /WARNING|ERROR/);
  assert.deepEqual(await readFile(decoy), wrong, 'the decoy is only read');
  assert.equal((JSON.parse(await readFile(record, 'utf8')) as { path: string }).path, stored, 'the record is corrected');
  assert.deepEqual((await readdir(join(dir, 'pb', PKG, 'lib'))).sort(), ['tool.bin'], 'no temp file of the discarded copy is left');

  // A record naming a file that is gone, a damaged one, and one of another format: the normal path, no error.
  for (const bad of [text.replace(JSON.stringify(stored), JSON.stringify(join(dir, 'gone.bin'))), text.slice(0, 20), text.replace('"version":1', '"version":99')]) {
    await writeFile(record, bad);
    const again = await build();
    assert.deepEqual(again.placed, content);
    assert.equal(again.stdout, first.stdout);
    assert.doesNotMatch(again.stderr, /WARNING|ERROR/);
    assert.equal((JSON.parse(await readFile(record, 'utf8')) as { path: string }).path, stored);
  }
});

test('aiop cache clean forgets the remembered content files with the entries', async (t) => {
  const { dir, recordFiles, build } = await setup(t);
  await build();
  assert.equal((await recordFiles()).length, 1);
  const clean = await aiop(['cache', 'clean'], { cwd: dir, env: { ...isolatedEnv(dir), AIOP_CACHE_DIR: join(dir, 'cache') } });
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(await recordFiles(), []);
});
