import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cacache from 'cacache';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { startNginx } from '../util/nginx.js';
import { placeArtifacts, redactUrl } from '../../src/artifacts/index.js';
import { AiopError } from '../../src/core/errors.js';
import type { AiopEvent } from '../../src/core/events.js';
import { settingsFor, sri } from './helpers.js';

test('credentials in a URL authenticate the download and never appear in events, errors or the cache index', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir('aiop-creds-');
  t.after(cleanup);
  await mkdir(join(dir, 'www'));
  await mkdir(join(dir, 'dav'));
  const data = Buffer.from('private build');
  await writeFile(join(dir, 'dav', 'p.bin'), data);
  const secret = 's3cr%40t';
  const server = await startNginx({ root: join(dir, 'www'), davRoot: join(dir, 'dav'), basicAuth: { user: 'bot', password: 's3cr@t' } });
  t.after(() => server.stop());
  const withCreds = server.url.replace('http://', `http://bot:${secret}@`) + '/dav/p.bin';

  const events: AiopEvent[] = [];
  const placed = await placeArtifacts([{ name: 'p', url: withCreds, integrity: sri(data), extract: false, stripComponents: 0, dest: '' }], join(dir, 'pkg'), settingsFor(join(dir, 'cache'), events));
  assert.deepEqual(await readFile(join(dir, 'pkg', 'p.bin')), data);
  assert.equal(placed[0]!.url, `${server.url.replace('http://', 'http://***@')}/dav/p.bin`);
  const text = JSON.stringify(events) + JSON.stringify(placed);
  assert.ok(!text.includes('s3cr'), text);
  // Nowhere in the cache (index, content, whatever cacache keeps): every file is read, not a known layout.
  const stored = (await readdir(join(dir, 'cache'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  assert.ok(stored.length >= 2, 'the cache holds the index entry and the content');
  for (const entry of stored) {
    const file = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    assert.ok(!(await readFile(file)).toString('latin1').includes('s3cr'), file);
  }
  const keys = Object.keys(await cacache.ls(join(dir, 'cache')));
  assert.ok(keys.length === 1 && !keys[0]!.includes('s3cr'), keys.join('\n'));

  // Without credentials: 401, not retried, and a clear message.
  const bare = `${server.url}/dav/p.bin`;
  const error = await placeArtifacts([{ name: 'p', url: bare, integrity: sri('other'), extract: false, stripComponents: 0, dest: '' }], join(dir, 'pkg2'), settingsFor(join(dir, 'cache'), [])).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof AiopError);
  assert.match(error.message, /failed after 1 try: HTTP 401/);

  // A wrong password is reported without the password.
  const wrong = server.url.replace('http://', 'http://bot:hunter2@') + '/dav/p.bin';
  const error2 = await placeArtifacts([{ name: 'p', url: wrong, integrity: sri('other'), extract: false, stripComponents: 0, dest: '' }], join(dir, 'pkg3'), settingsFor(join(dir, 'cache'), [])).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error2 instanceof AiopError);
  assert.ok(!error2.message.includes('hunter2') && error2.message.includes('***@'), error2.message);
  assert.equal(redactUrl('not a url //a:b@c'), 'not a url //***@c');
});
