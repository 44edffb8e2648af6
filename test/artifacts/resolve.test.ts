import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { posix } from 'node:path';
import { resolveArtifacts, normalizeDest, defaultCacheDir, archiveKindOf } from '../../src/artifacts/index.js';
import { safeComponents, symlinkStaysInside } from '../../src/artifacts/extract/index.js';
import { AiopError } from '../../src/core/errors.js';
import type { ArtifactConfig } from '../../src/playbook/schema.js';

const HEX = 'a'.repeat(64);
const expandWith = (vars: Record<string, string>) => (text: string) => text.replace(/\$\{(\w+)\}/g, (_, k: string) => vars[k] ?? `<${k}?>`);

test('resolveArtifacts applies `when`, expands variables and turns sha256 into SRI', () => {
  const configs: ArtifactConfig[] = [
    { name: 'jq', url: 'https://example.com/jq-${arch}.tar.gz', sha256: HEX, when: { arch: 'amd64' }, extract: true, strip_components: 1, dest: 'bin/', mode: '0755' },
    { name: 'arm', url: 'https://example.com/arm.bin', sha256: HEX, when: { arch: ['arm64', 'armhf'] } },
    { name: 'both', url: 'https://example.com/${distro}/x.zip', integrity: 'sha512-AAAA', when: { arch: ['amd64', 'arm64'], distro: 'debian12' }, dest: 'opt/${distro}' },
    { name: 'always', url: 'file:///srv/a.txt', sha256: HEX },
  ];
  const values = { arch: 'amd64', distro: 'debian12' };
  const resolved = resolveArtifacts(configs, values, expandWith(values));
  assert.deepEqual(resolved, [
    { name: 'jq', url: 'https://example.com/jq-amd64.tar.gz', integrity: `sha256-${Buffer.from(HEX, 'hex').toString('base64')}`, digestForm: 'hex', extract: true, stripComponents: 1, dest: 'bin/', mode: 0o755 },
    { name: 'both', url: 'https://example.com/debian12/x.zip', integrity: 'sha512-AAAA', extract: false, stripComponents: 0, dest: 'opt/debian12' },
    { name: 'always', url: 'file:///srv/a.txt', integrity: `sha256-${Buffer.from(HEX, 'hex').toString('base64')}`, digestForm: 'hex', extract: false, stripComponents: 0, dest: '' },
  ]);
  assert.deepEqual(resolveArtifacts(undefined, values, expandWith(values)), []);
  // A compatibility name the target lacks never matches.
  assert.deepEqual(resolveArtifacts([configs[1]!], {}, expandWith({})), []);
});

test('resolveArtifacts refuses a dest outside the package and extraction of unknown formats', () => {
  const base = { name: 'x', url: 'https://e.com/x.bin', sha256: HEX };
  for (const dest of ['../up', '/abs', 'a/../../b', 'a\\b']) {
    assert.throws(() => resolveArtifacts([{ ...base, dest }], {}, (s) => s), (e: AiopError) => e.reason === 'config' && e.message.includes(dest));
  }
  assert.throws(() => resolveArtifacts([{ ...base, extract: true }], {}, (s) => s), /cannot extract https:\/\/e\.com\/x\.bin/);
  assert.throws(
    () => resolveArtifacts([{ ...base, integrity: `sha256-${Buffer.alloc(32).toString('base64')}` }], {}, (s) => s),
    /disagree/,
  );
});

test('archive kinds are read from the URL path, ignoring the query', () => {
  assert.equal(archiveKindOf('https://e.com/a.tar.gz?x=1'), 'tar.gz');
  assert.equal(archiveKindOf('https://e.com/a.TGZ'), 'tar.gz');
  assert.equal(archiveKindOf('https://e.com/a.tar.xz'), 'tar.xz');
  assert.equal(archiveKindOf('file:///a.zip#frag'), 'zip');
  assert.equal(archiveKindOf('https://e.com/zip?f=a.zip'), undefined);
});

test('defaultCacheDir follows XDG_CACHE_HOME, else ~/.cache', () => {
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }), '/x/cache/aiop');
  assert.equal(defaultCacheDir({ HOME: '/home/u' }), '/home/u/.cache/aiop');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/u' }), '/home/u/.cache/aiop');
});

const segment = fc.constantFrom('a', 'b', '..', '.', '', 'c d', 'é');
const pathArb = fc.array(segment, { maxLength: 6 }).map((parts) => parts.join('/'));

test('property: an accepted dest or entry name never leaves its root', () => {
  fc.assert(
    fc.property(pathArb, fc.boolean(), (path, absolute) => {
      const text = absolute ? `/${path}` : path;
      let dest: string | undefined;
      try {
        dest = normalizeDest(text, 'p');
      } catch {
        dest = undefined;
      }
      if (dest !== undefined) {
        const resolved = posix.normalize(posix.join('/root', dest));
        assert.ok(resolved === '/root' || resolved.startsWith('/root/'), `${text} -> ${resolved}`);
      }
      let parts: string[] | undefined;
      try {
        parts = safeComponents(text, 'a.tar');
      } catch {
        parts = undefined;
      }
      if (parts !== undefined) {
        const resolved = posix.normalize(posix.join('/root', ...parts));
        assert.ok(resolved === '/root' || resolved.startsWith('/root/'), `${text} -> ${resolved}`);
      }
    }),
  );
});

test('symlink targets are judged through the other symlinks of the archive', () => {
  const links = new Map([
    ['up', '..'],
    ['here', '.'],
    ['deep', 'a/b/c'],
  ]);
  assert.equal(symlinkStaysInside('x', 'a/b', links), true);
  assert.equal(symlinkStaysInside('d/x', '../y', links), true);
  assert.equal(symlinkStaysInside('d/x', '../../y', links), false);
  assert.equal(symlinkStaysInside('x', 'here/..', links), false);
  assert.equal(symlinkStaysInside('x', 'deep/../../..', links), true);
  assert.equal(symlinkStaysInside('x', 'deep/../../../..', links), false);
  assert.equal(symlinkStaysInside('x', 'up', links), false);
  assert.equal(symlinkStaysInside('x', '/etc', links), false);
  // A loop is refused, not followed forever.
  assert.equal(symlinkStaysInside('x', 'l1/y', new Map([['l1', 'l2'], ['l2', 'l1']])), false);
});
