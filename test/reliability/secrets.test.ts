/**
 * Secrets never leak: user:password in artifact and upload URLs, AIOP_UPLOAD_* values and
 * Authorization headers (also when a server echoes them back) are looked for in stdout,
 * stderr (people's and machine-readable output, error messages), every file the build
 * wrote in the playbook (log files, manifest, state, last-build record) and the log folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startNginx } from '../util/nginx.js';
import { startFaultServer } from '../util/fault-server.js';
import { crashInventory, makeToolArchive, writeCrashPlaybook } from './fixture.js';
import { recordTrial } from './report.js';

const UPLOAD_USER = 'upuser';
const UPLOAD_PASSWORD = 'Upl0adPa55w0rd';
const URL_PASSWORD = 'UrlPa55w0rd';
const ART_PASSWORD = 'ArtPa55w0rd';
const TOKEN = 'Tok3n-Xyz-8c1f2e';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Every form of every secret that must never be seen. */
const FORBIDDEN = [
  UPLOAD_PASSWORD,
  URL_PASSWORD,
  ART_PASSWORD,
  TOKEN,
  b64(`${UPLOAD_USER}:${UPLOAD_PASSWORD}`),
  b64(`urluser:${URL_PASSWORD}`),
  b64(`artuser:${ART_PASSWORD}`),
];

/** Every file under `dir`, as text (binary files too: a secret is bytes either way). */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out[path] = await readFile(path, 'latin1');
  }
  return out;
}

/**
 * `where: secret` for every leak found. The user's own inventory holds the artifact URL's
 * credentials: that is input. Nothing derived from it (the load cache included) may hold them.
 */
function leaks(texts: Record<string, string>): string[] {
  const found: string[] = [];
  const input = (where: string): boolean => where.endsWith('/.aiop/inventory_config.yml');
  for (const [where, text] of Object.entries(texts)) if (!input(where)) for (const secret of FORBIDDEN) if (text.includes(secret)) found.push(`${where}: ${secret}`);
  return found;
}

