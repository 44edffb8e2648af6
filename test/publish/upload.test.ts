import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadFile, retryAfterMs } from '../../src/publish/upload.js';
import { redactUrl } from '../../src/core/url.js';
import { AiopError } from '../../src/core/errors.js';
import type { AiopEvent } from '../../src/core/events.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { startWebDav } from '../util/webdav.js';

const PASSWORD = 'S3cr3t-pa55word!';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function payload(dir: string, name = 'hello-1.4.0-linux-debian12-amd64.zip', size = 3 * 1024 * 1024 + 17): Promise<{ file: string; data: Buffer }> {
  const data = randomBytes(size);
  const file = join(dir, name);
  await writeFile(file, data);
  return { file, data };
}

function recorder(): { events: AiopEvent[]; emit: (e: AiopEvent) => void } {
  const events: AiopEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}

function assertNoSecret(texts: string[], ...secrets: string[]): void {
  for (const text of texts) for (const secret of secrets) assert.ok(!text.includes(secret), `secret leaked in: ${text}`);
}

test('upload to nginx WebDAV with Basic auth arrives byte-identical', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  const dav = await startWebDav({ user: 'deployer', password: PASSWORD });
  t.after(async () => {
    await dav.stop();
    await cleanup();
  });
  const { file, data } = await payload(dir);
  const { events, emit } = recorder();
  const url = await uploadFile(file, `${dav.url}/releases/`, {
    retries: 2,
    emit,
    pkg: 'hello',
    env: { AIOP_UPLOAD_USER: 'deployer', AIOP_UPLOAD_PASSWORD: PASSWORD },
  });
  assert.equal(url, `${dav.url}/releases/hello-1.4.0-linux-debian12-amd64.zip`);
  // Fetched back over HTTP (with auth) and compared, and on the server's disk too.
  const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`deployer:${PASSWORD}`).toString('base64')}` } });
  assert.equal(response.status, 200);
  assert.equal(sha256(Buffer.from(await response.arrayBuffer())), sha256(data));
  assert.equal(sha256(await readFile(join(dav.davRoot, 'releases', 'hello-1.4.0-linux-debian12-amd64.zip'))), sha256(data));
  assert.deepEqual(
    events.map((e) => e.type),
    ['upload-start', 'upload-done'],
  );
  assert.deepEqual(events[1], { type: 'upload-done', pkg: 'hello', file: 'hello-1.4.0-linux-debian12-amd64.zip', url, bytes: data.length });
  assertNoSecret([JSON.stringify(events), url], PASSWORD);
});

test('credentials in the URL work and are stripped from the result and the events', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  const dav = await startWebDav({ user: 'deployer', password: PASSWORD });
  t.after(async () => {
    await dav.stop();
    await cleanup();
  });
  const { file, data } = await payload(dir, 'hello_1.4.0_amd64.deb', 1001);
  const { events, emit } = recorder();
  const withCreds = dav.url.replace('http://', `http://deployer:${encodeURIComponent(PASSWORD)}@`);
  const url = await uploadFile(file, withCreds, { retries: 0, emit, env: {} });
  assert.equal(url, `${dav.url}/hello_1.4.0_amd64.deb`);
  assert.equal(sha256(await readFile(join(dav.davRoot, 'hello_1.4.0_amd64.deb'))), sha256(data));
  assertNoSecret([JSON.stringify(events), url], PASSWORD, encodeURIComponent(PASSWORD));
  assert.equal(redactUrl(withCreds), dav.url.replace('http://', 'http://***@'));
});

