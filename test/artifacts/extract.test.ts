import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile, chmod, link } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';
import { placeArtifacts, type ResolvedArtifact } from '../../src/artifacts/index.js';
import { AiopError } from '../../src/core/errors.js';
import { makeTarGz, makeZip, type RawEntry } from './archives.js';
import { scan, settingsFor, sri } from './helpers.js';

function artifact(file: string, data: Buffer, extra: Partial<ResolvedArtifact> = {}): ResolvedArtifact {
  return { name: 'arch', url: pathToFileURL(file).href, integrity: sri(data), extract: true, stripComponents: 0, dest: '', ...extra };
}

/** A small tree with an executable, a document, an inside symlink and a hard link. */
async function makeTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'top/bin'), { recursive: true });
  await mkdir(join(dir, 'top/share/doc'), { recursive: true });
  await mkdir(join(dir, 'top/empty'), { recursive: true });
  await writeFile(join(dir, 'top/bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(dir, 'top/bin/tool'), 0o755);
  await writeFile(join(dir, 'top/share/doc/README'), 'read me\n');
  await chmod(join(dir, 'top/share/doc/README'), 0o644);
  await symlink('../bin/tool', join(dir, 'top/share/tool-link'));
  await link(join(dir, 'top/bin/tool'), join(dir, 'top/bin/tool-again'));
}

const EXPECTED = ['opt/bin/tool', 'opt/bin/tool-again', 'opt/share/doc/README', 'opt/share/tool-link'];

for (const variant of ['tar.gz', 'tar.xz', 'zip', 'zip64'] as const) {
  const kind = variant === 'zip64' ? 'zip' : variant;
  test(`extracts a real ${variant} with strip_components, keeping modes and inside symlinks`, async (t) => {
    if (!requireTools(t, kind === 'zip' ? 'zip' : 'xz')) return;
    const { dir, cleanup } = await tempDir('aiop-extract-');
    t.after(cleanup);
    await makeTree(join(dir, 'src'));
    const file = join(dir, `a.${kind}`);
    // -fz: Zip64 records even for small files, to exercise that path of the reader.
    if (kind === 'zip') execFileSync('zip', [variant === 'zip64' ? '-qryfz' : '-qry', file, 'top'], { cwd: join(dir, 'src') });
    else execFileSync('tar', [kind === 'tar.gz' ? '-czf' : '-cJf', file, 'top'], { cwd: join(dir, 'src') });
    const data = await readFile(file);
    const pkg = join(dir, 'pkg');
    await mkdir(join(pkg, 'opt/bin'), { recursive: true });
    await writeFile(join(pkg, 'opt/bin/other'), 'kept');
    const placed = await placeArtifacts([artifact(file, data, { stripComponents: 1, dest: 'opt/' })], pkg, settingsFor(join(dir, 'cache'), []));
    assert.deepEqual(placed[0]!.files, EXPECTED);
    assert.equal(await readFile(join(pkg, 'opt/bin/tool'), 'utf8'), '#!/bin/sh\necho tool\n');
    assert.equal(await readFile(join(pkg, 'opt/bin/tool-again'), 'utf8'), '#!/bin/sh\necho tool\n');
    assert.equal((await stat(join(pkg, 'opt/bin/tool'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(pkg, 'opt/share/doc/README'))).mode & 0o777, 0o644);
    assert.equal(await readlink(join(pkg, 'opt/share/tool-link')), '../bin/tool');
    assert.ok((await stat(join(pkg, 'opt/empty'))).isDirectory());
    assert.equal(await readFile(join(pkg, 'opt/bin/other'), 'utf8'), 'kept');
    // The hard link became an independent copy, not a link to the other file.
    assert.notEqual((await stat(join(pkg, 'opt/bin/tool-again'))).ino, (await stat(join(pkg, 'opt/bin/tool'))).ino);
    // No temp folder left in the package.
    assert.deepEqual((await scan(pkg)).filter((p) => p.includes('.aiop-')), []);

    // `mode` applies to every regular file.
    const pkg2 = join(dir, 'pkg2');
    await placeArtifacts([artifact(file, data, { stripComponents: 1, dest: 'x', mode: 0o700 })], pkg2, settingsFor(join(dir, 'cache'), []));
    assert.equal((await stat(join(pkg2, 'x/share/doc/README'))).mode & 0o777, 0o700);
    assert.equal((await lstat(join(pkg2, 'x/share/tool-link'))).isSymbolicLink(), true);
  });
}

interface Hostile {
  label: string;
  /** the entry the error must name */
  names: string;
  entries: (root: string) => RawEntry[];
  formats: Array<'tar.gz' | 'tar.xz' | 'zip'>;
}

// The extraction root is <T>/pkg/.aiop-extract-XXXX/root, so "../../../x" is <T>/x.
const HOSTILE: Hostile[] = [
  { label: '../ path', names: '../../../escaped', formats: ['tar.gz', 'tar.xz', 'zip'], entries: () => [{ name: 'ok.txt', type: 'file', content: 'ok' }, { name: '../../../escaped', type: 'file', content: 'x' }] },
  { label: 'absolute path', names: '/escaped" in', formats: ['tar.gz', 'zip'], entries: (root) => [{ name: join(root, 'escaped'), type: 'file', content: 'x' }] },
  { label: 'symlink pointing out, then a file through it', names: 'out', formats: ['tar.gz', 'zip'], entries: () => [{ name: 'out', type: 'symlink', link: '../../../' }, { name: 'out/escaped', type: 'file', content: 'x' }] },
  { label: 'absolute symlink', names: 'etc', formats: ['tar.gz', 'zip'], entries: () => [{ name: 'etc', type: 'symlink', link: '/etc' }] },
  { label: 'symlink chained through another symlink', names: 'b', formats: ['tar.gz', 'zip'], entries: () => [{ name: 'a', type: 'symlink', link: '.' }, { name: 'b', type: 'symlink', link: 'a/..' }] },
  { label: 'symlink made to escape by a later symlink', names: 'b', formats: ['tar.gz', 'zip'], entries: () => [{ name: 'b', type: 'symlink', link: 'a/..' }, { name: 'a', type: 'symlink', link: '.' }] },
  { label: 'hard link pointing out', names: 'hl', formats: ['tar.gz'], entries: () => [{ name: 'hl', type: 'hardlink', link: '../../../secret' }] },
  { label: 'hard link to an absolute path', names: 'hl', formats: ['tar.gz'], entries: () => [{ name: 'hl', type: 'hardlink', link: '/etc/passwd' }] },
  {
    label: 'file written through an earlier (inside) symlink',
    names: 'inner/escaped',
    formats: ['tar.gz', 'zip'],
    entries: () => [{ name: 'sub', type: 'dir' }, { name: 'inner', type: 'symlink', link: 'sub' }, { name: 'inner/escaped', type: 'file', content: 'x' }],
  },
];

for (const h of HOSTILE) {
  for (const format of h.formats) {
    test(`refuses a ${format} with a ${h.label}, writing nothing outside`, async (t) => {
      if (format === 'tar.xz' && !requireTools(t, 'xz')) return;
      const { dir, cleanup } = await tempDir('aiop-hostile-');
      t.after(cleanup);
      await writeFile(join(dir, 'secret'), 'secret');
      await mkdir(join(dir, 'src'));
      const entries = h.entries(dir);
      let data = format === 'zip' ? makeZip(entries) : makeTarGz(entries);
      if (format === 'tar.xz') data = execFileSync('xz', ['-c'], { input: gunzipSync(data) });
      const file = join(dir, 'src', `evil.${format}`);
      await writeFile(file, data);
      const before = await scan(dir);
      const error = await placeArtifacts([artifact(file, data)], join(dir, 'pkg'), settingsFor(join(dir, 'cache'), [])).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof AiopError, String(error));
      assert.equal(error.reason, 'extract');
      assert.ok(error.message.includes(h.names.endsWith('in') ? h.names : `"${h.names}"`), error.message);
      // Only the cache and an empty package folder are new; nothing landed anywhere else.
      const after = await scan(dir);
      const added = after.filter((p) => !before.includes(p) && p !== 'cache' && !p.startsWith('cache/'));
      assert.deepEqual(added, ['pkg']);
      assert.equal(await readFile(join(dir, 'secret'), 'utf8'), 'secret');
      await rm(join(dir, 'pkg'), { recursive: true });
    });
  }
}

test('refuses a zip whose entry is corrupt (CRC mismatch)', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-hostile-');
  t.after(cleanup);
  const good = makeZip([{ name: 'f.txt', type: 'file', content: 'hello world' }]);
  const data = Buffer.from(good);
  data[data.indexOf('hello world')] = 'j'.charCodeAt(0);
  const file = join(dir, 'bad.zip');
  await writeFile(file, data);
  await assert.rejects(placeArtifacts([artifact(file, data)], join(dir, 'pkg'), settingsFor(join(dir, 'cache'), [])), (e: AiopError) => {
    assert.equal(e.reason, 'extract');
    assert.match(e.message, /"f\.txt".*corrupt/);
    return true;
  });
  assert.deepEqual(await scan(join(dir, 'pkg')), []);
});
