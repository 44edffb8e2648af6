/**
 * Limits on what an archive may expand to, the same for every archive kind: a total size, and
 * a ratio of expanded to compressed bytes (a legitimate archive of zeros reaches a few hundred;
 * a decompression bomb reaches thousands). Counted as the bytes stream through, so nothing is
 * held in memory and a bomb is stopped early.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AiopError } from '../../core/errors.js';

/** Expanded bytes may be at most this many times the compressed bytes read so far. */
export const MAX_EXPANSION_RATIO = 1000;
/** What one archive may expand to in all. */
export const MAX_EXTRACTED_BYTES = 32 * 1024 ** 3;
/** Allowance before the ratio applies: a tiny archive of a few empty files is no bomb. */
const RATIO_SLACK_BYTES = 16 * 1024 * 1024;

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
}

/**
 * Counts the expanded bytes of `archive` (whose compressed bytes read so far `compressed()`
 * tells) and throws when a limit is passed.
 */
export class ExpansionBudget {
  #expanded = 0;

  constructor(
    readonly archive: string,
    readonly compressed: () => number,
    readonly maxBytes: number = MAX_EXTRACTED_BYTES,
    readonly maxRatio: number = MAX_EXPANSION_RATIO,
  ) {}

  /** Adds `bytes` expanded bytes; throws AiopError('extract') when a limit is passed. */
  add(bytes: number): void {
    this.#expanded += bytes;
    if (this.#expanded > this.maxBytes) {
      throw new AiopError('extract', `refusing ${this.archive}: it expands to more than ${gib(this.maxBytes)}, the limit for one archive`);
    }
    const compressed = Math.max(1, this.compressed());
    if (this.#expanded > RATIO_SLACK_BYTES && this.#expanded > compressed * this.maxRatio) {
      throw new AiopError(
        'extract',
        `refusing ${this.archive}: it expands to more than ${this.maxRatio} times its compressed size ` +
          `(${this.#expanded} bytes from ${compressed}), which only a decompression bomb does`,
      );
    }
  }

  /** A pass-through stream that counts what flows through it against this budget. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        try {
          this.add(chunk.length);
          callback(null, chunk);
        } catch (error) {
          callback(error as Error);
        }
      },
    });
  }
}
