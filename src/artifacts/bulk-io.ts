/**
 * Large sequential file I/O for artifacts: whole chunks of 1 MiB, and, for files
 * nobody reads right away (the download temp file, a cache entry), `O_DIRECT`, which skips the
 * page cache. Measured on the benchmark machine (bench/analysis.md (f)): writing 2 GiB through
 * the page cache cost 2-9 s of kernel time touching fresh pages, against 1.2-2.3 s direct; and
 * a download written once through the page cache and then copied touches those pages twice.
 * Where the file system refuses `O_DIRECT` (EINVAL: tmpfs, some FUSE), the same calls go
 * through the page cache, so nothing else depends on it.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { withPath } from '../core/errors.js';

/**
 * Bytes per read, and per write of a copy (which writes the buffer it read). Not larger: on the
 * benchmark machine, buffered writes of 2 or 4 MiB were up to 10x slower than 1 MiB ones (dd
 * from the page cache to a new file: 3-4.7 s against 0.4 s for 1 GiB), the kernel then backing
 * the page cache with large folios of fresh memory.
 */
export const CHUNK = 1 << 20;
/** Direct I/O wants buffer addresses, offsets and lengths aligned to the device's block; a page covers every device. */
const ALIGN = 4096;
const WASM_PAGE = 64 * 1024;

/**
 * `count` buffers of `size` bytes (a multiple of 4096) at page-aligned addresses. Node's Buffer pool and
 * malloc give no alignment guarantee; WebAssembly memory is page-aligned by construction.
 */
export function alignedBuffers(count: number, size = CHUNK): Buffer[] {
  // Not in this project's type libraries (no DOM), but in every Node.js.
  const { WebAssembly } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } };
  const memory = new WebAssembly.Memory({ initial: Math.ceil((count * size) / WASM_PAGE) });
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * size, size));
}

/** Sets of three {@link CHUNK} buffers that no read or write is using, kept for the next one. */
const idleSets: Buffer[][] = [];
/**
 * How many idle sets are kept (3 MiB each). A new set is memory the garbage collector frees
 * only when it next runs: build_all placing 16 artifacts at once took 48 MiB that way and
 * kept it past its peak; taken from here, a burst costs no more than the copies running at once.
 */
const IDLE_SETS = 4;

/** Three aligned buffers of {@link CHUNK} bytes: idle ones first. Give them back with {@link giveBack} once nothing uses them. */
function takeSet(): Buffer[] {
  return idleSets.pop() ?? alignedBuffers(3);
}

/** Returns a set from {@link takeSet}: every read into it and write from it must be over. */
function giveBack(set: Buffer[]): void {
  if (idleSets.length < IDLE_SETS) idleSets.push(set);
}

function isEinval(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EINVAL';
}

/**
 * The switch for this module's one speed trick: `AIOP_DIRECT_IO=0` writes through the page
 * cache like any other file (for file systems that take O_DIRECT and then misbehave, or to
 * measure without it).
 */
export function directIoAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.AIOP_DIRECT_IO !== '0';
}

/** Opens `path` with O_DIRECT added when `direct`, or without it where the file system refuses it. */
async function openMaybeDirect(path: string, flags: number, mode: number, direct: boolean): Promise<{ fh: FileHandle; direct: boolean }> {
  if (direct && constants.O_DIRECT !== undefined && directIoAllowed()) {
    try {
      return { fh: await open(path, flags | constants.O_DIRECT, mode), direct: true };
    } catch (error) {
      if (!isEinval(error)) throw error;
    }
  }
  return { fh: await open(path, flags, mode), direct: false };
}

/** Bytes per write of a {@link SequentialWriter} (see {@link CHUNK}). */
const WRITE_CHUNK = CHUNK;
/** Staging buffers per writer: one filling, the others' writes in flight (direct writes wait for the disk); 3 MiB a writer, as a download holds two beside undici's buffers (peak RSS floor of 150 MB). */
const WRITE_BUFFERS = 3;

/**
 * Writes a new file front to back from chunks of any size, staging them in aligned buffers so
 * that every write but the last is a whole {@link WRITE_CHUNK}; while one buffer fills, the
 * others are being written. Memory stays at three small buffers whatever the file's size.
 */
