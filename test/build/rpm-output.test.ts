import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startWebDav } from '../util/webdav.js';

const ID = 'hello-1.4.0-linux-debian12-amd64';
const DEB = 'hello_1.4.0_amd64.deb';
const RPM = 'hello-1.4.0-1.x86_64.rpm';
const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

test('--installer deb rpm makes both; --upload rpm sends the .rpm; manifest and SHA256SUMS list it', async (t) => {
  if (!requireTools(t, 'rpm', 'nginx')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const dav = await startWebDav({ user: 'ci', password: 'pw-rpm-1' });
  t.after(() => dav.stop());
  const root = await copyExample('hello', dir);
  const env = { ...isolatedEnv(dir), AIOP_UPLOAD_USER: 'ci', AIOP_UPLOAD_PASSWORD: 'pw-rpm-1' };
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb', 'rpm', '--upload', 'rpm', '--upload_url', `${dav.url}/hello`], { cwd: root, env });
  assert.equal(result.code, 0, result.stderr);
  const rpmFile = join(root, '.build', RPM);
  const q = execFileSync('rpm', ['-qip', rpmFile], { encoding: 'utf8' });
  assert.match(q, /^Architecture: x86_64$/m);
  assert.match(q, /^License\s+: MIT$/m);
  assert.match(q, /^URL\s+: https:\/\/example\.com\/hello$/m, 'url defaults to the homepage');
  assert.match(q, /^Packager\s+: Hello Team <hello@example\.com>$/m);
  assert.match(execFileSync('rpm', ['-qlp', rpmFile], { encoding: 'utf8' }), /^\/etc\/hello\/hello\.conf\n[\s\S]*^\/usr\/bin\/hello$/m);
  assert.equal(execFileSync('rpm', ['-qcp', rpmFile], { encoding: 'utf8' }), '/etc/hello/hello.conf\n');
  assert.ok((await stat(join(root, '.build', DEB))).isFile(), 'the .deb is made too');
  assert.equal(await sha256(join(dav.davRoot, 'hello', RPM)), await sha256(rpmFile), 'the .rpm arrived intact');
  const sums = await readFile(join(root, '.build/SHA256SUMS'), 'utf8');
  assert.ok(sums.includes(`${await sha256(rpmFile)}  ${RPM}\n`), sums);
  const manifest = JSON.parse(await readFile(join(root, '.build', `${ID}.manifest.json`), 'utf8')) as { outputs: Array<{ kind: string; path: string }> };
  assert.deepEqual(manifest.outputs.map((o) => o.kind), ['folder', 'deb', 'rpm']);

  const missing = await aiop(['build', 'linux', 'debian12', 'amd64', '--upload', 'rpm', '--upload_url', 'http://127.0.0.1:9/x'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--upload rpm: this build makes no \.rpm/);
  const macos = await aiop(['build', 'macos', '14', 'arm64', '--installer', 'rpm'], { cwd: root, env: isolatedEnv(dir) });
  assert.notEqual(macos.code, 0);
  assert.match(macos.stderr, /system target "macos" has no `rpm:` settings/);
});

test('two builds of the .rpm in other folders, time zones and file times give the same bytes', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const files: string[] = [];
  for (const [i, tz] of ['UTC', 'Pacific/Kiritimati'].entries()) {
    const root = await copyExample('hello', join(dir, `copy-${i}`));
    if (i === 1) {
      const when = new Date('2031-05-06T07:08:09Z');
      for (const entry of await readdir(root, { recursive: true })) await utimes(join(root, entry), when, when);
    }
    const result = await aiop(['build', 'linux', 'debian12', 'arm64', '--installer', 'rpm'], { cwd: root, env: { ...isolatedEnv(join(dir, `copy-${i}`)), TZ: tz } });
    assert.equal(result.code, 0, result.stderr);
    files.push(join(root, '.build', 'hello-1.4.0-1.aarch64.rpm'));
  }
  assert.equal(await sha256(files[0]!), await sha256(files[1]!));
});
