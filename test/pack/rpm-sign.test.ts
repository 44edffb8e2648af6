import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rpmFileName, writeRpm } from '../../src/pack/rpm.js';
import { loadSigningKey } from '../../src/pack/signing-key.js';
import { UsageError } from '../../src/core/errors.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { helloRpmInfo, makePackage } from './fixture.js';

const MTIME = new Date('2023-11-14T22:13:20Z');

/** A key made by gpg at a fixed time (2020-01-01): its armored secret and public keys and its long key ID. */
function gpgKey(home: string, algo: string): { secret: string; pub: string; keyId: string } {
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--faked-system-time', '20200101T000000!', '--passphrase', '', '--quick-gen-key', `aiop ${algo} <${algo}@example.com>`, algo, 'sign', 'never'], { env, stdio: 'ignore' });
  const colons = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys', `${algo}@example.com`], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const keyId = colons.split('\n').find((l) => l.startsWith('sec:'))!.split(':')[4]!.toLowerCase();
  const secret = execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys', `${algo}@example.com`], { env, encoding: 'utf8' });
  const pub = execFileSync('gpg', ['--batch', '--armor', '--export', `${algo}@example.com`], { env, encoding: 'utf8' });
  return { secret, pub, keyId };
}

/** rpm and rpmlint with their own HOME: Debian's rpm keeps its database (the keyring rpmlint checks against) in ~/.rpmdb. */
function tools(home: string): { rpm(...args: string[]): { status: number | null; out: string }; rpmlint(file: string): string[] } {
  const env = { ...process.env, HOME: home, TZ: 'UTC', LC_ALL: 'C' };
  return {
    rpm: (...args) => {
      const r = spawnSync('rpm', args, { env, encoding: 'utf8' });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    },
    rpmlint: (file) => spawnSync('rpmlint', [file], { env, encoding: 'utf8' }).stdout.split('\n').filter((l) => / [EW]: /.test(l)),
  };
}

for (const [algo, label] of [['rsa2048', 'RSA'], ['ed25519', 'EdDSA']] as const) {
  test(`.rpm signed with an ${label} key: rpm -K checks it against the imported key, rpm -qip shows it, rpmlint has no error; equal inputs give equal bytes`, async (t) => {
    if (!requireTools(t, 'rpm', 'rpmlint', 'gpg')) return;
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const gnupg = join(dir, 'gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    const key = gpgKey(gnupg, algo);
    await writeFile(join(dir, 'key.asc'), key.pub);
    const { pkgDir, postinst } = await makePackage(dir);
    const info = helloRpmInfo(postinst);
    const signingKey = await loadSigningKey(key.secret);
    const first = join(dir, 'a', rpmFileName(info));
    const second = join(dir, 'b', rpmFileName(info));
    await writeRpm(pkgDir, first, info, { mtime: MTIME, signingKey });
    await writeRpm(pkgDir, second, info, { mtime: MTIME, signingKey: await loadSigningKey(key.secret) });
    assert.ok((await readFile(first)).equals(await readFile(second)), 'same key, same inputs: same bytes');

    const home = join(dir, 'home');
    await mkdir(home);
    const { rpm, rpmlint } = tools(home);
    const short = key.keyId.slice(-8);
    const unknown = rpm('-Kv', first);
    assert.equal(unknown.status, 1, unknown.out);
    assert.match(unknown.out, new RegExp(`Header V4 ${label}/SHA\\d+ Signature, key ID ${short}: NOKEY`));
    // rpmlint checks the signature against the keys of the user's rpm database.
    assert.deepEqual(rpmlint(first).filter((l) => / E: /.test(l)), [`hello.noarch: E: unknown-key ${short}`]);

    const root = join(dir, 'root');
    assert.equal(rpm('--root', root, '--initdb').status, 0);
    assert.equal(rpm('--root', root, '--import', join(dir, 'key.asc')).status, 0);
    const checked = rpm('--root', root, '-Kv', first);
    assert.equal(checked.status, 0, checked.out);
    assert.match(checked.out, new RegExp(`Header V4 ${label}/SHA\\d+ Signature, key ID ${short}: OK\\n\\s+Header SHA256 digest: OK\\n\\s+Header SHA1 digest: OK\\n\\s+Payload SHA256 digest: OK`));
    // The signature's time is the build time (SOURCE_DATE_EPOCH rules), the key being older.
    assert.match(rpm('-qip', first).out, new RegExp(`^Signature   : ${label}/SHA\\d+, Tue Nov 14 22:13:20 2023, Key ID ${key.keyId}$`, 'm'));
    const installed = rpm('--root', root, '-i', '--nodeps', '--noscripts', first);
    assert.equal(installed.status, 0, installed.out);

    assert.equal(rpm('--import', join(dir, 'key.asc')).status, 0);
    const lint = rpmlint(first);
    assert.deepEqual(lint.filter((l) => / E: /.test(l)), [], lint.join('\n'));

    // A build time older than the key: the signature takes the key's time, which verifiers accept.
    const early = join(dir, 'early', rpmFileName(info));
    await writeRpm(pkgDir, early, info, { mtime: new Date('2019-06-01T00:00:00Z'), signingKey });
    assert.match(rpm('-qip', early).out, new RegExp(`^Signature   : ${label}/SHA\\d+, Wed Jan  1 00:00:00 2020, Key ID ${key.keyId}$`, 'm'));
    assert.equal(rpm('--root', root, '-K', early).status, 0);

    // One changed byte in the signed header is found.
    const bytes = await readFile(first);
    const at = bytes.indexOf(Buffer.from('Says hello\0'));
    bytes[at] = 0x73;
    await writeFile(join(dir, 'forged.rpm'), bytes);
    const forged = rpm('--root', root, '-Kv', join(dir, 'forged.rpm'));
    assert.equal(forged.status, 1);
    assert.match(forged.out, /Signature, key ID [0-9a-f]+: BAD/);
  });
}

test('an ECDSA key is refused for a .rpm (random signatures, and rpm 4.18 cannot import it) before anything is written', async (t) => {
  if (!requireTools(t, 'gpg')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const gnupg = join(dir, 'gnupg');
  await mkdir(gnupg, { mode: 0o700 });
  const key = await loadSigningKey(gpgKey(gnupg, 'nistp256').secret);
  assert.match(key.rpmProblem ?? '', /an ECDSA key: its signatures are random, so the \.rpm would not be reproducible, and rpm 4\.18 cannot import it/);
  const { pkgDir, postinst } = await makePackage(dir);
  const info = helloRpmInfo(postinst);
  await assert.rejects(writeRpm(pkgDir, join(dir, 'out', rpmFileName(info)), info, { mtime: MTIME, signingKey: key }), (e: unknown) => e instanceof UsageError && /RSA or Ed25519/.test(e.hint ?? ''));
  assert.deepEqual(await readdir(join(dir, 'out')).catch(() => []), []);
});