test('secrets: a successful build with credentials in the artifact and upload URLs, and in AIOP_UPLOAD_*, leaks none of them anywhere', async (t) => {
  if (!requireTools(t, 'nginx', 'tar')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const www = join(dir, 'www');
  const sha = await makeToolArchive(dir, www, '1', 10_000);
  const nginx = await startNginx({ root: www, davRoot: join(dir, 'dav'), basicAuth: { user: UPLOAD_USER, password: UPLOAD_PASSWORD } });
  t.after(() => nginx.stop());
  const artifactBase = nginx.url.replace('http://', `http://artuser:${ART_PASSWORD}@`);
  const root = await writeCrashPlaybook(join(dir, 'pb'), crashInventory(artifactBase, '1', sha));
  const env = { ...isolatedEnv(dir), AIOP_UPLOAD_USER: UPLOAD_USER, AIOP_UPLOAD_PASSWORD: UPLOAD_PASSWORD };
  const texts: Record<string, string> = {};
  const base = ['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb', '--upload', 'zip', 'deb', '-sll', 'DEBUG', '-fll', 'DEBUG'];
  const runs: Array<[string, string[], Record<string, string | undefined>]> = [
    ['people', [...base, '--upload_url', `${nginx.url}/dav/a`], env],
    ['machine-readable', [...base, '--upload_url', `${nginx.url}/dav/b`, '--machine-readable', '--force'], env],
    // Credentials only in the URL: they must still work, and must not be recorded for build_again.
    ['url credentials', [...base, '--upload_url', nginx.url.replace('http://', `http://${UPLOAD_USER}:${UPLOAD_PASSWORD}@`) + '/dav/c', '--force'], isolatedEnv(dir)],
  ];
  for (const [name, args, runEnv] of runs) {
    const result = await aiop(args, { cwd: root, env: runEnv });
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    texts[`${name} stdout`] = result.stdout;
    texts[`${name} stderr`] = result.stderr;
    for (const [path, text] of Object.entries(await filesUnder(join(root, '.aiop')))) texts[`${name}: ${path}`] = text;
    for (const [path, text] of Object.entries(await filesUnder(join(root, '.build')))) texts[`${name}: ${path}`] = text;
  }
  const puts = (await nginx.accessLog()).filter((l) => l.startsWith('PUT ') && / 201 /.test(l));
  assert.equal(puts.length, 6, `every upload went through with its credentials:\n${puts.join('\n')}`);
  assert.ok(Object.keys(texts).some((k) => k.includes('last-build.json')), 'the last-build record was looked at');
  assert.ok(Object.keys(texts).some((k) => k.endsWith('.manifest.json')), 'the manifest was looked at');
  assert.ok(Object.keys(texts).some((k) => k.endsWith('.log')), 'log files were looked at');
  const found = leaks(texts);
  recordTrial({ category: 'secret', what: 'credentials in URLs and AIOP_UPLOAD_* through a successful build (console, machine-readable, logs, manifest, state)', held: found.length === 0 });
  assert.deepEqual(found, []);
});

test('secrets: failing downloads and uploads, with a server that echoes the Authorization header, leak none of them', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await startFaultServer();
  t.after(() => server.stop());
  const echo = (auth: string): string => `denied: got Authorization: ${auth}\n`;
  server.script('/dav/demo-1.0.0-linux-debian12-amd64.zip', [{ kind: 'status', status: 403, body: echo(`Basic ${b64(`${UPLOAD_USER}:${UPLOAD_PASSWORD}`)}`) }]);
  server.script('/tok/demo-1.0.0-linux-debian12-amd64.zip', [{ kind: 'status', status: 401, body: echo(`Bearer ${TOKEN}`) }]);
  server.script('/url/demo-1.0.0-linux-debian12-amd64.zip', [{ kind: 'status', status: 400, body: echo(`Basic ${b64(`urluser:${URL_PASSWORD}`)}`) }]);
  const sha = await makeToolArchive(dir, join(dir, 'www'), '1', 10_000);
  server.script('/tool-1.tar.gz', [{ kind: 'ok', body: await readFile(join(dir, 'www/tool-1.tar.gz')) }]);
  const withCredentials = server.url.replace('http://', `http://artuser:${ART_PASSWORD}@`);
  const served = crashInventory(withCredentials, '1', sha);
  const missing = crashInventory(`${withCredentials}/missing`, '1', sha);
  const root = join(dir, 'pb');
  const texts: Record<string, string> = {};
  const withUrl = (path: string): string[] => ['--upload', 'zip', '--upload_url', `${server.url}${path}`];
  const runs: Array<[string, string[], Record<string, string | undefined>, string]> = [
    ['download 404', ['--retries', '1'], isolatedEnv(dir), missing],
    ['upload 403, user/password', withUrl('/dav'), { ...isolatedEnv(dir), AIOP_UPLOAD_USER: UPLOAD_USER, AIOP_UPLOAD_PASSWORD: UPLOAD_PASSWORD }, served],
    ['upload 401, token', withUrl('/tok'), { ...isolatedEnv(dir), AIOP_UPLOAD_TOKEN: TOKEN }, served],
    ['upload 400, URL credentials', ['--upload', 'zip', '--upload_url', server.url.replace('http://', `http://urluser:${URL_PASSWORD}@`) + '/url'], isolatedEnv(dir), served],
  ];
  for (const [name, extra, env, inventory] of runs) {
    await writeCrashPlaybook(root, inventory);
    for (const mode of [[], ['--machine-readable']]) {
      const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '-sll', 'DEBUG', '-fll', 'DEBUG', '--force', ...extra, ...mode], { cwd: root, env });
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      texts[`${name} ${mode.join('')} stdout`] = result.stdout;
      texts[`${name} ${mode.join('')} stderr`] = result.stderr;
      for (const [path, text] of Object.entries(await filesUnder(join(root, '.aiop')))) texts[`${name}: ${path}`] = text;
    }
  }
  // The failures were real and their messages still useful.
  assert.match(texts['download 404  stderr']!, /tool-1\.tar\.gz/);
  assert.match(texts['upload 403, user/password  stderr']!, /403/);
  assert.ok(server.count('/dav/demo-1.0.0-linux-debian12-amd64.zip') >= 1 && server.count('/tok/demo-1.0.0-linux-debian12-amd64.zip') >= 1);
  const found = leaks(texts);
  recordTrial({ category: 'secret', what: 'credentials through failing downloads and uploads, server echoing Authorization', held: found.length === 0 });
  assert.deepEqual(found, []);
});
