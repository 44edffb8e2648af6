/**
 * The artifact cache is cacache's own: what aiop stores, cacache's public API reads back and
 * verifies, so `cacache.verify` and `cacache.ls` work on it and aiop depends on no private layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import cacache from 'cacache';
import { fetchUrl, urlKey } from '../../src/artifacts/index.js';
import type { AiopEvent } from '../../src/core/events.js';
import { tempDir } from '../util/run.js';
import { settingsFor, sri } from './helpers.js';

test('what aiop caches, cacache reads back by URL key and verifies; the same bytes under another URL are a hit', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-cacache-');
  t.after(cleanup);
  const cache = join(dir, 'cache');
  const body = randomBytes(200_000);
  const first = join(dir, 'first.bin');
  await writeFile(first, body);
  const url = pathToFileURL(first).href;

  await fetchUrl(url, join(dir, 'out/one.bin'), settingsFor(cache, []), sri(body));
  assert.ok((await readFile(join(dir, 'out/one.bin'))).equals(body));
  const got = await cacache.get(cache, urlKey(url));
  assert.ok(got.data.equals(body), 'cacache.get returns the downloaded bytes');
  assert.equal(String(got.integrity), sri(body));
  assert.deepEqual(got.metadata, { url });
  const stats = (await cacache.verify(cache)) as { verifiedContent: number; badContentCount: number };
  assert.deepEqual([stats.verifiedContent, stats.badContentCount], [1, 0]);

  // A mirror serving the same bytes: found by integrity, recorded under its own URL, no download.
  const second = join(dir, 'mirror.bin');
  await copyFile(first, second);
  const mirror = pathToFileURL(second).href;
  const events: AiopEvent[] = [];
  await fetchUrl(mirror, join(dir, 'out/two.bin'), settingsFor(cache, events), sri(body));
  assert.ok((await readFile(join(dir, 'out/two.bin'))).equals(body));
  assert.ok(!events.some((e) => e.type === 'download-start'), 'no download for content the cache holds');
  assert.ok(events.some((e) => e.type === 'cache-hit' && e.url === mirror));
  assert.equal(String((await cacache.get.info(cache, urlKey(mirror)))?.integrity), sri(body));
});
