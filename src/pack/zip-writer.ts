/**
 * A small zip writer for reproducible archives, written to a file entry by entry.
 *
 * Why not yazl, which aiop used before: yazl takes an entry's time as a JS Date and
 * computes the DOS date and time fields from its *local* fields (clamping with bounds taken
 * in the process's time zone). The same instant then gives different bytes in different
 * time zones, and a UTC time inside a local daylight-saving gap cannot be expressed through
 * its API at all; the only way around it was to patch yazl's private entry objects and the
 * local headers afterwards. This writer takes the two DOS fields as numbers.
 *
 * Format (PKWARE APPNOTE 6.3): UTF-8 names (flag bit 11), Unix modes in the external
 * attributes (made by Unix), no extra fields except the zip64 ones a large entry or archive
 * needs, no data descriptors: each local header is written first and its CRC-32 and sizes
 * are filled in once the entry's data is written (the output is a file, not a pipe).
 *
 * A small file is read and deflated in one call, and small entries are collected and written
 * together: a package of many small files costs a few writes, not several per file.
 */
import type { FileHandle } from 'node:fs/promises';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { crc32 } from '../core/crc32.js';
import { fileChunks, readSmallFile, SMALL_FILE } from './file-chunks.js';

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
/** Unix (3) in the high byte, specification 6.3 in the low byte. */
const MADE_BY = (3 << 8) | 63;
const NEEDS = 20;
const NEEDS_ZIP64 = 45;
const UTF8_NAMES = 0x0800;
const STORED = 0;
const DEFLATED = 8;
const MAX32 = 0xffffffff;
/**
 * Entries larger than this get zip64 sizes in their local header: the decision is made before
 * the data is compressed, and deflate may grow incompressible data a little.
 */
const ZIP64_ENTRY_SIZE = 0xf0000000;
/** Collected entries are written once they hold this many bytes, or this many entries (so other work gets its turn). */
const FLUSH_BYTES = 1 << 20;
const FLUSH_PARTS = 256;

/** The two 16-bit DOS fields of an entry's modification time. */
export interface DosTime {
  date: number;
  time: number;
}

interface Written {
  name: Buffer;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  mode: number;
}

function u64(buffer: Buffer, value: number, at: number): void {
  buffer.writeBigUInt64LE(BigInt(value), at);
}

/** Writes a zip archive into an open file, from its current start (position 0). */
export class ZipWriter {
  readonly #fh: FileHandle;
  readonly #dos: DosTime;
  readonly #entries: Written[] = [];
  /** Where the archive ends, counting the bytes collected but not yet written. */
  #position = 0;
  /** Bytes collected for the end of the file, from {@link #written} on. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** How much of the archive is in the file or being written to it. */
  #written = 0;
  /** The write under way, if any. */
  #writing: Promise<void> = Promise.resolve();

  /** `dos` is the modification time of every entry. */
  constructor(fh: FileHandle, dos: DosTime) {
    this.#fh = fh;
    this.#dos = dos;
  }

  /** Adds bytes at the end of the archive; writes what was collected once there is enough. */
  async #append(...parts: Buffer[]): Promise<void> {
    for (const part of parts) {
      this.#pending.push(part);
      this.#pendingBytes += part.length;
      this.#position += part.length;
    }
    if (this.#pendingBytes >= FLUSH_BYTES || this.#pending.length >= FLUSH_PARTS) await this.#startWrite();
  }

  /**
   * Starts writing what was collected once the previous write is done: the next entries are
   * read and deflated while it runs.
   */
  async #startWrite(): Promise<void> {
    await this.#writing;
    if (this.#pending.length === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    const at = this.#written;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#written += data.length;
    // Its failure is seen by the next wait for it, never left unhandled meanwhile.
    const write = this.#writeAt(data, at);
    write.catch(() => undefined);
    this.#writing = write;
  }

