import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, stat, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { checkDebInfo, debFileName, writeDeb, type DebInfo } from '../../src/pack/deb.js';
import type { Compression } from '../../src/pack/compress.js';
import { AiopError } from '../../src/core/errors.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { helloInfo, makePackage } from './fixture.js';
import { readAr } from './binary.js';

const MTIME = new Date('2023-11-14T22:13:20Z');

async function buildHello(dir: string, compression: Compression = 'gzip'): Promise<{ deb: string; info: DebInfo; pkgDir: string }> {
  const { pkgDir, postinst } = await makePackage(dir);
  const info = helloInfo(postinst, compression);
  const deb = join(dir, 'out', debFileName(info));
  await writeDeb(pkgDir, deb, info, { mtime: MTIME });
  return { deb, info, pkgDir };
}

/** Sum of what dpkg counts for Installed-Size, walked independently over an installed tree. */
async function dpkgSize(root: string, paths: string[]): Promise<number> {
  let kib = 0;
  for (const p of paths) {
    const st = await lstat(join(root, p));
    kib += st.isFile() ? Math.ceil(st.size / 1024) : 1;
  }
  return kib;
}

test('ar layout: debian-binary, control.tar.gz, data.tar.gz in order, zero owner and time, gzip without time or name', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { deb } = await buildHello(dir);
  assert.equal(deb.endsWith('hello_1.4.0_all.deb'), true);
  const members = readAr(await readFile(deb));
  assert.deepEqual(members.map((m) => m.name), ['debian-binary', 'control.tar.gz', 'data.tar.gz']);
  assert.equal(members[0]!.body.toString(), '2.0\n');
  for (const m of members) {
    assert.equal(m.header.slice(16, 28).trim(), '0', 'mtime 0');
    assert.equal(m.header.slice(28, 34).trim(), '0', 'uid 0');
    assert.equal(m.header.slice(34, 40).trim(), '0', 'gid 0');
    assert.equal(m.header.slice(40, 48).trim(), '100644');
  }
  for (const m of members.slice(1)) {
    assert.equal(m.body[0], 0x1f);
    assert.equal(m.body.readUInt32LE(4), 0, `${m.name}: gzip mtime is 0`);
    assert.equal(m.body[3]! & 0x08, 0, `${m.name}: gzip carries no file name`);
    gunzipSync(m.body);
  }
});

