/** Reproducible zip of a package folder (SPEC 3, --zip_pack), streamed through yazl. */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
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

/** The two 16-bit DOS fields for a UTC instant (2-second resolution). */
function dosDateTime(mtime: Date): { date: number; time: number } {
  const u = new Date(Math.min(DOS_MAX, Math.max(DOS_MIN, mtime.getTime())));
  return {
    date: u.getUTCDate() | ((u.getUTCMonth() + 1) << 5) | ((u.getUTCFullYear() - 1980) << 9),
    time: Math.floor(u.getUTCSeconds() / 2) | (u.getUTCMinutes() << 5) | (u.getUTCHours() << 11),
  };
}

/**
 * yazl computes DOS time from a Date's *local* fields (and clamps with bounds taken in the zone
 * the process started in), so the same instant gives different bytes in different zones, and a
 * UTC time that falls in a local daylight-saving gap cannot be expressed through its API at all.
 * We therefore set the two DOS fields ourselves: on each entry right after adding it (for the
 * central directory) and in each local header after the archive is written (yazl writes some
 * local headers synchronously inside add*, before we could touch the entry).
 */
interface YazlEntryInternals {
  lastModFileTime: number;
  lastModFileDate: number;
  relativeOffsetOfLocalHeader: number;
}

async function patchLocalHeaders(file: string, entries: YazlEntryInternals[], dos: { date: number; time: number }): Promise<void> {
  const fields = Buffer.alloc(4);
  fields.writeUInt16LE(dos.time, 0);
  fields.writeUInt16LE(dos.date, 2);
  const handle = await open(file, 'r+');
  try {
    const signature = Buffer.alloc(4);
    for (const entry of entries) {
      const offset = entry.relativeOffsetOfLocalHeader;
      await handle.read(signature, 0, 4, offset);
      if (signature.readUInt32LE(0) !== 0x04034b50) throw new AiopError('pack', 'internal: zip local header not where yazl said');
      // Local header: signature, version (2), flags (2), method (2), then time and date.
      await handle.write(fields, 0, 4, offset + 10);
    }
  } finally {
    await handle.close();
  }
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

  const dos = dosDateTime(opts.mtime);
  const zip = new yazl.ZipFile();
  const entries = (zip as unknown as { entries: YazlEntryInternals[] }).entries;
  const fixTime = (): void => {
    const last = entries[entries.length - 1];
    if (!last || typeof last.lastModFileTime !== 'number' || typeof last.lastModFileDate !== 'number') {
      throw new AiopError('pack', 'internal: yazl entry layout changed; cannot fix zip timestamps');
    }
    last.lastModFileTime = dos.time;
    last.lastModFileDate = dos.date;
  };
  const common = { mtime: new Date(Math.min(DOS_MAX, Math.max(DOS_MIN, opts.mtime.getTime()))), forceDosTimestamp: true };

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
    await patchLocalHeaders(tmp, entries, dos);
    await rename(tmp, outFile);
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof AiopError) throw error;
    throw new AiopError('pack', `cannot write ${outFile}: ${(error as Error).message}`, { cause: error });
  }
}
