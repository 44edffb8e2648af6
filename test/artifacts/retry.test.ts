import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir } from '../util/run.js';
import { startFaultServer, type Behaviour } from '../util/fault-server.js';
import { placeArtifacts, parseRetryAfter, type ResolvedArtifact } from '../../src/artifacts/index.js';
import { AiopError } from '../../src/core/errors.js';
import type { AiopEvent } from '../../src/core/events.js';
import { scan, settingsFor, sri } from './helpers.js';

const body = randomBytes(200_000);

async function run(t: import('node:test').TestContext, behaviours: Behaviour[], overrides: Parameters<typeof settingsFor>[2] = {}) {
  const { dir, cleanup } = await tempDir('aiop-retry-');
  t.after(cleanup);
  const server = await startFaultServer({ '/art.bin': behaviours });
  t.after(() => server.stop());
  const artifact: ResolvedArtifact = { name: 'art', url: `${server.url}/art.bin`, integrity: sri(body), extract: false, stripComponents: 0, dest: '' };
  const events: AiopEvent[] = [];
  const cache = join(dir, 'cache');
  const pkg = join(dir, 'pkg');
  const result = await placeArtifacts([artifact], pkg, settingsFor(cache, events, overrides)).then(
    (placed) => ({ placed, error: undefined }),
    (error: unknown) => ({ placed: undefined, error: error as AiopError }),
  );
  return { dir, server, events, result, pkg, cache, url: artifact.url };
}

test('a connection dropped mid-body is retried and the download succeeds', async (t) => {
  const { server, events, result, pkg } = await run(t, [{ kind: 'drop', body, after: 50_000 }, { kind: 'ok', body }]);
  assert.equal(result.error, undefined);
  assert.deepEqual(await readFile(join(pkg, 'art.bin')), body);
  assert.equal(server.count('/art.bin'), 2);
  const retries = events.filter((e) => e.type === 'download-retry');
  assert.equal(retries.length, 1);
  assert.equal(retries[0]!.type === 'download-retry' && retries[0]!.attempt, 2);
});

test('wrong bytes every time: exactly 1 + retries tries, the error names URL and digests, nothing kept', async (t) => {
  const wrong = Buffer.from('not the artifact');
  const { server, result, dir, url } = await run(t, [{ kind: 'ok', body: wrong }], { retries: 2 });
  assert.ok(result.error instanceof AiopError);
  assert.equal(result.error.reason, 'download');
  assert.equal(server.count('/art.bin'), 3);
  assert.ok(result.error.message.includes(url), result.error.message);
  // Given as SRI here: both digests are SRI, expected above actual.
  assert.ok(result.error.message.includes(`\n  expected integrity: ${sri(body)}\n  actual   integrity: ${sri(wrong)}`), result.error.message);
  // Neither the package nor the cache holds the bad file (the cache's temp folder is empty).
  const left = await scan(dir);
  assert.deepEqual(left.filter((p) => !p.startsWith('cache/tmp') && p !== 'cache'), [], left.join('\n'));
  assert.deepEqual(left.filter((p) => p.startsWith('cache/tmp/')), []);
});

test('retries 0 means exactly one try', async (t) => {
  const { server, result } = await run(t, [{ kind: 'status', status: 503 }], { retries: 0 });
  assert.equal(result.error?.reason, 'download');
  assert.match(result.error!.message, /after 1 try: HTTP 503/);
  assert.equal(server.count('/art.bin'), 1);
});

test('503 then 200 succeeds', async (t) => {
  const { server, result, pkg } = await run(t, [{ kind: 'status', status: 503, body: 'busy' }, { kind: 'ok', body }]);
  assert.equal(result.error, undefined);
  assert.deepEqual(await readFile(join(pkg, 'art.bin')), body);
  assert.equal(server.count('/art.bin'), 2);
});

test('429 with Retry-After: 1 waits as told and succeeds', async (t) => {
  const { server, result, events } = await run(t, [{ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { kind: 'ok', body }]);
  assert.equal(result.error, undefined);
  assert.equal(server.count('/art.bin'), 2);
  const retry = events.find((e) => e.type === 'download-retry');
  assert.ok(retry && retry.type === 'download-retry');
  assert.equal(retry.delayMs, 1000);
  assert.match(retry.reason, /HTTP 429/);
});

test('a stalled response hits the idle timeout and is retried', async (t) => {
  const { server, result, events, pkg } = await run(
    t,
    [{ kind: 'stall', body, after: 1000 }, { kind: 'stall-headers' }, { kind: 'ok', body }],
    { idleTimeoutMs: 300 },
  );
  assert.equal(result.error, undefined);
  assert.deepEqual(await readFile(join(pkg, 'art.bin')), body);
  assert.equal(server.count('/art.bin'), 3);
  const reasons = events.flatMap((e) => (e.type === 'download-retry' ? [e.reason] : []));
  assert.equal(reasons.length, 2);
  assert.ok(reasons.every((r) => /idle timeout/.test(r)), reasons.join('; '));
});

test('404 is not retried and the error is clear', async (t) => {
  const { server, result, url } = await run(t, [{ kind: 'status', status: 404, body: 'no such release' }]);
  assert.equal(server.count('/art.bin'), 1);
  assert.equal(result.error?.reason, 'download');
  assert.equal(result.error!.message, `download of ${url} (artifact art) failed after 1 try: HTTP 404: no such release`);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now), 3000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('an abort during a download ends it with reason interrupted and leaves no temp file', async (t) => {
  const controller = new AbortController();
  const { dir, cleanup } = await tempDir('aiop-retry-');
  t.after(cleanup);
  const server = await startFaultServer({ '/art.bin': [{ kind: 'stall', body, after: 1000 }] });
  t.after(() => server.stop());
  const events: AiopEvent[] = [];
  const settings = settingsFor(join(dir, 'cache'), events, {
    signal: controller.signal,
    emit: (e) => {
      events.push(e);
      // Abort once the first bytes have arrived.
      if (e.type === 'download-progress' && e.bytes > 0) controller.abort();
    },
  });
  const artifact: ResolvedArtifact = { name: 'art', url: `${server.url}/art.bin`, integrity: sri(body), extract: false, stripComponents: 0, dest: '' };
  await assert.rejects(placeArtifacts([artifact], join(dir, 'pkg'), settings), (e: AiopError) => e.reason === 'interrupted');
  assert.equal(server.count('/art.bin'), 1);
  assert.deepEqual((await scan(dir)).filter((p) => p.startsWith('cache/tmp/') || p.startsWith('pkg/')), []);
});

test('redirects are followed', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-retry-');
  t.after(cleanup);
  const server = await startFaultServer({
    '/old.bin': [{ kind: 'status', status: 302, headers: { location: '/art.bin' } }],
    '/art.bin': [{ kind: 'ok', body }],
  });
  t.after(() => server.stop());
  const placed = await placeArtifacts(
    [{ name: 'art', url: `${server.url}/old.bin`, integrity: sri(body), extract: false, stripComponents: 0, dest: 'x/' }],
    join(dir, 'pkg'),
    settingsFor(join(dir, 'cache'), []),
  );
  assert.deepEqual(placed[0]!.files, ['x/old.bin']);
  assert.deepEqual(await readFile(join(dir, 'pkg/x/old.bin')), body);
  assert.deepEqual(server.requests, ['GET /old.bin', 'GET /art.bin']);
});
