/**
 * In-process compressors for package payloads: gzip (node:zlib), xz (lzma-native: liblzma) and
 * zstd (@hpcc-js/wasm-zstd), each a function from a byte stream to a byte stream. The
 * output depends only on the input bytes: never on the machine, thread count or time.
 */
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';

/** The payload compressions aiop writes. */
export const COMPRESSIONS = ['gzip', 'xz', 'zstd', 'none'] as const;
/** One of {@link COMPRESSIONS}. */
export type Compression = (typeof COMPRESSIONS)[number];

/** File name suffix of a payload with this compression (`.gz`, `.xz`, `.zst`, ''). */
export function compressionSuffix(compression: Compression): string {
  return { gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' }[compression];
}

async function* gzipChunks(chunks: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  // node's gzip header carries mtime 0 and no file name: no timestamp leaks into the package.
  const out = pipeline(Readable.from(chunks), createGzip({ level }), () => undefined);
  for await (const chunk of out) yield chunk as Buffer;
}

async function* xzChunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const lzma = (await import('lzma-native')).default;
  // One thread: multi-threaded liblzma cuts blocks by thread count, which would make the bytes depend on the machine.
  // CRC64 as the xz program writes; the library takes the numeric constant (its typings say a name).
  const check = (lzma as unknown as { CHECK_CRC64: number }).CHECK_CRC64 as unknown as 'CHECK_CRC64';
  const compressor = lzma.createCompressor({ preset: 6, threads: 1, check });
  const out = pipeline(Readable.from(chunks), compressor, () => undefined);
  for await (const chunk of out) yield chunk as Buffer;
}

/** The wasm zstd module keeps one compression context: streams take turns. */
let zstdTurn: Promise<void> = Promise.resolve();

async function* zstdChunks(chunks: AsyncIterable<Buffer>, level: number): AsyncGenerator<Buffer> {
  const { Zstd } = await import('@hpcc-js/wasm-zstd');
  const zstd = await Zstd.load();
  let release!: () => void;
  const previous = zstdTurn;
  zstdTurn = new Promise<void>((resolve) => (release = resolve));
  await previous;
  try {
    zstd.reset();
    zstd.setCompressionLevel(level);
    for await (const chunk of chunks) {
      const out = zstd.compressChunk(chunk);
      // The result is a view of wasm memory that the next call reuses: copy it out.
      if (out.length > 0) yield Buffer.from(out);
    }
    yield Buffer.from(zstd.compressEnd());
  } finally {
    zstd.reset();
    release();
  }
}

/** Chunks are gathered to at least this size before they reach a compressor. */
const GATHER_BYTES = 64 * 1024;

/**
 * The same bytes in chunks of at least {@link GATHER_BYTES} (the last may be shorter): an
 * archive of many small files is mostly 512-byte headers and short contents, and each chunk
 * costs the compressor a call (for zlib, a trip through the thread pool) whatever its size.
 * gzip's and xz's bytes do not depend on how their input is cut; zstd's do (the wasm module
 * ends a block at every call), so there the larger chunks also compress better. The cuts
 * follow from the archive's contents alone, so equal inputs still give equal bytes.
 */
export async function* gatherChunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    if (size === 0 && chunk.length >= GATHER_BYTES) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    size += chunk.length;
    if (size >= GATHER_BYTES) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

/** Compresses a stream of bytes. `gzip` at level 9, `xz` at preset 6 (as xz and dpkg-deb), `zstd` at level 3 (dpkg-deb's defaults). */
export function compressChunks(input: AsyncIterable<Buffer>, compression: Compression): AsyncIterable<Buffer> {
  const chunks = gatherChunks(input);
  switch (compression) {
    case 'gzip':
      return gzipChunks(chunks, 9);
    case 'xz':
      return xzChunks(chunks);
    case 'zstd':
      return zstdChunks(chunks, 3);
    case 'none':
      return chunks;
  }
}