test('a wrong password fails at once with the 401 shown, and the password appears nowhere', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  const dav = await startWebDav({ user: 'deployer', password: PASSWORD });
  t.after(async () => {
    await dav.stop();
    await cleanup();
  });
  // Large enough that nginx answers before the body is sent: the 401 must still be seen as a 401.
  const { file } = await payload(dir, 'big.zip', 24 * 1024 * 1024);
  const { events, emit } = recorder();
  const wrong = 'wrong-Password-42';
  const error = await uploadFile(file, dav.url, { retries: 3, backoffMs: 1, emit, env: { AIOP_UPLOAD_USER: 'deployer', AIOP_UPLOAD_PASSWORD: wrong } }).then(
    () => assert.fail('upload should fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AiopError);
  assert.equal(error.reason, 'upload');
  assert.match(error.message, /HTTP 401 Unauthorized/);
  assert.match(error.message, /401 Authorization Required/, "the server's own text is shown");
  assert.deepEqual(events.map((e) => e.type), ['upload-start'], 'no retry on 401');
  const puts = (await dav.accessLog()).split('\n').filter((l) => l.startsWith('PUT '));
  assert.deepEqual(puts.map((l) => l.split(' ').slice(0, 3).join(' ')), ['PUT /dav/big.zip 401']);
  assertNoSecret([error.message, String(error.stack), JSON.stringify(events)], wrong, Buffer.from(`deployer:${wrong}`).toString('base64'));
});

/** A Node server for faults nginx cannot produce on demand: scripted replies, every request logged. */
async function faultServer(
  script: Array<(req: IncomingMessage, res: ServerResponse, body: Buffer) => void>,
): Promise<{ url: string; log: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }>; close: () => Promise<void> }> {
  const log: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
  let i = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      log.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const step = script[Math.min(i++, script.length - 1)]!;
      step(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/repo`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const reply =
  (status: number, text = '', headers: Record<string, string> = {}) =>
  (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(text);
  };

test('503 twice then success: three full PUTs with checksum headers, retry events, Retry-After honoured', async (t) => {
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([reply(503, 'busy', { 'retry-after': '0' }), reply(429, 'slow down', { 'retry-after': '0' }), reply(201)]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file, data } = await payload(dir, 'pkg.zip', 200_000);
  const { events, emit } = recorder();
  // A backoff this long would stall the test: the 0 s Retry-After must win.
  const url = await uploadFile(file, server.url, { retries: 3, backoffMs: 600_000, emit, env: { AIOP_UPLOAD_TOKEN: 'tok-123' } });
  assert.equal(url, `${server.url}/pkg.zip`);
  assert.equal(server.log.length, 3);
  for (const request of server.log) {
    assert.equal(request.method, 'PUT');
    assert.equal(request.url, '/repo/pkg.zip');
    assert.equal(sha256(request.body), sha256(data), 'each try sends the whole file');
    assert.equal(request.headers['x-checksum-sha256'], sha256(data));
    assert.equal(request.headers['x-checksum-sha1'], createHash('sha1').update(data).digest('hex'));
    assert.equal(request.headers['x-checksum-md5'], createHash('md5').update(data).digest('hex'));
    assert.equal(request.headers['content-length'], String(data.length));
    assert.equal(request.headers.authorization, 'Bearer tok-123');
  }
  const retries = events.filter((e) => e.type === 'upload-retry');
  assert.deepEqual(
    retries.map((e) => e.type === 'upload-retry' && [e.attempt, e.delayMs]),
    [
      [1, 0],
      [2, 0],
    ],
  );
  assert.match((retries[0] as { reason: string }).reason, /HTTP 503 Service Unavailable: busy/);
  assert.deepEqual(events.filter((e) => e.type === 'upload-start').map((e) => e.type === 'upload-start' && e.attempt), [1, 2, 3]);
  assertNoSecret([JSON.stringify(events)], 'tok-123');
});

test('retries back off exponentially and give up after retries + 1 tries with the last status', async (t) => {
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([reply(502, 'bad gateway upstream')]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file } = await payload(dir, 'pkg.zip', 10);
  const { events, emit } = recorder();
  await assert.rejects(uploadFile(file, server.url, { retries: 2, backoffMs: 5, emit, env: {} }), (e: unknown) => {
    assert.ok(e instanceof AiopError && e.reason === 'upload');
    assert.match(e.message, /HTTP 502 Bad Gateway: bad gateway upstream \(after 3 tries\)/);
    return true;
  });
  assert.equal(server.log.length, 3);
  assert.deepEqual(events.filter((e) => e.type === 'upload-retry').map((e) => e.type === 'upload-retry' && e.delayMs), [5, 10]);
});

test('other 4xx fail at once with the server text, secrets scrubbed even from what the server echoes', async (t) => {
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([
    (req, res) => {
      res.writeHead(403, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>Forbidden</h1><p>quota exceeded for ${req.headers.authorization}</p></body></html>`);
    },
  ]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file } = await payload(dir, 'pkg.zip', 10);
  const { events, emit } = recorder();
  const error = (await uploadFile(file, server.url, { retries: 5, backoffMs: 1, emit, env: { AIOP_UPLOAD_USER: 'u', AIOP_UPLOAD_PASSWORD: PASSWORD } }).catch((e: unknown) => e)) as AiopError;
  assert.ok(error instanceof AiopError);
  assert.match(error.message, /HTTP 403 Forbidden: Forbidden quota exceeded for Basic \*\*\*/);
  assert.equal(server.log.length, 1);
  assertNoSecret([error.message, JSON.stringify(events)], PASSWORD, Buffer.from(`u:${PASSWORD}`).toString('base64'));
});