export class SequentialWriter {
  #fh: FileHandle;
  #direct: boolean;
  readonly #path: string;
  readonly #buffers = takeSet();
  readonly #pending: Array<Promise<void> | undefined> = new Array<Promise<void> | undefined>(WRITE_BUFFERS);
  /** The first write goes alone: if the file system refuses a direct write, nothing else is in flight. */
  #probed = false;
  #released = false;
  #current = 0;
  #used = 0;
  #position = 0;

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

  /** Appends `chunk`; resolves once it is staged (waiting when every buffer is being written). */
  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#used === 0) await this.#pending[this.#current];
      const buffer = this.#buffers[this.#current]!;
      const n = Math.min(WRITE_CHUNK - this.#used, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + n), this.#used);
      this.#used += n;
      offset += n;
      if (this.#used === WRITE_CHUNK) await this.#flush();
    }
  }

  /** Starts writing the current buffer and moves on to the next one. */
  async #flush(): Promise<void> {
    const write = this.#writeAll(this.#buffers[this.#current]!, this.#used, this.#position);
    // A rejection is kept for whoever awaits this buffer next, not left unhandled.
    write.catch(() => undefined);
    this.#pending[this.#current] = write;
    this.#position += this.#used;
    this.#current = (this.#current + 1) % WRITE_BUFFERS;
    this.#used = 0;
    if (!this.#probed) {
      await write;
      this.#probed = true;
    }
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
      if (!this.#direct || this.#probed || !isEinval(error)) throw error;
      // The file system took O_DIRECT at open but refuses the first write: go through the page cache.
      await this.#fh.close();
      this.#fh = await open(this.#path, constants.O_WRONLY);
      this.#direct = false;
      return this.#fh.write(buffer, offset, length, position);
    }
  }

  /** Writes what is staged and closes the file; returns its size. */
  async close(): Promise<number> {
    try {
      await Promise.all(this.#pending);
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
      await this.#release();
    }
  }

  /** Closes the file without writing what is staged (the caller deletes it). */
  async abort(): Promise<void> {
    await Promise.allSettled(this.#pending);
    await this.#fh.close().catch(() => undefined);
    // Its buffers are not given back: a write may still be staging into one (a stream
    // destroyed in the middle of a write), and the next file's bytes must never meet it.
  }

  /** Gives the buffers back once every write from them is over (after close: nothing writes any more). */
  async #release(): Promise<void> {
    await Promise.allSettled(this.#pending);
    // Once only: an abort after a failed close must not hand the same buffers out twice.
    if (this.#released) return;
    this.#released = true;
    giveBack(this.#buffers);
  }
}

/**
 * Reads a whole file front to back in {@link CHUNK}-sized pieces, the next read in flight while
 * the caller uses the current piece. `direct` reads around the page cache: right for a file just
 * written with O_DIRECT, which is not in it. Three buffers rotate: a piece stays valid until the
 * piece after the next one is asked for, so the caller may still be writing piece i while it
 * receives piece i + 1, as long as that write is done before it asks for piece i + 2.
 */
export async function* readChunks(path: string, direct: boolean, buffers: Buffer[] = alignedBuffers(3)): AsyncGenerator<Buffer> {
  let { fh, direct: isDirect } = await openMaybeDirect(path, constants.O_RDONLY, 0, direct);
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
  const buffers = takeSet();
  try {
    const { size } = await stat(source);
    for await (const chunk of readChunks(source, options.directRead, buffers)) {
      options.signal?.throwIfAborted();
      options.onChunk?.(chunk);
      await pending;
      pending = writeFully(out, chunk, position).catch((error: unknown) => Promise.reject(withPath(error, target)));
      pending.catch(() => undefined);
      position += chunk.length;
    }
    await pending;
    if (position !== size) throw new Error(`${source} changed size while it was copied (${size} then ${position} bytes)`);
    return position;
  } finally {
    await pending.catch(() => undefined);
    // The reads are over too: the loop has ended the generator, which waits for its last read.
    giveBack(buffers);
    await out.close();
  }
}

async function writeFully(fh: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    done += (await fh.write(buffer, done, buffer.length - done, position + done)).bytesWritten;
  }
}
