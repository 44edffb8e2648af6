import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startWebDav } from '../util/webdav.js';

const ID = 'hello-1.4.0-linux-debian12-amd64';
const DEB = 'hello_1.4.0_amd64.deb';

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

test('the example .deb passes dpkg-deb, installs with dpkg --root, and lintian finds no error', async (t) => {
  if (!requireTools(t, 'dpkg-deb', 'dpkg', 'lintian', 'unzip')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  const deb = join(root, '.build', DEB);
  const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
  for (const field of ['Package: hello', 'Version: 1.4.0', 'Architecture: amd64', 'Maintainer: Hello Team <hello@example.com>', 'Depends: sh', 'Section: utils', 'Homepage: https://example.com/hello']) {
    assert.ok(info.includes(field), `${field} in\n${info}`);
  }
  const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  for (const line of contents.trim().split('\n')) assert.match(line, /^\S+ root\/root /, line);
  assert.match(contents, /\.\/usr\/bin\/hello\n/);
  assert.match(contents, /\.\/etc\/hello\/hello\.conf\n/);

  // Install into a scratch root with its own dpkg database.
  const scratch = join(dir, 'scratch');
  await mkdir(join(scratch, 'var/lib/dpkg/updates'), { recursive: true });
  await mkdir(join(scratch, 'var/lib/dpkg/info'), { recursive: true });
  await writeFile(join(scratch, 'var/lib/dpkg/status'), '');
  execFileSync('dpkg', ['--root', scratch, '--force-not-root', '--force-script-chrootless', '--force-depends', '--log', join(dir, 'dpkg.log'), '--install', deb], { encoding: 'utf8' });
  assert.equal(((await stat(join(scratch, 'usr/bin/hello'))).mode & 0o777).toString(8), '755');
  assert.equal(((await stat(join(scratch, 'etc/hello/hello.conf'))).mode & 0o777).toString(8), '644');
  assert.ok((await stat(join(scratch, 'usr/share/doc/hello/copyright'))).isFile());

  let lintian = '';
  try {
    lintian = execFileSync('lintian', ['--no-tag-display-limit', deb], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    lintian = String((error as { stdout?: string }).stdout ?? '');
  }
  assert.doesNotMatch(lintian, /^E: /m, lintian);

  execFileSync('unzip', ['-tq', join(root, '.build', `${ID}.zip`)]);
  const sums = await readFile(join(root, '.build/SHA256SUMS'), 'utf8');
  assert.equal(sums, `${await sha256(join(root, '.build', `${ID}.zip`))}  ${ID}.zip\n${await sha256(deb)}  ${DEB}\n`);
  const manifest = JSON.parse(await readFile(join(root, '.build', `${ID}.manifest.json`), 'utf8')) as { packageId: string; outputs: Array<{ kind: string; sha256?: string }> };
  assert.equal(manifest.packageId, ID);
  assert.deepEqual(manifest.outputs.map((o) => o.kind), ['folder', 'zip', 'deb']);
});

test('zip and .deb are byte-identical across TZ, umask and wall-clock time', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const digests: string[][] = [];
  for (const [i, env] of [{ TZ: 'UTC' }, { TZ: 'Pacific/Kiritimati' }].entries()) {
    const root = await copyExample('hello', join(dir, `copy${i}`));
    if (i === 1) {
      // Different file times too: the outputs must not care.
      for (const name of await readdir(join(root, 'files'))) await writeFile(join(root, 'files', name), await readFile(join(root, 'files', name)));
      await new Promise((r) => setTimeout(r, 1100));
    }
    const umask = i === 0 ? '022' : '077';
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'], {
      cwd: root,
      env: { ...isolatedEnv(dir), ...env, SOURCE_DATE_EPOCH: undefined, NODE_OPTIONS: undefined },
      umask,
    });
    assert.equal(result.code, 0, result.stderr);
    digests.push([await sha256(join(root, '.build', `${ID}.zip`)), await sha256(join(root, '.build', DEB))]);
  }
  assert.deepEqual(digests[0], digests[1]);
});

test('--upload sends zip and .deb to a WebDAV server with Basic auth; the password is printed nowhere', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const password = 's3cret-Pa55word';
  const dav = await startWebDav({ user: 'ci', password });
  t.after(() => dav.stop());
  const root = await copyExample('hello', dir);
  const env = { ...isolatedEnv(dir), AIOP_UPLOAD_USER: 'ci', AIOP_UPLOAD_PASSWORD: password };
  const args = ['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb', '--upload', 'zip', 'deb', '--upload_url', `${dav.url}/hello`, '-v'];
  const result = await aiop(args, { cwd: root, env });
  assert.equal(result.code, 0, result.stderr);
  for (const name of [`${ID}.zip`, DEB]) {
    assert.equal(await sha256(join(dav.davRoot, 'hello', name)), await sha256(join(root, '.build', name)), `${name} arrived intact`);
  }
  const logs = await readdir(join(root, '.aiop/logs'));
  const everything = [result.stdout, result.stderr, ...(await Promise.all(logs.map((l) => readFile(join(root, '.aiop/logs', l), 'utf8'))))].join('\n');
  assert.ok(!everything.includes(password), 'the password appears nowhere');
  const mr = await aiop([...args, '--machine-readable'], { cwd: root, env });
  assert.equal(mr.code, 0, mr.stderr);
  assert.ok(!mr.stdout.includes(password) && !mr.stderr.includes(password));
  assert.match(mr.stdout, /artifact,\d+,builder-id,aiop\.upload/);

  const wrong = await aiop(args, { cwd: root, env: { ...env, AIOP_UPLOAD_PASSWORD: 'wrong' } });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /401/);
});

test('uploading what the build does not make is a usage error before anything runs', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--upload', 'deb', '--upload_url', 'http://127.0.0.1:9/x'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--installer deb/);
  await assert.rejects(stat(join(root, '.build')));
});