  /** Writes every collected byte and waits until they are in the file. */
  async #flush(): Promise<void> {
    await this.#startWrite();
    await this.#writing;
  }

  async #writeAt(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.#fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  /** Local header with the CRC and sizes known now or zero for later (see {@link #fillFields}). */
  #localHeader(entry: Written, zip64: boolean): Buffer {
    const header = Buffer.alloc(30 + entry.name.length + (zip64 ? 20 : 0));
    header.writeUInt32LE(LOCAL_SIG, 0);
    header.writeUInt16LE(zip64 ? NEEDS_ZIP64 : NEEDS, 4);
    header.writeUInt16LE(UTF8_NAMES, 6);
    header.writeUInt16LE(entry.method, 8);
    header.writeUInt16LE(this.#dos.time, 10);
    header.writeUInt16LE(this.#dos.date, 12);
    header.writeUInt16LE(entry.name.length, 26);
    header.writeUInt16LE(zip64 ? 20 : 0, 28);
    entry.name.copy(header, 30);
    if (zip64) {
      const extra = 30 + entry.name.length;
      header.writeUInt16LE(0x0001, extra);
      header.writeUInt16LE(16, extra + 2);
    }
    this.#fillFields(header, entry, zip64);
    return header;
  }

  /** CRC-32 and the sizes, in the local header (or its zip64 extra field). */
  #fillFields(header: Buffer, entry: Written, zip64: boolean): void {
    header.writeUInt32LE(entry.crc, 14);
    if (zip64) {
      header.writeUInt32LE(MAX32, 18);
      header.writeUInt32LE(MAX32, 22);
      const extra = 30 + entry.name.length;
      u64(header, entry.size, extra + 4);
      u64(header, entry.compressedSize, extra + 12);
    } else {
      header.writeUInt32LE(entry.compressedSize, 18);
      header.writeUInt32LE(entry.size, 22);
    }
  }

  #start(name: string, method: number, mode: number): Written {
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length > 0xffff) throw new RangeError(`zip entry name too long: ${name.slice(0, 80)}...`);
    return { name: bytes, method, crc: 0, compressedSize: 0, size: 0, offset: this.#position, mode };
  }

  /** A folder entry; `name` ends with `/`. */
  async directory(name: string, mode: number): Promise<void> {
    const entry = this.#start(name, STORED, mode);
    this.#entries.push(entry);
    await this.#append(this.#localHeader(entry, false));
  }

  /** An entry whose content is in memory, stored uncompressed (a symlink's target, for instance). */
  async stored(name: string, data: Buffer, mode: number): Promise<void> {
    const entry = this.#start(name, STORED, mode);
    entry.crc = crc32(data);
    entry.size = entry.compressedSize = data.length;
    this.#entries.push(entry);
    await this.#append(this.#localHeader(entry, entry.size >= ZIP64_ENTRY_SIZE), data);
  }

  /**
   * A file's content, deflated at `level` as it streams from disk. `size` is what the file
   * is expected to hold; a file that changes size while it is read is an error (the
   * archive would not be reproducible).
   */
  async file(name: string, path: string, size: number, mode: number, level: number): Promise<void> {
    const entry = this.#start(name, DEFLATED, mode);
    if (size <= SMALL_FILE) {
      const data = readSmallFile(path, size);
      // The same bytes as the stream below gives for a file read in one chunk.
      const deflated = deflateRawSync(data, { level });
      entry.crc = crc32(data);
      entry.size = size;
      entry.compressedSize = deflated.length;
      this.#entries.push(entry);
      await this.#append(this.#localHeader(entry, false), deflated);
      return;
    }
    const zip64 = size >= ZIP64_ENTRY_SIZE;
    const headerAt = this.#position;
    const header = this.#localHeader(entry, zip64);
    await this.#append(header);
    let crc = 0;
    const out = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#append(chunk).then(() => callback(), callback);
      },
    });
    const before = this.#position;
    await pipeline(
      Readable.from(fileChunks(path, size)),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          crc = crc32(chunk, crc);
          yield chunk;
        }
      },
      createDeflateRaw({ level }),
      out,
    );
    entry.crc = crc;
    entry.size = size;
    entry.compressedSize = this.#position - before;
    if (!zip64 && entry.compressedSize > MAX32) throw new Error(`${path} does not compress into a 4 GiB zip entry`);
    this.#fillFields(header, entry, zip64);
    // The header may be in the file already, with its sizes still zero.
    await this.#flush();
    await this.#writeAt(header, headerAt);
    this.#entries.push(entry);
  }

  /** Writes the central directory and the end records. Returns the archive's length. */
  async finish(): Promise<number> {
    const cdStart = this.#position;
    for (const entry of this.#entries) {
      const big = [entry.size >= MAX32, entry.compressedSize >= MAX32, entry.offset >= MAX32];
      const extraLength = big.filter(Boolean).length * 8;
      const record = Buffer.alloc(46 + entry.name.length + (extraLength > 0 ? 4 + extraLength : 0));
      record.writeUInt32LE(CENTRAL_SIG, 0);
      record.writeUInt16LE(MADE_BY, 4);
      record.writeUInt16LE(extraLength > 0 ? NEEDS_ZIP64 : NEEDS, 6);
      record.writeUInt16LE(UTF8_NAMES, 8);
      record.writeUInt16LE(entry.method, 10);
      record.writeUInt16LE(this.#dos.time, 12);
      record.writeUInt16LE(this.#dos.date, 14);
      record.writeUInt32LE(entry.crc, 16);
      record.writeUInt32LE(big[1] ? MAX32 : entry.compressedSize, 20);
      record.writeUInt32LE(big[0] ? MAX32 : entry.size, 24);
      record.writeUInt16LE(entry.name.length, 28);
      record.writeUInt16LE(extraLength > 0 ? 4 + extraLength : 0, 30);
      record.writeUInt32LE(((entry.mode & 0xffff) << 16) >>> 0, 38);
      record.writeUInt32LE(big[2] ? MAX32 : entry.offset, 42);
      entry.name.copy(record, 46);
      if (extraLength > 0) {
        // zip64 extended information: only the fields marked 0xffffffff, in this order.
        let at = 46 + entry.name.length;
        record.writeUInt16LE(0x0001, at);
        record.writeUInt16LE(extraLength, at + 2);
        at += 4;
        for (const [i, value] of [entry.size, entry.compressedSize, entry.offset].entries()) {
          if (big[i]) {
            u64(record, value, at);
            at += 8;
          }
        }
      }
      await this.#append(record);
    }
    const cdSize = this.#position - cdStart;
    const count = this.#entries.length;
    if (count >= 0xffff || cdStart >= MAX32 || cdSize >= MAX32) {
      const zip64At = this.#position;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(ZIP64_EOCD_SIG, 0);
      u64(record, 44, 4);
      record.writeUInt16LE(MADE_BY, 12);
      record.writeUInt16LE(NEEDS_ZIP64, 14);
      u64(record, count, 24);
      u64(record, count, 32);
      u64(record, cdSize, 40);
      u64(record, cdStart, 48);
      await this.#append(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP64_LOCATOR_SIG, 0);
      u64(locator, zip64At, 8);
      locator.writeUInt32LE(1, 16);
      await this.#append(locator);
    }
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(EOCD_SIG, 0);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 8);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 10);
    eocd.writeUInt32LE(Math.min(cdSize, MAX32), 12);
    eocd.writeUInt32LE(Math.min(cdStart, MAX32), 16);
    await this.#append(eocd);
    await this.#flush();
    return this.#position;
  }
}
