/** Writes that a crash can never leave half-done: a unique temp file beside the target, then rename. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeDirs, makeDirsSync } from './make-dirs.js';

/** A unique temporary path in the same folder as `file`, so that rename() is atomic. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to `file` atomically, creating the parent folder. */
export async function writeFileAtomic(file: string, data: string | Uint8Array | Iterable<string>, mode?: number): Promise<void> {
  await makeDirs(dirname(file));
  const tmp = tempPathFor(file);
  try {
    await writeFile(tmp, data, mode === undefined ? {} : { mode });
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * {@link writeFileAtomic} without the thread pool, for small records written at the end of a
 * short command, where each asynchronous step costs more than the write itself.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  makeDirsSync(dirname(file));
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
