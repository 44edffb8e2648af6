import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { startNginx } from '../util/nginx.js';
import { fetchUrl, placeArtifacts, type ResolvedArtifact } from '../../src/artifacts/index.js';
import type { AiopEvent } from '../../src/core/events.js';
import { cachedFile, settingsFor, sri } from './helpers.js';

async function setup(t: import('node:test').TestContext) {
  const { dir, cleanup } = await tempDir('aiop-cache-');
  t.after(cleanup);
  const www = join(dir, 'www');
  await mkdir(www);
  const a = randomBytes(300_000);
  const b = Buffer.from('#!/bin/sh\necho b\n');
  await writeFile(join(www, 'a.bin'), a);
  await writeFile(join(www, 'b.sh'), b);
  const server = await startNginx({ root: www });
  t.after(() => server.stop());
  const artifacts: ResolvedArtifact[] = [
    { name: 'a', url: `${server.url}/a.bin`, integrity: sri(a), extract: false, stripComponents: 0, dest: 'data/' },
    { name: 'b', url: `${server.url}/b.sh`, integrity: sri(b), extract: false, stripComponents: 0, dest: 'bin/b', mode: 0o755 },
  ];
  // Artifacts download concurrently, so the log's order is not fixed: compare sorted.
  const gets = async (): Promise<string[]> => (await server.accessLog()).filter((l) => l.startsWith('GET ')).sort();
  return { dir, a, b, server, artifacts, gets, cache: join(dir, 'cache') };
}

test('first build downloads each artifact once, a warm cache sends no request, noCaching sends again', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, a, b, artifacts, gets, cache } = await setup(t);
  const events: AiopEvent[] = [];

  const pkg1 = join(dir, 'pkg1');
  const placed = await placeArtifacts(artifacts, pkg1, settingsFor(cache, events, { pkg: 'p1' }));
  assert.deepEqual(placed.map((p) => [p.name, p.files, p.fromCache]), [
    ['a', ['data/a.bin'], false],
    ['b', ['bin/b'], false],
  ]);
  assert.deepEqual(await readFile(join(pkg1, 'data/a.bin')), a);
  assert.deepEqual(await readFile(join(pkg1, 'bin/b')), b);
  assert.equal((await stat(join(pkg1, 'bin/b'))).mode & 0o777, 0o755);
  assert.equal((await stat(join(pkg1, 'data/a.bin'))).mode & 0o777, 0o644);
  assert.deepEqual(await gets(), ['GET /a.bin 200 300000', 'GET /b.sh 200 17']);
  assert.ok(events.some((e) => e.type === 'download-start' && e.name === 'a' && e.pkg === 'p1'));
  assert.ok(events.some((e) => e.type === 'download-done' && e.name === 'a' && !e.fromCache && e.bytes === 300_000));
  const progress = events.flatMap((e) => (e.type === 'download-progress' && e.name === 'a' ? [e] : []));
  assert.ok(progress.length >= 1);
  assert.deepEqual([progress.at(-1)!.bytes, progress.at(-1)!.total], [300_000, 300_000]);

  // Warm cache, package folder gone: nothing goes over the wire.
  await rm(pkg1, { recursive: true });
  const warmEvents: AiopEvent[] = [];
  const again = await placeArtifacts(artifacts, pkg1, settingsFor(cache, warmEvents));
  assert.deepEqual(again.map((p) => p.fromCache), [true, true]);
  assert.deepEqual(await readFile(join(pkg1, 'data/a.bin')), a);
  assert.equal((await gets()).length, 2);
  assert.equal(warmEvents.filter((e) => e.type === 'cache-hit').length, 2);
  assert.ok(!warmEvents.some((e) => e.type === 'download-start'));

  // The package copy is not the cache file: changing it leaves the cache intact.
  await writeFile(join(pkg1, 'data/a.bin'), 'changed by a recipe');
  assert.deepEqual(await readFile(await cachedFile(cache, artifacts[0]!.url)), a);

  // noCaching downloads again and copies into the package.
  const pkg2 = join(dir, 'pkg2');
  const fresh = await placeArtifacts(artifacts, pkg2, settingsFor(cache, [], { noCaching: true }));
  assert.deepEqual(fresh.map((p) => p.fromCache), [false, false]);
  assert.deepEqual(await readFile(join(pkg2, 'data/a.bin')), a);
  assert.deepEqual(await gets(), ['GET /a.bin 200 300000', 'GET /a.bin 200 300000', 'GET /b.sh 200 17', 'GET /b.sh 200 17']);
  // Its temporary download is gone once placed.
  assert.deepEqual(await readdir(join(cache, 'tmp')), []);
});