test('dpkg-deb --info shows the fields, --contents shows sorted root-owned entries with parents and symlinks', async (t) => {
  if (!requireTools(t, 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { deb } = await buildHello(dir);
  const field = (name: string): string => execFileSync('dpkg-deb', ['--field', deb, name], { encoding: 'utf8' }).trim();
  assert.equal(field('Package'), 'hello');
  assert.equal(field('Version'), '1.4.0');
  assert.equal(field('Architecture'), 'all');
  assert.equal(field('Maintainer'), 'Hello Team <hello@example.com>');
  assert.equal(field('Depends'), 'libc6 (>= 2.31), sensible-utils | less');
  assert.equal(field('Section'), 'utils');
  assert.equal(field('Priority'), 'optional');
  assert.equal(field('Homepage'), 'https://example.com/hello');
  assert.equal(field('Description'), 'Says hello\n A friendly program that prints a greeting.\n .\n It exists to test packaging.');
  const info = execFileSync('dpkg-deb', ['--info', deb], { encoding: 'utf8' });
  assert.match(info, /^\s+\d+ bytes,\s+\d+ lines\s+\*\s+postinst\s+#!\/bin\/sh$/m, 'postinst is executable');
  assert.match(info, /conffiles/);
  assert.match(info, /md5sums/);

  const lines = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).trim().split('\n');
  const names = lines.map((l) => l.split(/\s+/)[5]!);
  assert.deepEqual(names, [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  for (const l of lines) {
    assert.match(l, /^\S+ root\/root /, `root-owned: ${l}`);
    assert.match(l, / 2023-11-14 22:13 /, `fixed time: ${l}`);
  }
  for (const parent of ['./', './etc/', './usr/', './usr/share/', './usr/share/doc/', './usr/share/hello/empty/']) assert.ok(names.includes(parent), parent);
  assert.ok(lines.some((l) => l.startsWith('lrwxrwxrwx') && l.endsWith('./usr/bin/hi -> hello')));
  assert.ok(lines.some((l) => l.startsWith('-rwxr-xr-x') && l.endsWith('./usr/bin/hello')));
  assert.ok(lines.some((l) => l.startsWith('-rw-r--r--') && l.endsWith('./etc/hello/hello.conf')), 'a 0600 file is packed 0644');
});

for (const compression of ['gzip', 'xz', 'zstd', 'none'] as const) {
  test(`dpkg --root installs the ${compression} package: files under the prefix with their modes, postinst ran, md5sums hold`, async (t) => {
    if (!requireTools(t, 'dpkg', 'dpkg-deb')) return;
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const { deb } = await buildHello(dir, compression);
    const members = readAr(await readFile(deb));
    assert.equal(members[2]!.name, { gzip: 'data.tar.gz', xz: 'data.tar.xz', zstd: 'data.tar.zst', none: 'data.tar' }[compression]);
    const root = join(dir, 'root');
    const admin = join(root, 'var/lib/dpkg');
    await mkdir(join(admin, 'updates'), { recursive: true });
    await mkdir(join(admin, 'info'), { recursive: true });
    await writeFile(join(admin, 'status'), '');
    const result = spawnSync(
      'dpkg',
      [
        `--root=${root}`,
        `--admindir=${admin}`,
        `--log=${join(dir, 'dpkg.log')}`,
        '--force-not-root',
        '--force-script-chrootless',
        '--force-depends',
        '--force-unsafe-io',
        '--install',
        deb,
      ],
      { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } },
    );
    assert.equal(result.status, 0, `dpkg failed: ${result.stderr}`);
    assert.equal((await stat(join(root, 'usr/bin/hello'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(root, 'etc/hello/hello.conf'))).mode & 0o7777, 0o644);
    assert.equal(await readFile(join(root, 'etc/hello/hello.conf'), 'utf8'), 'greeting=Hello\n');
    assert.equal(await readlink(join(root, 'usr/bin/hi')), 'hello');
    assert.ok((await stat(join(root, 'usr/share/hello/empty'))).isDirectory(), 'empty folder installed');
    assert.equal(await readFile(join(root, 'var/lib/hello/configured'), 'utf8'), 'configured\n', 'postinst ran');
    const status = await readFile(join(admin, 'status'), 'utf8');
    assert.match(status, /^Status: install ok installed$/m);
    assert.match(status, /^Conffiles:\n \/etc\/hello\/hello\.conf [0-9a-f]{32}$/m);
    // md5sums as dpkg installed them verify against the unpacked files.
    const md5 = spawnSync('md5sum', ['-c', join(admin, 'info/hello.md5sums')], { cwd: root, encoding: 'utf8' });
    assert.equal(md5.status, 0, md5.stdout + md5.stderr);
    assert.match(md5.stdout, /usr\/bin\/hello: OK/);
    // Installed-Size as dpkg computes it: each file in KiB rounded up, 1 per other object.
    const list = (await readFile(join(admin, 'info/hello.list'), 'utf8')).trim().split('\n').filter((p) => p !== '/.');
    const field = status.match(/^Installed-Size: (\d+)$/m)![1];
    assert.equal(Number(field), await dpkgSize(root, list));
  });
}

test('lintian reports no error on a realistic package', async (t) => {
  if (!requireTools(t, 'lintian')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { deb } = await buildHello(dir);
  const result = spawnSync('lintian', ['--allow-root', '--display-info', '--tag-display-limit', '0', deb], { encoding: 'utf8' });
  assert.equal(result.status, 0, `lintian failed: ${result.stdout}${result.stderr}`);
  const problems = result.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.deepEqual(problems, [], 'no error and no warning');
  // The two info tags are the fixture's deliberate empty folder and data file (see docs/outputs.md).
  assert.match(result.stdout, /^I: hello: package-contains-empty-directory/m, 'lintian really looked at the package');
});

test('invalid names, versions, architectures, conffiles and paths are caught before anything is written', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir, postinst } = await makePackage(dir);
  const good = helloInfo(postinst);
  assert.deepEqual(checkDebInfo(good), []);
  assert.deepEqual(checkDebInfo({ ...good, version: '2:1.0-1ubuntu1~ppa1' }), []);
  const cases: Array<[Partial<DebInfo>, RegExp]> = [
    [{ name: 'Hello' }, /package name "Hello"/],
    [{ name: 'h' }, /package name "h"/],
    [{ version: 'v1.0' }, /must start with a digit/],
    [{ version: '1.0 beta' }, /characters/],
    [{ architecture: 'x86_64' }, /architecture "x86_64"/],
    [{ architecture: 'any' }, /architecture "any"/],
    [{ maintainer: 'nobody' }, /maintainer "nobody"/],
    [{ description: '\nno summary' }, /summary/],
    [{ conffiles: ['share/hello/data with space.txt'] }, /must land under \/etc/],
    [{ conffiles: ['../etc/passwd'] }, /without "\.\."/],
    [{ installPrefix: 'usr' }, /install prefix/],
    [{ installPrefix: '/opt/../etc' }, /install prefix/],
    [{ installMap: { '../x': '/etc' } }, /install_map key/],
    [{ relations: { depends: ['libc6 (>= 2.31)\nEvil: yes'] } }, /dependency/],
    [{ relations: { conflicts: ['a | b'] } }, /conflicts relation "a \| b" has alternatives/],
    [{ relations: { provides: ['mta (>= 1)'] } }, /provides relation/],
    [{ priority: 'urgent' }, /priority "urgent"/],
    [{ homepage: 'ftp://x' }, /homepage/],
  ];
  for (const [change, pattern] of cases) {
    const problems = checkDebInfo({ ...good, ...change });
    assert.ok(problems.some((p) => pattern.test(p)), `${JSON.stringify(change)} -> ${JSON.stringify(problems)}`);
    const out = join(dir, 'bad.deb');
    await assert.rejects(writeDeb(pkgDir, out, { ...good, ...change }, { mtime: MTIME }), (e: unknown) => e instanceof AiopError && e.reason === 'pack' && pattern.test(e.message));
  }
  // A script without an interpreter line, and a conffile that is not in the package.
  const noShebang = join(dir, 'scripts', 'bad');
  await writeFile(noShebang, 'echo hi\n');
  await assert.rejects(writeDeb(pkgDir, join(dir, 'bad.deb'), { ...good, scripts: { postinst: noShebang } }, { mtime: MTIME }), /must start with "#!"/);
  await assert.rejects(writeDeb(pkgDir, join(dir, 'bad.deb'), { ...good, conffiles: ['etc/hello/missing.conf'] }, { mtime: MTIME }), /not a regular file/);
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.deb') || n.includes('.tmp-')), []);
});

test('debFileName drops the epoch, as dpkg-name does', () => {
  const info = { name: 'hello', version: '1:2.0-1', architecture: 'amd64' } as DebInfo;
  assert.equal(debFileName(info), 'hello_2.0-1_amd64.deb');
});

test('long and non-ASCII paths and long symlink targets survive (PAX records), read back by dpkg-deb and GNU tar', async (t) => {
  if (!requireTools(t, 'dpkg-deb', 'tar')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const pkgDir = join(dir, 'pkg');
  const longDir = `share/${'d'.repeat(60)}/${'e'.repeat(60)}`;
  const longFile = `${longDir}/${'f'.repeat(80)}.txt`;
  await mkdir(join(pkgDir, longDir), { recursive: true });
  await writeFile(join(pkgDir, longFile), 'long\n');
  await writeFile(join(pkgDir, 'share/grüße-données.txt'), 'unicode\n');
  const { symlink } = await import('node:fs/promises');
  await symlink(`${'e'.repeat(60)}/../${'e'.repeat(60)}/${'f'.repeat(80)}.txt`, join(pkgDir, `share/${'d'.repeat(60)}/link`));
  const info: DebInfo = {
    name: 'longnames',
    version: '0.1',
    maintainer: 'T <t@example.com>',
    description: 'Long names',
    architecture: 'all',
    installPrefix: '/usr',
    compression: 'gzip',
  };
  const deb = join(dir, debFileName(info));
  await writeDeb(pkgDir, deb, info, { mtime: MTIME });
  const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  assert.ok(contents.includes(`./usr/${longFile}`), contents);
  assert.ok(contents.includes('./usr/share/grüße-données.txt'));
  const out = join(dir, 'x');
  execFileSync('dpkg-deb', ['-x', deb, out]);
  assert.equal(await readFile(join(out, 'usr', longFile), 'utf8'), 'long\n');
  assert.equal(await readFile(join(out, 'usr/share/grüße-données.txt'), 'utf8'), 'unicode\n');
  assert.equal(await readFile(join(out, `usr/share/${'d'.repeat(60)}/link`), 'utf8'), 'long\n', 'long symlink target kept');
  const listing = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -tvf -', deb], { encoding: 'utf8' });
  assert.doesNotMatch(listing, /PaxHeader/, 'PAX headers are read as metadata, not files');
});
