import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startWebDav } from '../util/webdav.js';
import { aptDir, aptGet, dpkgDeb, gpgKey } from '../util/apt.js';

const PASSWORD = 'pw-repo-Upl0ad';
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

const lines = (log: string): string[] => log.split('\n').filter((l) => l !== '');

/** The PUTs of nginx's access log after `from` lines, as paths relative to the repository URL. */
function puts(log: string, from: number, prefix: string): string[] {
  return lines(log)
    .slice(from)
    .filter((l) => l.startsWith('PUT '))
    .map((l) => l.split(' ')[1]!.slice(prefix.length));
}

test('repo apt --upload_url PUTs the repository to WebDAV, then only what changed; apt-get accepts the uploaded copy', async (t) => {
  if (!requireTools(t, 'nginx', 'gpg', 'dpkg-deb', 'apt-get')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const dav = await startWebDav({ user: 'ci', password: PASSWORD });
  t.after(() => dav.stop());
  const key = await gpgKey(join(dir, 'gnupg'));
  const env = { ...isolatedEnv(dir), AIOP_SIGNING_KEY: key, AIOP_UPLOAD_USER: 'ci', AIOP_UPLOAD_PASSWORD: PASSWORD, SOURCE_DATE_EPOCH: '1700000000' };
  const www = join(dir, 'www');
  const url = `${dav.url}/apt`;
  const first = await dpkgDeb(dir, 'alpha', '1.0');
  const one = await aiop(['repo', 'apt', www, '--deb', first, '--upload_url', url], { cwd: dir, env });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^7 file\(s\) uploaded to http:\/\/127\.0\.0\.1:\d+\/dav\/apt$/m);
  assert.ok(![one.stdout, one.stderr].some((s) => s.includes(PASSWORD) || s.includes(key.split('\n')[3]!)), 'no secret printed');
  const local = (await tree(www)).filter((f) => f !== '.aiop-upload.json');
  assert.deepEqual(await tree(join(dav.davRoot, 'apt')), local, 'the server holds the same files');
  for (const file of local) assert.equal(sha256(await readFile(join(dav.davRoot, 'apt', file))), sha256(await readFile(join(www, file))), file);
  let log = await dav.accessLog();
  const prefix = '/dav/apt/';
  const firstPuts = puts(log, 0, prefix);
  assert.deepEqual(firstPuts.slice(-3), ['dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/InRelease'], 'the signed index goes last');
  assert.equal(firstPuts[0], 'pool/main/a/alpha/alpha_1.0_all.deb', 'the .deb goes first');

  // Nothing new: nothing written, nothing sent.
  let seen = lines(log).length;
  const same = await aiop(['repo', 'apt', www, '--deb', first, '--upload_url', url], { cwd: dir, env });
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /: 0 file\(s\) written;/);
  assert.match(same.stdout, /^nothing changed: nothing uploaded to /m);
  log = await dav.accessLog();
  assert.deepEqual(puts(log, seen, prefix), []);

  // One more .deb: it and the indices that name it are sent, the rest is not.
  seen = lines(log).length;
  const two = await aiop(['repo', 'apt', www, '--deb', await dpkgDeb(dir, 'libbeta', '2.0'), '--upload_url', url], { cwd: dir, env });
  assert.equal(two.code, 0, two.stderr);
  log = await dav.accessLog();
  assert.deepEqual(puts(log, seen, prefix), [
    'pool/main/libb/libbeta/libbeta_2.0_all.deb',
    'dists/stable/main/binary-all/Packages',
    'dists/stable/main/binary-all/Packages.gz',
    'dists/stable/Release',
    'dists/stable/Release.gpg',
    'dists/stable/InRelease',
  ]);
  const published2 = (await tree(www)).filter((f) => f !== '.aiop-upload.json');
  assert.deepEqual(await tree(join(dav.davRoot, 'apt')), published2);
  for (const file of published2) assert.equal(sha256(await readFile(join(dav.davRoot, 'apt', file))), sha256(await readFile(join(www, file))), file);

  // The same .deb rebuilt (same name and size, other bytes: here the ar member's time) replaces the old one.
  seen = lines(log).length;
  const rebuilt = join(dir, 'rebuilt', 'alpha_1.0_all.deb');
  const bytes = await readFile(first);
  bytes.write(bytes.subarray(24, 36).toString('latin1').replace(/\d(?=\s*$)/, (d) => String((Number(d) + 1) % 10)), 24, 'latin1');
  await mkdir(join(dir, 'rebuilt'));
  await writeFile(rebuilt, bytes);
  const three = await aiop(['repo', 'apt', www, '--deb', rebuilt, '--upload_url', url], { cwd: dir, env });
  assert.equal(three.code, 0, three.stderr);
  assert.match(three.stdout, /^added pool\/main\/a\/alpha\/alpha_1\.0_all\.deb$/m);
  assert.equal(sha256(await readFile(join(www, 'pool/main/a/alpha/alpha_1.0_all.deb'))), sha256(bytes));
  assert.match(await readFile(join(www, 'dists/stable/main/binary-all/Packages'), 'utf8'), new RegExp(`^SHA256: ${sha256(bytes)}$`, 'm'));
  log = await dav.accessLog();
  assert.equal(puts(log, seen, prefix)[0], 'pool/main/a/alpha/alpha_1.0_all.deb');
  assert.equal(sha256(await readFile(join(dav.davRoot, 'apt/pool/main/a/alpha/alpha_1.0_all.deb'))), sha256(bytes));

  // Another URL, nothing changed locally: it gets every file (but not aiop's own record).
  seen = lines(log).length;
  const mirror = await aiop(['repo', 'apt', www, '--deb', rebuilt, '--upload_url', `${dav.url}/mirror`], { cwd: dir, env });
  assert.equal(mirror.code, 0, mirror.stderr);
  assert.match(mirror.stdout, /^8 file\(s\) uploaded to /m);
  const published = (await tree(www)).filter((f) => !f.startsWith('.'));
  assert.deepEqual(await tree(join(dav.davRoot, 'mirror')), published);
  assert.deepEqual(puts(await dav.accessLog(), seen, '/dav/mirror/').slice(-3), ['dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/InRelease']);

  // apt-get reads the uploaded copy (through the WebDAV location, with the upload credentials).
  const apt = join(dir, 'apt');
  const port = new URL(dav.url).port;
  await aptDir(apt, `deb [signed-by=${join(www, 'key.asc')}] ${url}/ stable main`, `machine http://127.0.0.1:${port}\nlogin ci\npassword ${PASSWORD}\n`);
  const update = aptGet(apt, ['update']);
  assert.equal(update.status, 0, `${update.stdout}${update.stderr}`);
  assert.doesNotMatch(`${update.stdout}${update.stderr}`, /^(W|E):/m, `${update.stdout}${update.stderr}`);
  const download = aptGet(apt, ['download', 'alpha', 'libbeta']);
  assert.equal(download.status, 0, `${download.stdout}${download.stderr}`);
  assert.equal(sha256(await readFile(join(apt, 'libbeta_2.0_all.deb'))), sha256(await readFile(join(dir, 'libbeta_2.0_all.deb'))));
});

