/**
 * Zip extraction through yauzl: it reads the central directory (zip64 included) lazily, entry
 * by entry, and streams each entry's bytes from the file, inflated and checked against the
 * declared size. What yauzl leaves to us: names are taken as raw bytes and judged by
 * {@link SafeTree} (never by yauzl's own name rules, so that a refusal names the entry the way
 * tar extraction does), encrypted entries and unknown compression methods are refused with
 * our messages, the CRC-32 is checked as the bytes pass (yauzl does not check it), entries
 * whose Unix mode is a FIFO, a device or a socket are refused, and the inflated bytes are
 * counted against the same {@link ExpansionBudget} as a tar archive's.
 * Memory holds one central directory record at a time, never an entry's content.
 */
import { Readable, Transform } from 'node:stream';
import yauzl from 'yauzl';
import { AiopError } from '../../core/errors.js';
import { crc32 } from '../../core/crc32.js';
import type { SafeTree } from './safe-tree.js';
import { ExpansionBudget } from './limits.js';

/** A symlink's target is stored as its content; anything longer is not a path. */
const MAX_LINK_TARGET = 4096;

/** One entry, as the extraction needs it. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Unix mode when the archive was made on Unix, else undefined. */
  unixMode?: number;
  isDir: boolean;
  isSymlink: boolean;
  /** The kind of a special file (FIFO, device, socket, unknown type bits), which is refused. */
  special?: string;
}

/** Unix file types a zip entry may not be, named as tar names them so both refuse alike. */
const SPECIAL_TYPES: Record<number, string> = {
  0o010000: 'FIFO',
  0o020000: 'CharacterDevice',
  0o060000: 'BlockDevice',
  0o140000: 'Socket',
};

function bad(archive: string, why: string): AiopError {
  return new AiopError('extract', `${archive} is not a valid zip archive: ${why}`);
}

/** What yauzl tells about an entry, its name as raw bytes (`decodeStrings: false`). */
function describe(entry: yauzl.Entry): ZipEntry {
  const raw = entry.fileName as unknown as Buffer;
  const flags = entry.generalPurposeBitFlag;
  // Names are UTF-8 (flag 11) or CP437; both agree on the ASCII a path check needs.
  const name = (flags & 0x800 ? raw.toString('utf8') : raw.toString('latin1')).replace(/\\/g, '/');
  const external = entry.externalFileAttributes;
  const unixMode = entry.versionMadeBy >> 8 === 3 && external >>> 16 !== 0 ? external >>> 16 : undefined;
  const type = unixMode === undefined ? 0 : unixMode & 0o170000;
  const ordinary = type === 0 || type === 0o100000 || type === 0o040000 || type === 0o120000;
  return {
    name,
    method: entry.compressionMethod,
    flags,
    crc32: entry.crc32,
    compressedSize: entry.compressedSize,
    size: entry.uncompressedSize,
    ...(unixMode === undefined ? {} : { unixMode }),
    isDir: name.endsWith('/') || type === 0o040000 || (external & 0x10) !== 0,
    isSymlink: type === 0o120000,
    ...(ordinary ? {} : { special: SPECIAL_TYPES[type] ?? `0o${type.toString(8)}` }),
  };
}

function openZip(file: string, archive: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (error, zip) => {
      if (error !== null || zip === undefined) reject(bad(archive, error?.message ?? 'cannot open'));
      else resolve(zip);
    });
  });
}

/** The next entry of the central directory, or undefined after the last. */
function nextEntry(zip: yauzl.ZipFile, archive: string): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry): void => (done(), resolve(entry));
    const onEnd = (): void => (done(), resolve(undefined));
    const onError = (error: Error): void => (done(), reject(bad(archive, error.message)));
    zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    zip.readEntry();
  });
}