test('a cache entry corrupted on disk is detected and fetched again; with noVerify it is used as is', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, a, artifacts, gets, cache } = await setup(t);
  const only = [artifacts[0]!];
  await placeArtifacts(only, join(dir, 'p0'), settingsFor(cache, []));
  assert.equal((await gets()).length, 1);

  const stored = await cachedFile(cache, artifacts[0]!.url);
  await chmod(stored, 0o644);
  await writeFile(stored, 'rotten bits');

  // noVerify: the seed's meaning, the cached file is used without checking.
  await placeArtifacts(only, join(dir, 'p1'), settingsFor(cache, [], { noVerify: true }));
  assert.equal(await readFile(join(dir, 'p1/data/a.bin'), 'utf8'), 'rotten bits');
  assert.equal((await gets()).length, 1);

  // Verified: detected, dropped, fetched again, and the cache healed.
  const events: AiopEvent[] = [];
  const placed = await placeArtifacts(only, join(dir, 'p2'), settingsFor(cache, events));
  assert.deepEqual(await readFile(join(dir, 'p2/data/a.bin')), a);
  assert.equal(placed[0]!.fromCache, false);
  assert.equal((await gets()).length, 2);
  assert.ok(events.some((e) => e.type === 'log' && e.level === 'WARNING' && e.source === 'artifacts' && /corrupted/.test(e.message)));
  assert.deepEqual(await readFile(stored), a);
});

test('two concurrent requests for the same URL send one request', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, a, artifacts, gets, cache } = await setup(t);
  const only = [artifacts[0]!];
  const [x, y] = await Promise.all([
    placeArtifacts(only, join(dir, 'x'), settingsFor(cache, [])),
    placeArtifacts(only, join(dir, 'y'), settingsFor(cache, [])),
  ]);
  assert.deepEqual(await readFile(join(dir, 'x/data/a.bin')), a);
  assert.deepEqual(await readFile(join(dir, 'y/data/a.bin')), a);
  assert.equal(x[0]!.files[0], y[0]!.files[0]);
  assert.deepEqual(await gets(), ['GET /a.bin 200 300000']);

  // Without the cache too: concurrent askers share one download.
  const [u, v] = await Promise.all([
    placeArtifacts(only, join(dir, 'u'), settingsFor(cache, [], { noCaching: true })),
    fetchUrl(only[0]!.url, join(dir, 'v.bin'), settingsFor(cache, [], { noCaching: true }), only[0]!.integrity),
  ]);
  assert.equal(u[0]!.fromCache, false);
  assert.equal(v, undefined);
  assert.deepEqual(await readFile(join(dir, 'v.bin')), a);
  assert.equal((await gets()).length, 2);
});

test('fetchUrl goes through the cache, keyed by URL when no integrity is given', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, b, server, gets, cache } = await setup(t);
  const url = `${server.url}/b.sh`;
  await fetchUrl(url, join(dir, 'out/one.sh'), settingsFor(cache, []));
  await fetchUrl(url, join(dir, 'out/two.sh'), settingsFor(cache, []));
  assert.deepEqual(await readFile(join(dir, 'out/one.sh')), b);
  assert.deepEqual(await readFile(join(dir, 'out/two.sh')), b);
  assert.equal((await gets()).length, 1);
  await fetchUrl(url, join(dir, 'out/three.sh'), settingsFor(cache, []), sri(b));
  assert.equal((await gets()).length, 1);
  await assert.rejects(fetchUrl(url, join(dir, 'out/four.sh'), settingsFor(cache, [], { retries: 0 }), sri('other')), (e: Error) => {
    assert.match(e.message, /checksum mismatch/);
    return true;
  });
  await assert.rejects(stat(join(dir, 'out/four.sh')));
});

test('file:// URLs are copied and verified', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const data = Buffer.from('local artifact');
  await writeFile(join(dir, 'local.txt'), data);
  const url = new URL(`file://${join(dir, 'local.txt')}`).href;
  const placed = await placeArtifacts(
    [{ name: 'local', url, integrity: sri(data), extract: false, stripComponents: 0, dest: '' }],
    join(dir, 'pkg'),
    settingsFor(join(dir, 'cache'), []),
  );
  assert.deepEqual(placed[0]!.files, ['local.txt']);
  assert.deepEqual(await readFile(join(dir, 'pkg/local.txt')), data);
  await assert.rejects(
    placeArtifacts([{ name: 'gone', url: `${url}.missing`, integrity: sri('never cached'), extract: false, stripComponents: 0, dest: '' }], join(dir, 'pkg'), settingsFor(join(dir, 'cache'), [])),
    (e: Error & { reason?: string }) => e.reason === 'download' && /after 1 try/.test(e.message),
  );
});

test('placeArtifacts refuses a hostile dest before any download', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const url = 'http://127.0.0.1:9/never-asked.bin';
  for (const dest of ['../outside', '/etc/x', 'a/../../b']) {
    await assert.rejects(
      placeArtifacts([{ name: 'x', url, integrity: sri('x'), extract: false, stripComponents: 0, dest }], join(dir, 'pkg'), settingsFor(join(dir, 'cache'), [])),
      (e: Error & { reason?: string }) => e.reason === 'config' && e.message.includes(dest),
    );
  }
  assert.deepEqual(await readdir(dir), []);
});