interface Put {
  path: string;
  headers: IncomingMessage['headers'];
  sha256: string;
}

/** An HTTP server that takes PUTs, answering 503 to the first `failures` PUTs of a path and 500 forever to those in `broken`. */
async function putServer(failures: Record<string, number>, broken: Set<string>): Promise<{ url: string; puts: Put[]; stop(): Promise<void> }> {
  const puts: Put[] = [];
  const left = new Map(Object.entries(failures));
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (req.method !== 'PUT') return void res.writeHead(405).end();
      const n = left.get(path) ?? 0;
      if (n > 0 || broken.has(path)) {
        left.set(path, n - 1);
        return void res.writeHead(broken.has(path) ? 500 : 503, { 'retry-after': '0' }).end('busy');
      }
      puts.push({ path, headers: req.headers, sha256: sha256(Buffer.concat(parts)) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, puts, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('repo apt --upload_url: checksum headers and retries as --upload; a failed upload is finished by the next run', async (t) => {
  if (!requireTools(t, 'gpg', 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const broken = new Set(['/repo/dists/stable/main/binary-all/Packages.gz']);
  const server = await putServer({ '/repo/dists/stable/InRelease': 1 }, broken);
  t.after(() => server.stop());
  const env = { ...isolatedEnv(dir), AIOP_SIGNING_KEY: await gpgKey(join(dir, 'gnupg')), AIOP_UPLOAD_TOKEN: 'tok-3x4mple-s3cret', SOURCE_DATE_EPOCH: '1700000000' };
  const www = join(dir, 'www');
  const deb = await dpkgDeb(dir, 'alpha', '1.0');

  // Packages.gz always fails: the run stops there with an upload error and remembers what is left.
  const failed = await aiop(['repo', 'apt', www, '--deb', deb, '--upload_url', `${server.url}/repo`, '--retries', '1'], { cwd: dir, env });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /upload of Packages\.gz to http:\/\/127\.0\.0\.1:\d+\/repo\/dists\/stable\/main\/binary-all\/Packages\.gz failed: HTTP 500 Internal Server Error: busy \(after 2 tries\)/);
  assert.match(failed.stdout, /Upload of Packages\.gz failed \(HTTP 500 Internal Server Error: busy\); retrying/);
  assert.deepEqual(server.puts.map((p) => p.path), ['/repo/pool/main/a/alpha/alpha_1.0_all.deb', '/repo/dists/stable/main/binary-all/Packages']);
  const pending = JSON.parse(await readFile(join(www, '.aiop-upload.json'), 'utf8')) as { url: string; pending: string[] };
  assert.equal(pending.url, `${server.url}/repo/`);
  assert.deepEqual(pending.pending, ['dists/stable/main/binary-all/Packages.gz', 'key.asc', 'dists/stable/Release', 'dists/stable/Release.gpg', 'dists/stable/InRelease']);
  assert.ok(![failed.stdout, failed.stderr].some((s) => s.includes('tok-3x4mple-s3cret')));

  // The server is fixed; nothing changed locally, yet the rest is sent, InRelease after one 503.
  broken.clear();
  const resumed = await aiop(['repo', 'apt', www, '--deb', deb, '--upload_url', `${server.url}/repo`], { cwd: dir, env });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /: 0 file\(s\) written;/);
  assert.match(resumed.stdout, /Upload of InRelease failed \(HTTP 503 Service Unavailable: busy\); retrying in 0 ms \(attempt 1\)/);
  assert.match(resumed.stdout, /^5 file\(s\) uploaded to /m);
  assert.deepEqual(server.puts.slice(2).map((p) => p.path), [
    '/repo/dists/stable/main/binary-all/Packages.gz',
    '/repo/key.asc',
    '/repo/dists/stable/Release',
    '/repo/dists/stable/Release.gpg',
    '/repo/dists/stable/InRelease',
  ]);
  assert.deepEqual(JSON.parse(await readFile(join(www, '.aiop-upload.json'), 'utf8')), { url: `${server.url}/repo/`, pending: [] });
  for (const put of server.puts) {
    const local = await readFile(join(www, put.path.slice('/repo/'.length)));
    assert.equal(put.sha256, sha256(local), `${put.path} arrived intact`);
    assert.equal(put.headers['x-checksum-sha256'], sha256(local));
    assert.equal(put.headers['x-checksum-sha1'], createHash('sha1').update(local).digest('hex'));
    assert.equal(put.headers['x-checksum-md5'], createHash('md5').update(local).digest('hex'));
    assert.equal(put.headers.authorization, 'Bearer tok-3x4mple-s3cret');
  }

  const bad = await aiop(['repo', 'apt', join(dir, 'other'), '--deb', deb, '--upload_url', 'ftp://example.com/x'], { cwd: dir, env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--upload_url must be http or https: ftp:\/\/example\.com\/x/);
  await assert.rejects(readdir(join(dir, 'other')), { code: 'ENOENT' }, 'nothing written');
});
