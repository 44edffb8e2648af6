/** Digests of outputs and the SHA256SUMS file beside them (`sha256sum -c` reads it). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { AiopError } from '../core/errors.js';
import { compareBytes } from '../core/list-tree.js';
import { acquireLock } from '../session/lock.js';

/** Hex digests of one file for several algorithms, in one streamed read. */
export async function digestFile<A extends string>(file: string, algorithms: readonly A[]): Promise<Record<A, string>> {
  const hashes = algorithms.map((a) => createHash(a));
  await pipeline(createReadStream(file), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) for (const h of hashes) h.update(chunk);
  });
  return Object.fromEntries(algorithms.map((a, i) => [a, hashes[i]!.digest('hex')])) as Record<A, string>;
}

/** Hex sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  return (await digestFile(file, ['sha256'] as const)).sha256;
}

const LINE_RE = /^([0-9a-f]{64}) [ *](.+)$/;

/** Adds/replaces lines for these files in dir/SHA256SUMS (`<hex>  <name>`), sorted by name, atomic. */
export async function updateSha256Sums(dir: string, fileNames: string[]): Promise<void> {
  for (const name of fileNames) {
    if (name === '' || /[/\\\n\r]/.test(name)) throw new AiopError('pack', `SHA256SUMS entries must be plain file names, got "${name}"`);
  }
  const sumsFile = join(dir, 'SHA256SUMS');
  // Digests first, outside the lock: they take the time; the read-merge-write is short.
  const fresh = new Map<string, string>();
  for (const name of fileNames) {
    try {
      fresh.set(name, await sha256File(join(dir, name)));
    } catch (error) {
      throw new AiopError('pack', `cannot checksum ${join(dir, name)}: ${(error as Error).message}`);
    }
  }
  // Builds of other packages share this file: without the lock one's lines could be lost.
  const lock = await acquireLock(join(dir, SUMS_LOCK), { holder: 'another aiop build updating SHA256SUMS' });
  try {
    await mergeSums(sumsFile, fresh);
  } finally {
    await lock.release();
  }
}

/** The lock file that serialises updates of a folder's SHA256SUMS. */
export const SUMS_LOCK = '.SHA256SUMS.lock';

async function mergeSums(sumsFile: string, fresh: Map<string, string>): Promise<void> {
  const lines = new Map<string, string>();
  let existing = '';
  try {
    existing = await readFile(sumsFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AiopError('pack', `cannot read ${sumsFile}: ${(error as Error).message}`);
  }
  for (const line of existing.split('\n')) {
    const m = LINE_RE.exec(line);
    if (m) lines.set(m[2]!, m[1]!);
  }
  for (const [name, hex] of fresh) lines.set(name, hex);
  const text = [...lines.entries()]
    .sort((a, b) => compareBytes(a[0], b[0]))
    .map(([name, hex]) => `${hex}  ${name}\n`)
    .join('');
  await writeFileAtomic(sumsFile, text);
}
