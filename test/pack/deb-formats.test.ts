import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debCompressionWarning, debFileName, writeDeb } from '../../src/pack/deb.js';
import { COMPRESSIONS } from '../../src/pack/compress.js';
import { requireTools } from '../util/tools.js';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
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
  test(`compression ${compression}: dpkg-deb -x unpacks the same files; lintian's every tag`, async (t) => {
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
    // Every tag lintian has, down to information and pedantic ones.
    const lintian = spawnSync('lintian', ['--tag-display-limit', '0', '--display-info', '--pedantic', '--display-experimental', deb], { encoding: 'utf8' });
    const tags = lintian.stdout.split('\n').filter((l) => /^[A-Z]: /.test(l));
    // dpkg reads all four (dpkg-deb -x above); lintian follows the Debian archive, which takes
    // only gz and xz data members, with one error for each of the other two.
    const policy = {
      gzip: [],
      xz: [],
      zstd: ['E: hello: malformed-deb-archive third (official) member data.tar.zst not data.tar.(gz|xz|bz2|lzma)'],
      none: ['E: hello: uses-no-compression-for-data-tarball'],
    }[compression];
    assert.deepEqual(tags, [
      ...policy,
      // The fixture's own content, the same for every compression.
      'I: hello: package-contains-documentation-outside-usr-share-doc [usr/share/hello/data with space.txt]',
      'I: hello: package-contains-empty-directory [usr/share/hello/empty/]',
    ], lintian.stdout);
    assert.equal(debCompressionWarning(compression) === undefined, policy.length === 0, 'aiop warns exactly where lintian has an error');
  });
}

test('aiop validate and the build warn about a .deb compression that lintian refuses, at its line, and still succeed', async (t) => {
  if (!requireTools(t, 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const file = join(root, '.aiop/inventory_config.yml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('      priority: optional\n', '      priority: optional\n      compression: zstd\n'));
  const line = text.slice(0, text.indexOf('      priority: optional\n')).split('\n').length + 1;
  const env = isolatedEnv(dir);
  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stderr, new RegExp(`^aiop: warning: \\.aiop/inventory_config\\.yml:${line}:20: deb settings of "linux": compression zstd: dpkg 1\\.21\\.18 and later read it \\(Debian 12, Ubuntu\\), but older dpkg cannot, lintian reports "E: malformed-deb-archive"`, 'm'));
  const machine = await aiop(['validate', '--machine-readable'], { cwd: root, env });
  assert.equal(machine.code, 0);
  assert.match(machine.stdout, new RegExp(`^\\d+,,error-count,0\n\\d+,\\.aiop/inventory_config\\.yml,warning,\\.aiop/inventory_config\\.yml:${line}:20: deb settings of "linux": compression zstd`));
  const build = await aiop(['build', 'linux', 'debian12', 'amd64', '--installer', 'deb'], { cwd: root, env });
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stderr, /hello_1\.4\.0_amd64\.deb: compression zstd: dpkg 1\.21\.18 and later read it/);
  execFileSync('dpkg-deb', ['-x', join(root, '.build/hello_1.4.0_amd64.deb'), join(dir, 'x')]);
});