test('409 counts as success only when the server already holds the same bytes', async (t) => {
  const { dir, cleanup } = await tempDir();
  const { file, data } = await payload(dir, 'pkg.zip', 5000);
  let stored = data;
  const server = await faultServer([
    (req, res) => {
      if (req.method === 'PUT') return reply(409, 'already exists')(req, res);
      res.writeHead(200);
      res.end(req.method === 'GET' ? stored : undefined);
    },
  ]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { emit } = recorder();
  assert.equal(await uploadFile(file, server.url, { retries: 0, emit, env: {} }), `${server.url}/pkg.zip`);
  assert.deepEqual(server.log.map((r) => r.method), ['PUT', 'HEAD', 'GET']);
  stored = Buffer.from('something else');
  await assert.rejects(uploadFile(file, server.url, { retries: 0, emit, env: {} }), /HTTP 409 Conflict: already exists \(the server already has a different pkg\.zip\)/);
});

test('a dropped connection is retried', async (t) => {
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([(req) => req.socket.destroy(), reply(200)]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file } = await payload(dir, 'pkg.zip', 1000);
  const { events, emit } = recorder();
  await uploadFile(file, server.url, { retries: 1, backoffMs: 1, emit, env: {} });
  assert.equal(server.log.length, 2);
  assert.equal(events.filter((e) => e.type === 'upload-retry').length, 1);
});

test('aborting during a retry wait ends the upload as interrupted', async (t) => {
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([reply(503)]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file } = await payload(dir, 'pkg.zip', 10);
  const ac = new AbortController();
  const emit = (e: AiopEvent): void => {
    if (e.type === 'upload-retry') ac.abort();
  };
  await assert.rejects(uploadFile(file, server.url, { retries: 5, backoffMs: 600_000, emit, env: {}, signal: ac.signal }), (e: unknown) => e instanceof AiopError && e.reason === 'interrupted');
  assert.equal(server.log.length, 1);
});

test('bad URLs are refused; Retry-After reads seconds and HTTP dates', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { file } = await payload(dir, 'pkg.zip', 1);
  const { emit } = recorder();
  await assert.rejects(uploadFile(file, 'ftp://u:pw@example.com/x', { retries: 0, emit, env: {} }), (e: unknown) => e instanceof AiopError && /http or https/.test(e.message) && !e.message.includes('pw'));
  await assert.rejects(uploadFile(file, 'not a url', { retries: 0, emit, env: {} }), /not a valid URL/);
  assert.equal(retryAfterMs('7'), 7000);
  assert.equal(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10_000);
  assert.equal(retryAfterMs('soon'), undefined);
  assert.equal(retryAfterMs(undefined), undefined);
});

test('uploadOutputs sends each requested output and refuses one the build did not make', async (t) => {
  const { uploadOutputs } = await import('../../src/publish/upload-outputs.js');
  const { dir, cleanup } = await tempDir();
  const server = await faultServer([reply(201)]);
  t.after(async () => {
    await server.close();
    await cleanup();
  });
  const { file: zip } = await payload(dir, 'a.zip', 10);
  const { file: deb } = await payload(dir, 'a_1_all.deb', 10);
  const { emit } = recorder();
  const done = await uploadOutputs(['zip', 'deb'], { zip, deb }, server.url, { retries: 0, emit, env: {} });
  assert.deepEqual(done, [
    { file: zip, url: `${server.url}/a.zip` },
    { file: deb, url: `${server.url}/a_1_all.deb` },
  ]);
  await assert.rejects(uploadOutputs(['deb'], { zip }, server.url, { retries: 0, emit, env: {} }), /does not make it/);
  assert.equal(server.log.length, 2, 'nothing sent for the refused request');
});
