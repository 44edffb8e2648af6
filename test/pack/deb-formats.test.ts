import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debFileName, writeDeb } from '../../src/pack/deb.js';
import { COMPRESSIONS } from '../../src/pack/compress.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { helloInfo, makePackage } from './fixture.js';
import { readAr } from './binary.js';

const MTIME = new Date('2023-11-14T22:13:20Z');

const RELATIONS = {
  pre_depends: ['dpkg (>= 1.19)'],
  depends: ['libc6 (>= 2.31)', 'sensible-utils | less'],
  recommends: ['ca-certificates'],
  suggests: ['bash-completion | zsh'],
  enhances: ['coreutils'],
  breaks: ['hello-old (<< 1.0)'],
  conflicts: ['hello-legacy'],
  replaces: ['hello-old (<< 1.0)'],
  provides: ['hello-greeter (= 1.4.0)', 'greeter'],
};

test('dpkg-deb -f shows every relation field given, in dpkg order', async (t) => {
  if (!requireTools(t, 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir, postinst } = await makePackage(dir);
  const info = { ...helloInfo(postinst), relations: RELATIONS };
  const deb = join(dir, debFileName(info));
  await writeDeb(pkgDir, deb, info, { mtime: MTIME });
  const field = (name: string): string => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();
  assert.equal(field('Pre-Depends'), 'dpkg (>= 1.19)');
  assert.equal(field('Depends'), 'libc6 (>= 2.31), sensible-utils | less');
  assert.equal(field('Recommends'), 'ca-certificates');
  assert.equal(field('Suggests'), 'bash-completion | zsh');
  assert.equal(field('Enhances'), 'coreutils');
  assert.equal(field('Breaks'), 'hello-old (<< 1.0)');
  assert.equal(field('Conflicts'), 'hello-legacy');
  assert.equal(field('Replaces'), 'hello-old (<< 1.0)');
  assert.equal(field('Provides'), 'hello-greeter (= 1.4.0), greeter');
  const names = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^[A-Z]/.test(l))
    .map((l) => l.slice(0, l.indexOf(':')));
  assert.deepEqual(names, [
    'Package', 'Version', 'Architecture', 'Maintainer', 'Installed-Size',
    'Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Enhances', 'Breaks', 'Conflicts', 'Replaces', 'Provides',
    'Section', 'Priority', 'Homepage', 'Description',
  ]);
});

for (const compression of COMPRESSIONS) {
  test(`compression ${compression}: dpkg-deb -x unpacks the same files and lintian finds no error`, async (t) => {
    if (!requireTools(t, 'dpkg-deb', 'lintian')) return;
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const { pkgDir, postinst } = await makePackage(dir);
    const info = helloInfo(postinst, compression);
    const deb = join(dir, debFileName(info));
    await writeDeb(pkgDir, deb, info, { mtime: MTIME });
    const data = readAr(await readFile(deb))[2]!;
    const magic = { gzip: '1f8b', xz: 'fd377a585a00', zstd: '28b52ffd', none: '' }[compression];
    assert.equal(data.body.subarray(0, magic.length / 2).toString('hex'), magic, `${data.name} starts with the ${compression} magic`);
    if (compression === 'none') assert.equal(data.body.subarray(257, 262).toString(), 'ustar');
    const out = join(dir, 'x');
    execFileSync('dpkg-deb', ['-x', deb, out]);
    assert.equal(await readFile(join(out, 'usr/bin/hello'), 'utf8'), await readFile(join(pkgDir, 'bin/hello'), 'utf8'));
    assert.equal(await readFile(join(out, 'etc/hello/hello.conf'), 'utf8'), 'greeting=Hello\n');
    assert.equal(await readFile(join(out, 'usr/share/hello/data with space.txt'), 'utf8'), 'x'.repeat(3000));
    const lintian = spawnSync('lintian', ['--no-tag-display-limit', deb], { encoding: 'utf8' });
    // The Debian archive takes only gz and xz data members: lintian says so with one tag of its
    // archive policy (dpkg itself reads all four, as dpkg-deb -x above shows). Nothing else may be an error.
    const policyTag = {
      gzip: undefined,
      xz: undefined,
      zstd: 'E: hello: malformed-deb-archive third (official) member data.tar.zst not data.tar.(gz|xz|bz2|lzma)',
      none: 'E: hello: uses-no-compression-for-data-tarball',
    }[compression];
    const errors = lintian.stdout.split('\n').filter((l) => l.startsWith('E: '));
    assert.deepEqual(errors, policyTag === undefined ? [] : [policyTag], lintian.stdout);
  });
}
