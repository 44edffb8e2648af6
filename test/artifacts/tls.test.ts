import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTools } from '../util/tools.js';
import { REPO, runNode, tempDir } from '../util/run.js';
import { startNginx } from '../util/nginx.js';
import { placeArtifacts, type ResolvedArtifact } from '../../src/artifacts/index.js';
import { AiopError } from '../../src/core/errors.js';
import { settingsFor, sri } from './helpers.js';

test('https with a self-signed certificate: refused by default, accepted with its CA as caFile or NODE_EXTRA_CA_CERTS', async (t) => {
  if (!requireTools(t, 'nginx', 'openssl')) return;
  const { dir, cleanup } = await tempDir('aiop-tls-');
  t.after(cleanup);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  await mkdir(join(dir, 'www'));
  const data = Buffer.from('secure bytes');
  await writeFile(join(dir, 'www', 'art.bin'), data);
  const server = await startNginx({ root: join(dir, 'www'), tls: { certFile: cert, keyFile: key } });
  t.after(() => server.stop());
  assert.match(server.url, /^https:/);
  const artifact: ResolvedArtifact = { name: 'art', url: `${server.url}/art.bin`, integrity: sri(data), extract: false, stripComponents: 0, dest: '' };

  const refused = await placeArtifacts([artifact], join(dir, 'p1'), settingsFor(join(dir, 'cache'), [], { retries: 2 })).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(refused instanceof AiopError, String(refused));
  assert.equal(refused.reason, 'download');
  assert.match(refused.message, /TLS certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  // A certificate problem is not retried.
  assert.match(refused.message, /after 1 try/);
  assert.equal((await server.accessLog()).length, 0);

  await placeArtifacts([artifact], join(dir, 'p2'), settingsFor(join(dir, 'cache'), [], { caFile: cert }));
  assert.deepEqual(await readFile(join(dir, 'p2', 'art.bin')), data);
  assert.deepEqual(await server.accessLog(), ['GET /art.bin 200 12']);

  // NODE_EXTRA_CA_CERTS is read when Node starts, so this part runs in a child process.
  const script = join(dir, 'fetch.mjs');
  await writeFile(
    script,
    `import { placeArtifacts } from ${JSON.stringify(join(REPO, 'dist/src/artifacts/index.js'))};
const [url, integrity, pkg, cacheDir] = process.argv.slice(2);
await placeArtifacts([{ name: 'art', url, integrity, extract: false, stripComponents: 0, dest: '' }], pkg, {
  cacheDir, retries: 0, noCaching: false, noVerify: false, connectTimeoutMs: 5000, idleTimeoutMs: 5000, emit: () => {} });
`,
  );
  const args = [artifact.url, artifact.integrity, join(dir, 'p3'), join(dir, 'cache3')];
  const without = await runNode(script, args, { cwd: dir, env: { NODE_EXTRA_CA_CERTS: undefined } });
  assert.notEqual(without.code, 0);
  assert.match(without.stderr, /TLS certificate not trusted/);
  const withCa = await runNode(script, args, { cwd: dir, env: { NODE_EXTRA_CA_CERTS: cert } });
  assert.equal(withCa.code, 0, withCa.stderr);
  assert.deepEqual(await readFile(join(dir, 'p3', 'art.bin')), data);
});
