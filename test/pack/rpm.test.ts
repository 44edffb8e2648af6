import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRpmInfo, rpmArchitecture, rpmFileName, writeRpm } from '../../src/pack/rpm.js';
import { AiopError } from '../../src/core/errors.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { helloRpmInfo, makePackage } from './fixture.js';

const MTIME = new Date('2023-11-14T22:13:20Z');
const rpm = (...args: string[]): string => execFileSync('rpm', args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });

for (const compression of ['gzip', 'xz', 'zstd'] as const) {
  test(`${compression} .rpm: rpm -K, -qip, -qlp and the relations show the playbook's fields and files; rpmlint finds no error but the missing signature`, async (t) => {
    if (!requireTools(t, 'rpm', 'rpmlint')) return;
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const { pkgDir, postinst } = await makePackage(dir);
    const info = helloRpmInfo(postinst, compression);
    const file = join(dir, rpmFileName(info));
    await writeRpm(pkgDir, file, info, { mtime: MTIME });
    assert.equal(file.endsWith('hello-1.4.0-1.noarch.rpm'), true);
    assert.deepEqual((await readFile(file)).subarray(0, 4), Buffer.from([0xed, 0xab, 0xee, 0xdb]));
    assert.match(rpm('-K', '-v', file), /Header SHA256 digest: OK[\s\S]*Payload SHA256 digest: OK/);
    const q = rpm('-qip', file);
    for (const line of [/^Name\s+: hello$/m, /^Version\s+: 1\.4\.0$/m, /^Release\s+: 1$/m, /^Architecture: noarch$/m, /^Group\s+: Applications\/System$/m, /^License\s+: MIT$/m,
      /^Build Date\s+: Tue Nov 14 22:13:20 2023$/m, /^Packager\s+: Hello Team <hello@example\.com>$/m, /^URL\s+: https:\/\/example\.com\/hello$/m, /^Summary\s+: Says hello$/m,
      /^Description :\nA friendly program that prints a greeting\.\n\nIt exists to test packaging\.$/m]) {
      assert.match(q, line, q);
    }
    const files = rpm('-qlp', file).trim().split('\n');
    assert.deepEqual(files, [
      '/etc/hello', '/etc/hello/hello.conf', '/usr/bin/hello', '/usr/bin/hi', '/usr/share/doc/hello', '/usr/share/doc/hello/changelog.gz',
      '/usr/share/doc/hello/copyright', '/usr/share/hello', '/usr/share/hello/data with space.txt', '/usr/share/hello/empty',
      '/usr/share/man/man1/hello.1.gz', '/usr/share/man/man1/hi.1.gz',
    ]);
    assert.equal(rpm('-qcp', file), '/etc/hello/hello.conf\n');
    assert.equal(rpm('-qp', '--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\n]', file).split('\n').find((l) => l.endsWith('hello.conf')), 'cn /etc/hello/hello.conf');
    assert.match(rpm('-qp', '--requires', file), /^glibc >= 2\.31\ncoreutils\n\/bin\/sh\n/);
    assert.equal(rpm('-qp', '--provides', file), 'greeter = 1.4.0\nhello = 1.4.0-1\n');
    assert.equal(rpm('-qp', '--conflicts', file), 'hello-legacy\n');
    assert.equal(rpm('-qp', '--obsoletes', file), 'hello-old < 1.0\n');
    assert.equal(rpm('-qp', '--recommends', file), 'less\n');
    assert.equal(rpm('-qp', '--suggests', file), 'zsh\n');
    assert.equal(rpm('-qp', '--qf', '%{PAYLOADCOMPRESSOR}', file), compression);
    assert.match(rpm('-qp', '--scripts', file), /^postinstall scriptlet \(using \/bin\/sh\):\n#!\/bin\/sh\nset -e/m);
    const lint = spawnSync('rpmlint', [file], { encoding: 'utf8' });
    const errors = lint.stdout.split('\n').filter((l) => / E: /.test(l));
    // rpmlint counts every unsigned package as an error, rpmbuild's too; a signed one has none (rpm-sign.test.ts).
    assert.deepEqual(errors, ['hello.noarch: E: no-signature'], lint.stdout);
  });
}

test('rpm --root R -i installs the .rpm: files land under the prefix and install_map, with their modes and symlinks', async (t) => {
  if (!requireTools(t, 'rpm')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir, postinst } = await makePackage(dir);
  const info = { ...helloRpmInfo(postinst), installPrefix: '/opt/hello' };
  const file = join(dir, rpmFileName(info));
  await writeRpm(pkgDir, file, info, { mtime: MTIME });
  const root = join(dir, 'root');
  rpm('--root', root, '--initdb');
  const result = spawnSync('rpm', ['--root', root, '-i', '--nodeps', '--noscripts', file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal((await stat(join(root, 'opt/hello/bin/hello'))).mode & 0o7777, 0o755);
  assert.equal(await readFile(join(root, 'opt/hello/bin/hello'), 'utf8'), await readFile(join(pkgDir, 'bin/hello'), 'utf8'));
  assert.equal((await stat(join(root, 'etc/hello/hello.conf'))).mode & 0o7777, 0o644, 'a 0600 file is packed 0644');
  assert.equal(await readFile(join(root, 'etc/hello/hello.conf'), 'utf8'), 'greeting=Hello\n');
  assert.equal(await readlink(join(root, 'opt/hello/bin/hi')), 'hello');
  assert.ok((await lstat(join(root, 'opt/hello/share/hello/empty'))).isDirectory());
  assert.deepEqual(await readdir(join(root, 'opt/hello/share/hello')), ['data with space.txt', 'empty']);
  assert.equal(rpm('--root', root, '-q', 'hello'), 'hello-1.4.0-1.noarch\n');
  const verify = spawnSync('rpm', ['--root', root, '-V', '--nodeps', 'hello'], { encoding: 'utf8' });
  assert.equal(verify.stdout, '', 'rpm -V finds every file as packed');
});

test('architectures are spelled as rpm does; bad settings are refused before anything is written', async () => {
  assert.equal(rpmArchitecture('amd64'), 'x86_64');
  assert.equal(rpmArchitecture('arm64'), 'aarch64');
  assert.equal(rpmArchitecture('all'), 'noarch');
  assert.equal(rpmArchitecture('riscv64'), 'riscv64');
  const { dir, cleanup } = await tempDir();
  try {
    const { pkgDir, postinst } = await makePackage(dir);
    const good = helloRpmInfo(postinst);
    assert.deepEqual(checkRpmInfo(good), []);
    const cases: Array<[object, RegExp]> = [
      [{ version: '1.0-beta' }, /version "1\.0-beta"/],
      [{ release: '' }, /release ""/],
      [{ license: ' ' }, /license/],
      [{ architecture: 'x86-64' }, /architecture/],
      [{ relations: { requires: ['glibc >>= 2'] } }, /requires relation/],
      [{ configFiles: ['../etc/passwd'] }, /config file/],
      [{ compression: 'none' }, /compression none/],
    ];
    for (const [change, pattern] of cases) {
      await assert.rejects(writeRpm(pkgDir, join(dir, 'bad.rpm'), { ...good, ...change }, { mtime: MTIME }), (e: unknown) => e instanceof AiopError && e.reason === 'pack' && pattern.test(e.message));
    }
    await assert.rejects(writeRpm(pkgDir, join(dir, 'bad.rpm'), { ...good, configFiles: ['etc/missing.conf'] }, { mtime: MTIME }), /not a regular file/);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.rpm') || n.includes('.tmp-')), []);
  } finally {
    await cleanup();
  }
});
