import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../util/run.js';
import { startFaultServer } from '../util/fault-server.js';
import { placeArtifacts } from '../../src/artifacts/index.js';
import { settingsFor, sri } from './helpers.js';

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'] as const;

/** Sets proxy variables for the duration of a test, restoring the old ones after. */
function withProxyEnv(t: import('node:test').TestContext, values: Partial<Record<(typeof PROXY_VARS)[number], string>>): void {
  const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
  for (const k of PROXY_VARS) delete process.env[k];
  Object.assign(process.env, values);
  t.after(() => {
    for (const k of PROXY_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}

/** A minimal HTTP proxy (CONNECT tunnels) that records what it was asked for. */
async function startProxy(t: import('node:test').TestContext): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(501).end();
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(client).add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { url: `http://127.0.0.1:${address.port}`, seen };
}

test('HTTP_PROXY is used, and NO_PROXY bypasses it', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-proxy-');
  t.after(cleanup);
  const body = Buffer.from('through the proxy');
  const origin = await startFaultServer({ '/a.bin': [{ kind: 'ok', body }], '/b.bin': [{ kind: 'ok', body }] });
  t.after(() => origin.stop());
  const proxy = await startProxy(t);
  const art = (path: string) => ({ name: path, url: `${origin.url}${path}`, integrity: sri(body), extract: false, stripComponents: 0, dest: '' });

  withProxyEnv(t, { HTTP_PROXY: proxy.url });
  await placeArtifacts([art('/a.bin')], join(dir, 'p1'), settingsFor(join(dir, 'c1'), []));
  assert.deepEqual(await readFile(join(dir, 'p1/a.bin')), body);
  assert.deepEqual(proxy.seen, [`CONNECT 127.0.0.1:${origin.port}`]);

  process.env.NO_PROXY = '127.0.0.1';
  await placeArtifacts([art('/b.bin')], join(dir, 'p2'), settingsFor(join(dir, 'c2'), []));
  assert.deepEqual(await readFile(join(dir, 'p2/b.bin')), body);
  assert.equal(proxy.seen.length, 1);
  assert.equal(origin.count('/b.bin'), 1);
});
