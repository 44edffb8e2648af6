/** gpg, dpkg-deb and apt-get helpers for the apt repository tests: everything stays in temp folders. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An ed25519 signing key made by gpg in a private home; returns the armored secret key. */
export async function gpgKey(home: string): Promise<string> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'aiop test repo <repo@example.com>', 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  return execFileSync('gpg', ['--batch', '--armor', '--export-secret-keys'], { env, encoding: 'utf8' });
}

/** A minimal .deb made by dpkg-deb (name_version_arch.deb in `dir`); returns its path. */
export async function dpkgDeb(dir: string, name: string, version: string, arch = 'all'): Promise<string> {
  const root = join(dir, `${name}-src`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await writeFile(join(root, 'DEBIAN/control'), `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: T <t@example.com>\nDescription: ${name}\n`);
  const file = join(dir, `${name}_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, file], { stdio: 'ignore' });
  return file;
}

/** A private apt configuration in `dir` (state, cache, sources.list with the one given line). */
export async function aptDir(dir: string, sourcesLine: string, netrc?: string): Promise<void> {
  for (const d of ['state/lists/partial', 'cache/archives/partial']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'state/status'), '');
  await writeFile(join(dir, 'sources.list'), `${sourcesLine}\n`);
  if (netrc !== undefined) await writeFile(join(dir, 'auth.conf'), netrc, { mode: 0o600 });
}

/** apt-get with its state, cache, lists, sources (and auth.conf, when aptDir wrote one) in `dir` only. */
export function aptGet(dir: string, args: string[]): ReturnType<typeof spawnSync> {
  const options = [
    `Dir::State=${join(dir, 'state')}`,
    `Dir::State::status=${join(dir, 'state/status')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    'Dir::Etc::SourceParts=/nonexistent',
    'Dir::Etc::Parts=/nonexistent',
    `Dir::Etc::netrc=${join(dir, 'auth.conf')}`,
    `Dir::Etc::netrcparts=/nonexistent`,
    'Debug::NoLocking=1',
    'APT::Sandbox::User=root',
    'APT::Architecture=amd64',
    'Acquire::Languages=none',
  ].flatMap((o) => ['-o', o]);
  return spawnSync('apt-get', [...options, ...args], { cwd: dir, encoding: 'utf8' });
}
