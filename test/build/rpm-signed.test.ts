import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';

const RPM = 'hello-1.4.0-1.x86_64.rpm';

function gpgKey(home: string, uid: string): { secret: string; fingerprint: string } {
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--faked-system-time', '20200101T000000!', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  const colons = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys', uid], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const fingerprint = colons.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  return { secret: execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys', uid], { env, encoding: 'utf8' }), fingerprint };
}

/** Every file under `dir` whose bytes contain `needle`. */
async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(needle)) out.push(path);
  }
  return out;
}

test('aiop build --installer rpm --signing_key FILE (or AIOP_SIGNING_KEY) signs the .rpm; the key is never printed, logged or stored', async (t) => {
  if (!requireTools(t, 'rpm', 'gpg')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const gnupg = join(dir, 'gnupg');
  await mkdir(gnupg, { mode: 0o700 });
  const one = gpgKey(gnupg, 'one <one@example.com>');
  const two = gpgKey(gnupg, 'two <two@example.com>');
  const keys = join(dir, 'keys');
  await mkdir(keys);
  await writeFile(join(keys, 'signing.asc'), one.secret, { mode: 0o600 });
  const root = await copyExample('hello', join(dir, 'play'));
  const env = { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
  const rpmFile = join(root, '.build', RPM);
  const signature = (): string => /^Signature\s+: (.*)$/m.exec(execFileSync('rpm', ['-qip', rpmFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } }))![1]!;

  const unsigned = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm'], { cwd: root, env });
  assert.equal(unsigned.code, 0, unsigned.stderr);
  assert.equal(signature(), '(none)', 'no key: an unsigned .rpm, as before');

  // Past the racy second of the key file, so that the no-op record of the next build can trust its stamp.
  await setTimeout(1100);
  // The file is named relative to where the command is typed.
  const signed = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm', '--signing_key', '../../keys/signing.asc', '--verbose'], { cwd: root, env });
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stderr, new RegExp(`Wrote .*${RPM.replace(/\./g, '\\.')}, signed with key ${one.fingerprint}`));
  assert.equal(signature(), `EdDSA/SHA512, Tue Nov 14 22:13:20 2023, Key ID ${one.fingerprint.slice(-16).toLowerCase()}`);
  const signedBytes = await readFile(rpmFile);

  // Another key in the same file is another build: neither the pack record nor the no-op record
  // of the last one answers it (that record is written a quiet second after the .rpm, so that
  // its stamps could prove something).
  await setTimeout(1100);
  const again = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm', '--signing_key', '../../keys/signing.asc'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  await writeFile(join(keys, 'signing.asc'), two.secret);
  const rekeyed = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm', '--signing_key', '../../keys/signing.asc'], { cwd: root, env });
  assert.equal(rekeyed.code, 0, rekeyed.stderr);
  assert.match(signature(), new RegExp(`Key ID ${two.fingerprint.slice(-16).toLowerCase()}$`));

  const fromEnv = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm'], { cwd: root, env: { ...env, AIOP_SIGNING_KEY: one.secret } });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.match(signature(), new RegExp(`Key ID ${one.fingerprint.slice(-16).toLowerCase()}$`));
  assert.ok((await readFile(rpmFile)).equals(signedBytes), 'the same key from the environment, in another process: the same bytes');

  // The secret key material appears nowhere but in the key file and gpg's own folder.
  const secretLine = one.secret.split('\n').filter((l) => /^[A-Za-z0-9+/]{40,}$/.test(l))[3]!;
  for (const output of [unsigned, signed, again, rekeyed, fromEnv]) assert.ok(!`${output.stdout}${output.stderr}`.includes(secretLine));
  assert.deepEqual(await filesHolding(root, secretLine), []);

  const noRpm = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb', '--signing_key', '../../keys/signing.asc'], { cwd: root, env });
  assert.equal(noRpm.code, 2);
  assert.match(noRpm.stderr, /--signing_key needs --installer rpm/);
  await writeFile(join(keys, 'bad.asc'), 'not a key SECRET-LOOKING-TEXT\n');
  const bad = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'rpm', '--signing_key', join(keys, 'bad.asc')], { cwd: root, env });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /not an armored OpenPGP private key/);
  assert.ok(!bad.stderr.includes('SECRET-LOOKING-TEXT'));
});
