import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeZip } from '../../src/pack/zip.js';
import { AiopError } from '../../src/core/errors.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { makePackage } from './fixture.js';
import { dosToIso, readZipCentral } from './binary.js';

const MTIME = new Date('2023-11-14T22:13:20Z');

test('zip passes unzip -t, lists sorted entries under the top folder with the fixed UTC time', async (t) => {
  if (!requireTools(t, 'unzip', 'zipinfo')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir } = await makePackage(dir);
  const zip = join(dir, 'hello.zip');
  await writeZip(pkgDir, zip, { topFolder: 'hello-1.4.0', mtime: MTIME });

  assert.match(execFileSync('unzip', ['-t', zip], { encoding: 'utf8' }), /No errors detected/);
  const names = execFileSync('zipinfo', ['-1', zip], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(names[0], 'hello-1.4.0/');
  assert.ok(names.every((n) => n.startsWith('hello-1.4.0/')));
  const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(names, sorted);
  assert.ok(names.includes('hello-1.4.0/share/hello/empty/'), 'empty folders are kept');
  // zipinfo -T prints the DOS time as yyyymmdd.hhmmss; read in UTC it must be the source date's UTC fields.
  const listing = execFileSync('zipinfo', ['-T', '-l', zip], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  const entryLines = listing.split('\n').filter((l) => l.includes('hello-1.4.0/'));
  assert.equal(entryLines.length, names.length);
  for (const line of entryLines) assert.match(line, / 20231114\.221320 /);
});

test('zip modes are 0644/0755, symlinks stay symlinks, no extra fields', async (t) => {
  if (!requireTools(t, 'unzip')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir } = await makePackage(dir);
  // A link pointing out of the package must be stored as a link, not followed and copied.
  await writeFile(join(dir, 'secret.txt'), 'outside');
  await symlink('../../secret.txt', join(pkgDir, 'share/outside-link'));
  const zip = join(dir, 'hello.zip');
  await writeZip(pkgDir, zip, { topFolder: 'top', mtime: MTIME });

  const central = readZipCentral(await readFile(zip));
  for (const entry of central) {
    assert.equal(entry.extraLength, 0, `${entry.name} has no extra field`);
    const mode = entry.externalAttributes >>> 16;
    const type = mode & 0o170000;
    if (type === 0o100000) assert.ok((mode & 0o7777) === 0o644 || (mode & 0o7777) === 0o755, `${entry.name} mode ${mode.toString(8)}`);
    if (type === 0o040000) assert.equal(mode & 0o7777, 0o755);
  }
  const mode = (name: string): number => central.find((e) => e.name === name)!.externalAttributes >>> 16;
  assert.equal(mode('top/bin/hello'), 0o100755);
  assert.equal(mode('top/etc/hello/hello.conf'), 0o100644, 'a 0600 file is stored 0644');
  assert.equal(mode('top/bin/hi'), 0o120777);

  const out = join(dir, 'unpacked');
  await mkdir(out);
  execFileSync('unzip', ['-q', zip, '-d', out]);
  assert.ok((await lstat(join(out, 'top/bin/hi'))).isSymbolicLink());
  assert.equal(await readlink(join(out, 'top/bin/hi')), 'hello');
  assert.equal(await readlink(join(out, 'top/share/outside-link')), '../../secret.txt');
  assert.equal((await stat(join(out, 'top/bin/hello'))).mode & 0o777, 0o755);
});

test('DOS time is the UTC time in any time zone, even inside a daylight-saving gap', async (t) => {
  const { dir, cleanup } = await tempDir();
  const savedTz = process.env.TZ;
  t.after(async () => {
    process.env.TZ = savedTz;
    if (savedTz === undefined) delete process.env.TZ;
    await cleanup();
  });
  const pkgDir = join(dir, 'pkg');
  await mkdir(pkgDir);
  await writeFile(join(pkgDir, 'a.txt'), 'a');
  let n = 0;
  for (const tz of ['America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Pacific/Chatham']) {
    process.env.TZ = tz;
    // 02:30 UTC on the day New York skips 02:00-03:00 local: the local-date trick alone would fail here.
    const samples = [new Date('2024-03-10T02:30:00Z'), new Date('2024-03-31T02:30:10Z')];
    await fc.assert(
      fc.asyncProperty(fc.date({ min: new Date('1980-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true }), async (mtime) => {
        const zip = join(dir, `t${n++}.zip`);
        await writeZip(pkgDir, zip, { topFolder: 'top', mtime });
        const want = new Date(Math.floor(mtime.getTime() / 2000) * 2000).toISOString().slice(0, 19);
        for (const entry of readZipCentral(await readFile(zip))) {
          assert.equal(dosToIso(entry.date, entry.time), want);
          assert.equal(dosToIso(entry.localDate, entry.localTime), want, 'local header agrees with the central directory');
        }
      }),
      { numRuns: 25, examples: samples.map((s) => [s]) },
    );
  }
});

test('dates before 1980 are clamped to 1980-01-01, a bad top folder is refused', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const pkgDir = join(dir, 'pkg');
  await mkdir(pkgDir);
  await writeFile(join(pkgDir, 'a.txt'), 'a');
  const zip = join(dir, 'old.zip');
  await writeZip(pkgDir, zip, { topFolder: 'top', mtime: new Date(0) });
  for (const entry of readZipCentral(await readFile(zip))) assert.equal(dosToIso(entry.date, entry.time), '1980-01-01T00:00:00');
  await assert.rejects(writeZip(pkgDir, join(dir, 'bad.zip'), { topFolder: '../x', mtime: new Date(0) }), (e: unknown) => e instanceof AiopError && e.reason === 'pack');
  await assert.rejects(stat(join(dir, 'bad.zip')));
});

test('a missing package folder is a pack error and leaves no file behind', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const zip = join(dir, 'none.zip');
  await assert.rejects(writeZip(join(dir, 'missing'), zip, { topFolder: 'top', mtime: MTIME }), (e: unknown) => e instanceof AiopError && e.reason === 'pack');
  assert.deepEqual(await readdir(dir), []);
});
