/**
 * Large sequential file I/O for artifacts: whole chunks of {@link CHUNK} bytes, and, for files
 * nobody reads right away (the download temp file, a cache entry), `O_DIRECT`, which skips the
 * page cache. Measured on the benchmark machine (bench/analysis.md (f)): writing 2 GiB through
 * the page cache cost 2-9 s of kernel time touching fresh pages, against 1.2-2.3 s direct; and
 * a download written once through the page cache and then copied touches those pages twice.
 * Where the file system refuses `O_DIRECT` (EINVAL: tmpfs, some FUSE), the same calls go
 * through the page cache, so nothing else depends on it.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/** Bytes per read or write: as large as one request to the disk (max_sectors_kb is often 4 MiB). */
export const CHUNK = 4 << 20;
/** Direct I/O wants buffer addresses, offsets and lengths aligned to the device's block; a page covers every device. */
const ALIGN = 4096;
const WASM_PAGE = 64 * 1024;

/**
 * `count` buffers of {@link CHUNK} bytes at page-aligned addresses. Node's Buffer pool and
 * malloc give no alignment guarantee; WebAssembly memory is page-aligned by construction.
 */
export function alignedBuffers(count: number): Buffer[] {
  // Not in this project's type libraries (no DOM), but in every Node.js.
  const { WebAssembly } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } };
  const memory = new WebAssembly.Memory({ initial: Math.ceil((count * CHUNK) / WASM_PAGE) });
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * CHUNK, CHUNK));
}

function isEinval(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EINVAL';
}

/** Opens `path` with O_DIRECT added when `direct`, or without it where the file system refuses it. */
async function openMaybeDirect(path: string, flags: number, mode: number, direct: boolean): Promise<{ fh: FileHandle; direct: boolean }> {
  if (direct && constants.O_DIRECT !== undefined) {
    try {
      return { fh: await open(path, flags | constants.O_DIRECT, mode), direct: true };
    } catch (error) {
      if (!isEinval(error)) throw error;
    }
  }
  return { fh: await open(path, flags, mode), direct: false };
}

/**
 * Writes a new file front to back from chunks of any size, staging them in aligned buffers so
 * that every write but the last is a whole {@link CHUNK}; one write is in flight while the next
 * buffer fills. Memory stays at two chunks whatever the file's size.
 */
export class SequentialWriter {
  #fh: FileHandle;
  #direct: boolean;
  readonly #path: string;
  readonly #buffers = alignedBuffers(2);
  #current = 0;
  #used = 0;
  #position = 0;
  #inFlight: Promise<void> = Promise.resolve();

  private constructor(path: string, fh: FileHandle, direct: boolean) {
    this.#path = path;
    this.#fh = fh;
    this.#direct = direct;
  }

