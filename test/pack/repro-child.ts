/**
 * Run as a child process by the reproducibility test, under a given TZ and umask: lays out the
 * package afresh with file times from argv (a different "wall clock"), then writes zip, .deb and .rpm.
 * Does nothing without arguments, so the test runner may load it harmlessly.
 */
import { readdir, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDeb } from '../../src/pack/deb.js';
import { writeRpm } from '../../src/pack/rpm.js';
import { writeZip } from '../../src/pack/zip.js';
import { sourceDate } from '../../src/pack/source-date.js';
import type { Compression } from '../../src/pack/compress.js';
import { helloInfo, helloRpmInfo, makePackage } from './fixture.js';

async function touchAll(dir: string, when: Date): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await stat(p).catch(() => undefined);
    if (st?.isDirectory()) await touchAll(p, when);
    if (st) await utimes(p, when, when);
  }
}

const [dir, fileTimeSeconds, compression] = process.argv.slice(2);
if (dir !== undefined && fileTimeSeconds !== undefined) {
  const { pkgDir, postinst } = await makePackage(dir);
  await touchAll(pkgDir, new Date(Number(fileTimeSeconds) * 1000));
  const mtime = await sourceDate(dir);
  await writeZip(pkgDir, join(dir, 'out', 'hello.zip'), { topFolder: 'hello-1.4.0', mtime });
  await writeDeb(pkgDir, join(dir, 'out', 'hello.deb'), helloInfo(postinst, (compression ?? 'gzip') as Compression), { mtime });
  const rpmCompression = compression === undefined || compression === 'none' ? 'gzip' : (compression as Compression);
  await writeRpm(pkgDir, join(dir, 'out', 'hello.rpm'), helloRpmInfo(postinst, rpmCompression), { mtime });
}
