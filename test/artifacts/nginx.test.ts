import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { startNginx } from '../util/nginx.js';

test('nginx test server: serves files, logs requests, accepts authenticated WebDAV PUT only', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await mkdir(join(dir, 'www'));
  await writeFile(join(dir, 'www', 'hello.txt'), 'hello\n');
  const server = await startNginx({ root: join(dir, 'www'), davRoot: join(dir, 'dav'), basicAuth: { user: 'u', password: 'p w' } });
  t.after(() => server.stop());

  const got = await request(`${server.url}/hello.txt`);
  assert.equal(got.statusCode, 200);
  assert.equal(await got.body.text(), 'hello\n');
  const missing = await request(`${server.url}/nope`);
  assert.equal(missing.statusCode, 404);
  await missing.body.dump();

  const anonymous = await request(`${server.url}/dav/a/b.bin`, { method: 'PUT', body: 'x' });
  assert.equal(anonymous.statusCode, 401);
  await anonymous.body.dump();
  const auth = `Basic ${Buffer.from('u:p w').toString('base64')}`;
  const put = await request(`${server.url}/dav/a/b.bin`, { method: 'PUT', body: 'payload', headers: { authorization: auth } });
  assert.equal(put.statusCode, 201);
  await put.body.dump();
  assert.equal(await readFile(join(dir, 'dav', 'a', 'b.bin'), 'utf8'), 'payload');

  const log = await server.accessLog();
  assert.deepEqual(log, ['GET /hello.txt 200 6', 'GET /nope 404 ' + log[1]!.split(' ')[3], 'PUT /dav/a/b.bin 401 ' + log[2]!.split(' ')[3], 'PUT /dav/a/b.bin 201 0']);
});