  /** Creates `path`, which must not exist; `direct` asks for O_DIRECT (taken only where the file system allows it). */
  static async create(path: string, options: { mode?: number; direct: boolean }): Promise<SequentialWriter> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
    const { fh, direct } = await openMaybeDirect(path, flags, options.mode ?? 0o644, options.direct);
    return new SequentialWriter(path, fh, direct);
  }

  /** Appends `chunk`; resolves once it is staged (a full buffer waits for the previous write first). */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const buffer = this.#buffers[this.#current]!;
      const n = Math.min(CHUNK - this.#used, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + n), this.#used);
      this.#used += n;
      offset += n;
      if (this.#used === CHUNK) await this.#flush();
    }
  }

  /** Sends the current buffer to the file and switches to the other one once its write is done. */
  async #flush(): Promise<void> {
    const buffer = this.#buffers[this.#current]!;
    const length = this.#used;
    const position = this.#position;
    await this.#inFlight;
    this.#inFlight = this.#writeAll(buffer, length, position);
    // Keep a rejection for whoever awaits next, not as an unhandled one.
    this.#inFlight.catch(() => undefined);
    this.#position += length;
    this.#current = 1 - this.#current;
    this.#used = 0;
  }

  async #writeAll(buffer: Buffer, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await this.#writeSome(buffer, done, length - done, position + done);
      done += bytesWritten;
    }
  }

  async #writeSome(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    try {
      return await this.#fh.write(buffer, offset, length, position);
    } catch (error) {
      if (!this.#direct || !isEinval(error)) throw error;
      // The file system took O_DIRECT at open but not for this write: go on through the page cache.
      await this.#fh.close();
      this.#fh = await open(this.#path, constants.O_WRONLY);
      this.#direct = false;
      return this.#fh.write(buffer, offset, length, position);
    }
  }

  /** Writes what is staged and closes the file; returns its size. */
  async close(): Promise<number> {
    try {
      await this.#inFlight;
      const size = this.#position + this.#used;
      if (this.#used > 0) {
        const buffer = this.#buffers[this.#current]!;
        if (this.#direct) {
          // Direct writes are whole blocks: write the tail padded with zeros, then cut the file to its size.
          const padded = Math.ceil(this.#used / ALIGN) * ALIGN;
          buffer.fill(0, this.#used, padded);
          await this.#writeAll(buffer, padded, this.#position);
          await this.#fh.truncate(size);
        } else {
          await this.#writeAll(buffer, this.#used, this.#position);
        }
      }
      return size;
    } finally {
      await this.#fh.close();
    }
  }

  /** Closes the file without writing what is staged (the caller deletes it). */
  async abort(): Promise<void> {
    await this.#inFlight.catch(() => undefined);
    await this.#fh.close().catch(() => undefined);
  }
}

/**
 * Reads a whole file front to back in {@link CHUNK}-sized pieces, the next read in flight while
 * the caller uses the current piece. `direct` reads around the page cache: right for a file just
 * written with O_DIRECT, which is not in it. Three buffers rotate: a piece stays valid until the
 * piece after the next one is asked for, so the caller may still be writing piece i while it
 * receives piece i + 1, as long as that write is done before it asks for piece i + 2.
 */
export async function* readChunks(path: string, direct: boolean): AsyncGenerator<Buffer> {
  let { fh, direct: isDirect } = await openMaybeDirect(path, constants.O_RDONLY, 0, direct);
  const buffers = alignedBuffers(3);
  let position = 0;
  const readAt = async (buffer: Buffer, at: number): Promise<number> => {
    try {
      return (await fh.read(buffer, 0, CHUNK, at)).bytesRead;
    } catch (error) {
      if (!isDirect || !isEinval(error)) throw error;
      await fh.close();
      ({ fh } = await openMaybeDirect(path, constants.O_RDONLY, 0, false));
      isDirect = false;
      return (await fh.read(buffer, 0, CHUNK, at)).bytesRead;
    }
  };
  let next: Promise<number> | undefined = readAt(buffers[0]!, 0);
  try {
    for (let i = 0; next; i++) {
      const bytes: number = await next;
      next = undefined;
      if (bytes === 0) return;
      const buffer = buffers[i % 3]!;
      position += bytes;
      // A short read means the end of the file (regular files only come here).
      if (bytes === CHUNK) next = readAt(buffers[(i + 1) % 3]!, position);
      yield buffer.subarray(0, bytes);
      if (bytes < CHUNK) return;
    }
  } finally {
    await next?.catch(() => undefined);
    await fh.close();
  }
}

/**
 * Copies `source` to `target` (created; it must not exist) in one pass, feeding every chunk to
 * `onChunk` (a hash) before writing that same buffer, so the bytes checked are the bytes
 * written: nothing can change them in between. Reads run ahead of writes by one chunk; throws
 * when the source's size changes underneath.
 */
export async function copyChunked(
  source: string,
  target: string,
  options: { mode: number; directRead: boolean; onChunk?: (chunk: Buffer) => void; signal?: AbortSignal },
): Promise<number> {
  const out = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, options.mode);
  let pending: Promise<unknown> = Promise.resolve();
  let position = 0;
  try {
    const { size } = await stat(source);
    for await (const chunk of readChunks(source, options.directRead)) {
      options.signal?.throwIfAborted();
      options.onChunk?.(chunk);
      await pending;
      pending = writeFully(out, chunk, position);
      pending.catch(() => undefined);
      position += chunk.length;
    }
    await pending;
    if (position !== size) throw new Error(`${source} changed size while it was copied (${size} then ${position} bytes)`);
    return position;
  } finally {
    await pending.catch(() => undefined);
    await out.close();
  }
}

async function writeFully(fh: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    done += (await fh.write(buffer, done, buffer.length - done, position + done)).bytesWritten;
  }
}
