/** Reproducible zip of a package folder (SPEC 3, --zip_pack), streamed through {@link ZipWriter}. */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AiopError } from '../core/errors.js';
import { tempPathFor } from '../core/atomic.js';
import { compareBytes } from '../core/list-tree.js';
import { normalMode, walkTree } from './walk.js';
import { ZipWriter, type DosTime } from './zip-writer.js';
import { makeDirs } from '../core/make-dirs.js';

/** Fixed deflate level: part of the output's identity, so never taken from the environment. */
export const ZIP_LEVEL = 6;

const DOS_MIN = Date.UTC(1980, 0, 1, 0, 0, 0);
const DOS_MAX = Date.UTC(2107, 11, 31, 23, 59, 58);

/** The two 16-bit DOS fields for a UTC instant (2-second resolution). */
function dosDateTime(mtime: Date): DosTime {
  const u = new Date(Math.min(DOS_MAX, Math.max(DOS_MIN, mtime.getTime())));
  return {
    date: u.getUTCDate() | ((u.getUTCMonth() + 1) << 5) | ((u.getUTCFullYear() - 1980) << 9),
    time: Math.floor(u.getUTCSeconds() / 2) | (u.getUTCMinutes() << 5) | (u.getUTCHours() << 11),
  };
}

/**
 * Streams a zip of pkgDir, entries under `topFolder/`, sorted bytewise, fixed DOS time in UTC, modes 0644/0755
 * (0755 when any x bit), symlinks stored as symlinks (never followed), no extra fields, fixed level. Atomic write.
 */
export async function writeZip(pkgDir: string, outFile: string, opts: { topFolder: string; mtime: Date }): Promise<void> {
  const top = opts.topFolder.replace(/\/+$/, '');
  if (top === '' || top.includes('/') || top === '.' || top === '..') {
    throw new AiopError('pack', `zip top folder must be one plain folder name, got "${opts.topFolder}"`);
  }
  const tree = walkTree(pkgDir);
  const items = tree
    .map((e) => ({ entry: e, name: e.kind === 'dir' ? `${top}/${e.path}/` : `${top}/${e.path}` }))
    .sort((a, b) => compareBytes(a.name, b.name));

  const dos = dosDateTime(opts.mtime);
  await makeDirs(dirname(outFile));
  const tmp = tempPathFor(outFile);
  try {
    const fh = await open(tmp, 'wx');
    try {
      const zip = new ZipWriter(fh, dos);
      await zip.directory(`${top}/`, 0o40755);
      for (const { entry, name } of items) {
        switch (entry.kind) {
          case 'dir':
            await zip.directory(name, 0o40755);
            break;
          case 'symlink':
            // Info-ZIP's convention: S_IFLNK in the external attributes, the link text as the data.
            await zip.stored(name, Buffer.from(entry.target, 'utf8'), 0o120777);
            break;
          case 'file':
            await zip.file(name, entry.absolute, entry.size, 0o100000 | normalMode(entry.executable), ZIP_LEVEL);
            break;
        }
      }
      await zip.finish();
    } finally {
      await fh.close();
    }
    await rename(tmp, outFile);
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof AiopError) throw error;
    throw new AiopError('pack', `cannot write ${outFile}: ${(error as Error).message}`, { cause: error });
  }
}
