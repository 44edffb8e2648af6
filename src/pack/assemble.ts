/**
 * The last step shared by the .deb and .rpm writers: the compressed payload is made in a
 * scratch file first (its size and digest go into the headers before it), then the package is
 * written as the headers, the payload's bytes and a trailer to a temporary file that is
 * renamed over the output, so that no reader ever sees half a package.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tempPathFor } from '../core/atomic.js';
import { makeDirs } from '../core/make-dirs.js';
import { AiopError } from '../core/errors.js';

/**
 * Writes `outFile` from what `make` returns after filling `scratch` (removed in every case).
 * A failure leaves no output and no temporary file; one that is not an AiopError becomes a
 * `pack` error naming the output.
 */
export async function writeAssembled(outFile: string, make: (scratch: string) => Promise<{ head: Buffer; tail?: Buffer }>): Promise<void> {
  await makeDirs(dirname(outFile));
  const tmp = tempPathFor(outFile);
  const scratch = `${tmp}.payload`;
  try {
    const { head, tail } = await make(scratch);
    async function* chunks(): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of createReadStream(scratch)) yield chunk as Buffer;
      if (tail !== undefined) yield tail;
    }
    await pipeline(Readable.from(chunks()), createWriteStream(tmp));
    await rename(tmp, outFile);
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof AiopError) throw error;
    throw new AiopError('pack', `cannot write ${outFile}: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(scratch, { force: true });
  }
}
