/**
 * A small streaming zip reader: the central directory (zip64 included) says where each
 * entry is; each entry's bytes are streamed from the file through inflateRaw into
 * {@link SafeTree}, checked against the declared size and CRC-32 as they pass. Memory
 * holds the central directory only, never an entry's content.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { AiopError } from '../../core/errors.js';
import type { SafeTree } from './safe-tree.js';

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
/** A central directory larger than this is not a package we want to read. */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;
/** A symlink's target is stored as its content; anything longer is not a path. */
const MAX_LINK_TARGET = 4096;

/** One entry as the central directory describes it. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Unix mode when the archive was made on Unix, else undefined. */
  unixMode?: number;
  isDir: boolean;
  isSymlink: boolean;
}

function bad(archive: string, why: string): AiopError {
  return new AiopError('extract', `${archive} is not a valid zip archive: ${why}`);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

function u64(buffer: Buffer, offset: number): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('zip64 value too large');
  return Number(value);
}

/** Reads the central directory: every entry, in archive order. */
export async function readCentralDirectory(fh: FileHandle, fileSize: number, archive: string): Promise<ZipEntry[]> {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(fh, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad(archive, 'no end of central directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locatorAt = tailStart + eocd - 20;
    if (locatorAt < 0) throw bad(archive, 'zip64 locator missing');
    const locator = await readAt(fh, locatorAt, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) throw bad(archive, 'zip64 locator missing');
    const record = await readAt(fh, u64(locator, 8), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw bad(archive, 'zip64 end record missing');
    count = u64(record, 32);
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY || cdOffset + cdSize > fileSize) throw bad(archive, 'central directory out of bounds');
  const cd = await readAt(fh, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIG) throw bad(archive, `central directory entry ${n + 1} is damaged`);
    const madeBy = cd.readUInt16LE(at + 4);
    const flags = cd.readUInt16LE(at + 8);
    const method = cd.readUInt16LE(at + 10);
    const crc32 = cd.readUInt32LE(at + 16);
    let compressedSize = cd.readUInt32LE(at + 20);
    let size = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    const external = cd.readUInt32LE(at + 38);
    let localOffset = cd.readUInt32LE(at + 42);
    const nameBytes = cd.subarray(at + 46, at + 46 + nameLength);
    const extra = cd.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (at > cd.length) throw bad(archive, `central directory entry ${n + 1} is damaged`);
    // zip64: the extra field holds, in this order, only the values marked 0xffffffff.
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff && p + 8 <= e + 4 + length) (size = u64(extra, p)), (p += 8);
        if (compressedSize === 0xffffffff && p + 8 <= e + 4 + length) (compressedSize = u64(extra, p)), (p += 8);
        if (localOffset === 0xffffffff && p + 8 <= e + 4 + length) localOffset = u64(extra, p);
      }
      e += 4 + length;
    }
    // Names are UTF-8 (flag 11) or CP437; both agree on the ASCII a path check needs.
    const name = (flags & 0x800 ? nameBytes.toString('utf8') : nameBytes.toString('latin1')).replace(/\\/g, '/');
    const unixMode = madeBy >> 8 === 3 && external >>> 16 !== 0 ? external >>> 16 : undefined;
    const type = unixMode === undefined ? 0 : unixMode & 0o170000;
    entries.push({
      name,
      method,
      flags,
      crc32,
      compressedSize,
      size,
      localOffset,
      ...(unixMode === undefined ? {} : { unixMode }),
      isDir: name.endsWith('/') || type === 0o040000 || (external & 0x10) !== 0,
      isSymlink: type === 0o120000,
    });
  }
  return entries;
}

/** CRC-32 (IEEE), table-driven; zlib.crc32 is newer than Node 20.0. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32Update(crc: number, chunk: Uint8Array): number {
  let c = crc ^ 0xffffffff;
  for (let i = 0; i < chunk.length; i++) c = CRC_TABLE[(c ^ chunk[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
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
      crc = crc32Update(crc, chunk);
      callback(null, chunk);
    },
    flush(callback) {
      if (bytes !== entry.size || crc !== entry.crc32) {
        callback(new AiopError('extract', `archive entry "${entry.name}" of ${archive} is corrupt (size or CRC-32 mismatch)`));
      } else callback();
    },
  });
}

/** A stream of one entry's uncompressed, checked bytes. */
async function entryStream(fh: FileHandle, file: string, entry: ZipEntry, archive: string): Promise<Readable> {
  if (entry.flags & 0x1) throw new AiopError('extract', `archive entry "${entry.name}" of ${archive} is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw new AiopError('extract', `archive entry "${entry.name}" of ${archive} uses unsupported compression method ${entry.method}`);
  }
  const local = await readAt(fh, entry.localOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIG) throw bad(archive, `local header of "${entry.name}" missing`);
  const dataStart = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const raw: Readable =
    entry.compressedSize === 0
      ? Readable.from([])
      : createReadStream(file, { start: dataStart, end: dataStart + entry.compressedSize - 1, highWaterMark: 1 << 20 });
  const check = checker(entry, archive);
  const forward = (error: Error): void => {
    check.destroy(error instanceof AiopError ? error : new AiopError('extract', `archive entry "${entry.name}" of ${archive} is corrupt: ${error.message}`));
  };
  if (entry.method === 8 && entry.compressedSize > 0) {
    const inflate = createInflateRaw();
    raw.on('error', forward);
    inflate.on('error', forward);
    raw.pipe(inflate).pipe(check);
  } else {
    raw.on('error', forward);
    raw.pipe(check);
  }
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
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const entries = await readCentralDirectory(fh, size, tree.archive);
    for (const entry of entries) {
      if (entry.isDir) {
        tree.dir(entry.name);
        continue;
      }
      if (entry.isSymlink) {
        // Checked by name before the target is even read.
        if (tree.relPath(entry.name) === undefined) continue;
        const target = await readAll(await entryStream(fh, file, entry, tree.archive), MAX_LINK_TARGET, `symlink target of "${entry.name}"`);
        await tree.symlink(entry.name, target);
        continue;
      }
      if (tree.relPath(entry.name) === undefined) continue;
      const data = await entryStream(fh, file, entry, tree.archive);
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
    await fh.close();
  }
}
