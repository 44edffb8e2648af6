import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startNginx } from '../util/nginx.js';
import { aptDir, aptGet, dpkgDeb, gpgKey } from '../util/apt.js';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

test('aiop repo apt: nginx serves it, apt-get update accepts the signature, apt-get download gets the .deb; one changed byte is refused', async (t) => {
  if (!requireTools(t, 'gpg', 'apt-get', 'nginx', 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', join(dir, 'play'));
  const env = isolatedEnv(dir);
  const built = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb'], { cwd: root, env });
  assert.equal(built.code, 0, built.stderr);
  const key = await gpgKey(join(dir, 'gnupg'));
  const keyFile = join(dir, 'signing.asc');
  await writeFile(keyFile, key, { mode: 0o600 });
  const repo = join(dir, 'www');
  const made = await aiop(['repo', 'apt', repo, '--signing_key', keyFile], { cwd: root, env });
  assert.equal(made.code, 0, made.stderr);
  const secretBody = key.split('\n').find((l) => l.length > 40)!;
  assert.ok(![made.stdout, made.stderr].some((s) => s.includes(secretBody)), 'the key is printed nowhere');
  const deb = 'hello_1.4.0_amd64.deb';
  assert.deepEqual(await readdir(join(repo, 'pool/main/h/hello')), [deb]);
  for (const f of ['dists/stable/Release', 'dists/stable/InRelease', 'dists/stable/Release.gpg', 'dists/stable/main/binary-amd64/Packages', 'dists/stable/main/binary-amd64/Packages.gz', 'key.asc']) {
    await readFile(join(repo, f));
  }
  const release = await readFile(join(repo, 'dists/stable/Release'), 'utf8');
  assert.match(release, /^SHA256:\n [0-9a-f]{64} +\d+ main\/binary-amd64\/Packages\n/m);
  assert.match(release, /^MD5Sum:\n [0-9a-f]{32} +\d+ main\/binary-amd64\/Packages\n/m);
  // gpg itself checks both signatures against the public key.
  const verifyHome = join(dir, 'verify');
  await mkdir(verifyHome, { mode: 0o700 });
  execFileSync('gpg', ['--batch', '--import', join(repo, 'key.asc')], { env: { ...process.env, GNUPGHOME: verifyHome }, stdio: 'ignore' });
  execFileSync('gpg', ['--batch', '--verify', join(repo, 'dists/stable/Release.gpg'), join(repo, 'dists/stable/Release')], { env: { ...process.env, GNUPGHOME: verifyHome }, stdio: 'ignore' });
  execFileSync('gpg', ['--batch', '--verify', join(repo, 'dists/stable/InRelease')], { env: { ...process.env, GNUPGHOME: verifyHome }, stdio: 'ignore' });

  const nginx = await startNginx({ root: repo });
  t.after(() => nginx.stop());
  const apt = join(dir, 'apt');
  await aptDir(apt, `deb [signed-by=${join(repo, 'key.asc')}] ${nginx.url}/ stable main`);
  const update = aptGet(apt, ['update']);
  assert.equal(update.status, 0, `${update.stdout}${update.stderr}`);
  assert.doesNotMatch(`${update.stdout}${update.stderr}`, /^(W|E):/m, `${update.stdout}${update.stderr}`);
  const download = aptGet(apt, ['download', 'hello']);
  assert.equal(download.status, 0, `${download.stdout}${download.stderr}`);
  assert.equal(await sha256(join(apt, deb)), await sha256(join(root, '.build', deb)), 'apt-get download fetched the same .deb');

  // One more .deb: added, the first kept. apt asks again with If-Modified-Since, and nginx's
  // Last-Modified has one-second steps: a Release rewritten within the second of the last
  // `apt-get update` would be answered 304 and the new package not seen (as with any apt server).
  await sleep(1100);
  const again = await aiop(['repo', 'apt', repo, '--deb', await dpkgDeb(dir, 'libother', '2.0')], { cwd: root, env: { ...env, AIOP_SIGNING_KEY: key } });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readdir(join(repo, 'pool/main/h/hello')), [deb]);
  assert.deepEqual(await readdir(join(repo, 'pool/main/libo/libother')), ['libother_2.0_all.deb']);
  assert.match(await readFile(join(repo, 'dists/stable/Release'), 'utf8'), /^Architectures: all amd64$/m);
  const update2 = aptGet(apt, ['update']);
  assert.equal(update2.status, 0, `${update2.stdout}${update2.stderr}`);
  const download2 = aptGet(apt, ['download', 'libother']);
  assert.equal(download2.status, 0, `${download2.stdout}${download2.stderr}`);

  // One changed byte in Packages, then in Release: apt-get update refuses.
  const packages = join(repo, 'dists/stable/main/binary-amd64/Packages');
  const text = await readFile(packages, 'utf8');
  await writeFile(packages, text.replace('Version: 1.4.0', 'Version: 1.4.1'));
  await writeFile(`${packages}.gz`, (await import('node:zlib')).gzipSync(await readFile(packages)));
  await import('node:fs/promises').then((fs) => fs.rm(join(apt, 'state/lists'), { recursive: true, force: true }));
  await mkdir(join(apt, 'state/lists/partial'), { recursive: true });
  const bad = aptGet(apt, ['update']);
  assert.notEqual(bad.status, 0, `${bad.stdout}${bad.stderr}`);
  assert.match(`${bad.stdout}${bad.stderr}`, /Hash Sum mismatch|File has unexpected size/, `${bad.stdout}${bad.stderr}`);
  await writeFile(packages, text);
  const releaseFile = join(repo, 'dists/stable/InRelease');
  const inRelease = await readFile(releaseFile, 'utf8');
  await writeFile(releaseFile, inRelease.replace('Suite: stable', 'Suite: stablf'));
  await writeFile(join(repo, 'dists/stable/Release'), release.replace('Suite: stable', 'Suite: stablf'));
  await import('node:fs/promises').then((fs) => fs.rm(join(apt, 'state/lists'), { recursive: true, force: true }));
  await mkdir(join(apt, 'state/lists/partial'), { recursive: true });
  const forged = aptGet(apt, ['update']);
  assert.notEqual(forged.status, 0, `${forged.stdout}${forged.stderr}`);
  assert.match(`${forged.stdout}${forged.stderr}`, /BADSIG|not signed|signature/i);
});

test('aiop repo apt without a key, or with a bad one, is a usage error that writes nothing', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', join(dir, 'play'));
  const env = { ...isolatedEnv(dir), AIOP_SIGNING_KEY: undefined };
  const none = await aiop(['repo', 'apt', join(dir, 'www')], { cwd: root, env });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs a signing key/);
  await writeFile(join(dir, 'bad.asc'), 'not a key SECRET-LOOKING-TEXT\n');
  const bad = await aiop(['repo', 'apt', join(dir, 'www'), '--signing_key', join(dir, 'bad.asc'), '--deb', join(dir, 'x.deb')], { cwd: root, env });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /not an armored OpenPGP private key/);
  assert.ok(!bad.stderr.includes('SECRET-LOOKING-TEXT'));
  assert.deepEqual((await readdir(dir)).sort(), ['bad.asc', 'play']);
});