/** Passes bytes on while checking they match the declared size and CRC-32 (a bomb cannot exceed its declared size). */
function checker(entry: ZipEntry, archive: string): Transform {
  let crc = 0;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > entry.size) {
        callback(new AiopError('extract', `archive entry "${entry.name}" of ${archive} is larger than its declared size`));
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      if (bytes !== entry.size || crc !== entry.crc32) {
        callback(new AiopError('extract', `archive entry "${entry.name}" of ${archive} is corrupt (size or CRC-32 mismatch)`));
      } else callback();
    },
  });
}

/** A stream of one entry's uncompressed, checked bytes, counted against `budget`. */
async function entryStream(zip: yauzl.ZipFile, raw: yauzl.Entry, entry: ZipEntry, archive: string, budget: ExpansionBudget): Promise<Readable> {
  if (entry.flags & 0x1) throw new AiopError('extract', `archive entry "${entry.name}" of ${archive} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new AiopError('extract', `archive entry "${entry.name}" of ${archive} uses unsupported compression method ${entry.method}`);
  }
  const check = checker(entry, archive);
  const forward = (error: Error): void => {
    check.destroy(error instanceof AiopError ? error : new AiopError('extract', `archive entry "${entry.name}" of ${archive} is corrupt: ${error.message}`));
  };
  // Nothing to inflate (yauzl would refuse an empty deflate stream): the checks still apply.
  const data: Readable =
    entry.compressedSize === 0
      ? Readable.from([])
      : await new Promise<Readable>((resolve, reject) => {
          zip.openReadStream(raw, (error, stream) => {
            if (error !== null || stream === undefined) reject(new AiopError('extract', `archive entry "${entry.name}" of ${archive} is corrupt: ${error?.message ?? 'no data'}`));
            else resolve(stream);
          });
        });
  // Counted as inflated, whatever the entry declares: the checker stops an entry at its
  // declared size, the budget stops the archive at its limits.
  const counter = budget.counter();
  data.on('error', forward);
  counter.on('error', forward);
  data.pipe(counter).pipe(check);
  return check;
}

async function readAll(stream: Readable, limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > limit) throw new AiopError('extract', `${what} is too long`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Extracts a zip file into the tree, entry by entry. */
export async function extractZip(file: string, tree: SafeTree): Promise<void> {
  const zip = await openZip(file, tree.archive);
  // Compressed bytes are those of the entries opened so far, but never more than the file
  // holds: entries that share their data (an overlapping bomb) do not add to it.
  let compressed = 0;
  const budget = new ExpansionBudget(tree.archive, () => Math.min(compressed, zip.fileSize));
  const open = async (raw: yauzl.Entry, entry: ZipEntry): Promise<Readable> => {
    compressed += entry.compressedSize;
    return entryStream(zip, raw, entry, tree.archive, budget);
  };
  try {
    for (let raw = await nextEntry(zip, tree.archive); raw !== undefined; raw = await nextEntry(zip, tree.archive)) {
      const entry = describe(raw);
      if (entry.special !== undefined) {
        throw new AiopError('extract', `refusing archive entry "${entry.name}" in ${tree.archive}: unsupported entry type ${entry.special}`);
      }
      if (entry.isDir) {
        tree.dir(entry.name);
        continue;
      }
      if (entry.isSymlink) {
        // Checked by name before the target is even read.
        if (tree.relPath(entry.name) === undefined) continue;
        const target = await readAll(await open(raw, entry), MAX_LINK_TARGET, `symlink target of "${entry.name}"`);
        await tree.symlink(entry.name, target);
        continue;
      }
      if (tree.relPath(entry.name) === undefined) continue;
      const data = await open(raw, entry);
      const unixMode = entry.unixMode === undefined ? undefined : entry.unixMode & 0o7777;
      let written: Promise<void> | undefined;
      try {
        written = tree.file(entry.name, data, unixMode);
      } catch (error) {
        data.destroy();
        throw error;
      }
      if (written) await written;
      else data.resume();
    }
    tree.finish();
  } finally {
    zip.close();
  }
}
