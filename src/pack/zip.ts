/** Reproducible zip of a package folder (SPEC 3, --zip_pack), streamed through yazl. */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { AiopError } from '../core/errors.js';
import { tempPathFor } from '../core/atomic.js';
import { compareBytes, normalMode, walkTree } from './walk.js';

/** Fixed deflate level: part of the output's identity, so never taken from the environment. */
export const ZIP_LEVEL = 6;

const DOS_MIN = Date.UTC(1980, 0, 1, 0, 0, 0);
const DOS_MAX = Date.UTC(2107, 11, 31, 23, 59, 58);

/**
 * yazl encodes DOS time from a Date's *local* fields, so the same instant gives different
 * bytes in different time zones. We hand it a Date whose local fields equal the wanted UTC
 * fields. Returns undefined in the rare case that local wall time does not exist (a DST gap).
 */
function localDateShowingUtc(mtime: Date): Date | undefined {
  const t = Math.min(DOS_MAX, Math.max(DOS_MIN, mtime.getTime()));
  const u = new Date(t);
  const local = new Date(u.getUTCFullYear(), u.getUTCMonth(), u.getUTCDate(), u.getUTCHours(), u.getUTCMinutes(), u.getUTCSeconds());
  const same =
    local.getFullYear() === u.getUTCFullYear() &&
    local.getMonth() === u.getUTCMonth() &&
    local.getDate() === u.getUTCDate() &&
    local.getHours() === u.getUTCHours() &&
    local.getMinutes() === u.getUTCMinutes() &&
    local.getSeconds() === u.getUTCSeconds();
  return same ? local : undefined;
}

/** The two 16-bit DOS fields for a UTC instant (2-second resolution). */
function dosDateTime(mtime: Date): { date: number; time: number } {
  const u = new Date(Math.min(DOS_MAX, Math.max(DOS_MIN, mtime.getTime())));
  return {
    date: u.getUTCDate() | ((u.getUTCMonth() + 1) << 5) | ((u.getUTCFullYear() - 1980) << 9),
    time: Math.floor(u.getUTCSeconds() / 2) | (u.getUTCMinutes() << 5) | (u.getUTCHours() << 11),
  };
}

interface YazlEntryInternals {
  lastModFileTime: number;
  lastModFileDate: number;
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
  const tree = await walkTree(pkgDir);
  const items = tree
    .map((e) => ({ entry: e, name: e.kind === 'dir' ? `${top}/${e.path}/` : `${top}/${e.path}` }))
    .sort((a, b) => compareBytes(a.name, b.name));

  const localMtime = localDateShowingUtc(opts.mtime);
  const dos = dosDateTime(opts.mtime);
  const zip = new yazl.ZipFile();
  const entries = (zip as unknown as { entries: YazlEntryInternals[] }).entries;
  const fixTime = (): void => {
    // Only reached for a DST gap: set the DOS fields directly on the entry just added.
    const last = entries[entries.length - 1];
    if (localMtime === undefined && last) {
      last.lastModFileTime = dos.time;
      last.lastModFileDate = dos.date;
    }
  };
  const common = { mtime: localMtime ?? opts.mtime, forceDosTimestamp: true };

  zip.addEmptyDirectory(`${top}/`, { ...common, mode: 0o40755 });
  fixTime();
  for (const { entry, name } of items) {
    switch (entry.kind) {
      case 'dir':
        zip.addEmptyDirectory(name, { ...common, mode: 0o40755 });
        break;
      case 'symlink':
        // Info-ZIP's convention: S_IFLNK in the external attributes, the link text as the data.
        zip.addBuffer(Buffer.from(entry.target, 'utf8'), name, { ...common, mode: 0o120777, compress: false });
        break;
      case 'file': {
        const absolute = entry.absolute;
        zip.addReadStreamLazy(
          name,
          { ...common, mode: 0o100000 | normalMode(entry.executable), compressionLevel: ZIP_LEVEL, size: entry.size },
          (cb) => cb(null, createReadStream(absolute)),
        );
        break;
      }
    }
    fixTime();
  }
  zip.end();

  await mkdir(dirname(outFile), { recursive: true });
  const tmp = tempPathFor(outFile);
  // yazl reports a failed file read on the ZipFile, not on its output stream: route it there.
  zip.on('error', (error: Error) => (zip.outputStream as Readable).destroy(error));
  try {
    await pipeline(zip.outputStream, createWriteStream(tmp));
    await rename(tmp, outFile);
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof AiopError) throw error;
    throw new AiopError('pack', `cannot write ${outFile}: ${(error as Error).message}`, { cause: error });
  }
}
