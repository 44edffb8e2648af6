/**
 * The bytes of a package file as the archive writers (zip, tar, cpio) take them: exactly the
 * size the folder listing gave, or an error, so that a file changed while it is packed never
 * makes a silently different archive.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { AiopError } from '../core/errors.js';

/**
 * Files up to this size are read with one synchronous read. Most files of a package are small,
 * and for them a stream's trips through the thread pool (open, read, end of file, close: about
 * 0.1 ms each) cost many times the read itself; a larger file streams in 1 MiB chunks.
 */
export const SMALL_FILE = 256 * 1024;

function changedSize(path: string, size: number, read: number | 'more'): AiopError {
  return new AiopError('pack', `${path} changed size while being packed (${size} bytes listed, ${read} read)`);
}

/** The whole content of a small file (at most {@link SMALL_FILE} bytes) listed with `size` bytes. */
export function readSmallFile(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    // One byte more than listed: a file that grew is caught without reading all of it.
    const buffer = Buffer.allocUnsafe(size + 1);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read !== size) throw changedSize(path, size, read > size ? 'more' : read);
    return buffer.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** The content of a file listed with `size` bytes: one chunk for a small file, 1 MiB chunks otherwise. */
export async function* fileChunks(path: string, size: number): AsyncGenerator<Buffer> {
  if (size <= SMALL_FILE) {
    yield readSmallFile(path, size);
    return;
  }
  let read = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buffer = chunk as Buffer;
    read += buffer.length;
    if (read > size) throw changedSize(path, size, 'more');
    yield buffer;
  }
  if (read !== size) throw changedSize(path, size, read);
}
