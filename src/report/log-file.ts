/**
 * One log file per run: `<logName>-<UTC timestamp>.log` in the log folder, plain text
 * (no progress box, no ANSI codes), one timestamped line per message with level and
 * source. Older files of the same name beyond `keep` are removed.
 *
 * A log file is appended to as the run goes, so it cannot be written atomically; it is
 * opened exclusively (`wx`) so two runs in the same millisecond never share one.
 */
import { createWriteStream, openSync, readdirSync, unlinkSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { EventLevel } from '../core/events.js';
import { makeDirsSync } from '../core/make-dirs.js';

/**
 * `Date.prototype.toISOString`'s text, from the UTC fields: the first `toISOString` of a
 * process costs 0.2 to 3 ms (V8 sets up its date formatting), the fields cost nothing.
 */
export function isoTimestamp(date: Date): string {
  const two = (n: number): string => (n < 10 ? `0${n}` : String(n));
  const ms = date.getUTCMilliseconds();
  const year = date.getUTCFullYear();
  // Years outside 0-9999 have their own form; they never occur in a log, but stay exact.
  if (year < 0 || year > 9999) return date.toISOString();
  return `${String(year).padStart(4, '0')}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** `20261122T031800123Z`: sortable as text, no characters that trouble any file system. */
export function fileTimestamp(date: Date): string {
  return isoTimestamp(date).replace(/[-:.]/g, '');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches the log files of one `logName` only (a longer package id sharing the prefix does not match). */
export function logFilePattern(logName: string): RegExp {
  return new RegExp(`^${escapeRegExp(logName)}-\\d{8}T\\d{9}Z(?:-\\d+)?\\.log$`);
}

/** The names among `names` to remove so that at most `keep` (at least 1) files of `logName` remain, oldest first. */
export function excessLogs(names: readonly string[], logName: string, keep: number): string[] {
  const pattern = logFilePattern(logName);
  const mine = names.filter((n) => pattern.test(n));
  // Same prefix and fixed-width timestamp: name order is age order once `.log` is gone
  // (so that a `-N` twin sorts after the file it collided with).
  const key = (n: string): string => n.slice(0, -'.log'.length);
  mine.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return mine.slice(0, Math.max(0, mine.length - Math.max(1, keep)));
}

/**
 * Removes the oldest log files of `logName` in `dir` so that at most `keep` remain.
 * Returns the removed paths. Files that vanish meanwhile (another run rotating) are fine.
 */
export function rotateLogs(dir: string, logName: string, keep: number): string[] {
  const removed: string[] = [];
  for (const name of excessLogs(readdirSync(dir), logName, keep)) {
    const path = join(dir, name);
    try {
      unlinkSync(path);
      removed.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

/** An open log file. `write` never blocks; `close` waits until everything is on disk. */
export class LogFile {
  readonly #stream: WriteStream;
  /** The first write error (disk full...): logging stops, the build does not. */
  #error: Error | undefined;
  /**
   * Lines not yet handed to the stream. A 10,000-target build logs about 50,000 lines; one
   * stream write each cost a system call and a thread-pool round trip apiece on the main
   * thread (about 3 s of a 10,000-target profile; once per event-loop turn still cost 0.6 s
   * of a 2,000-target one), so lines are gathered and written every 50 ms, or at 64 KiB.
   */
  #pending = '';
  #flushTimer: NodeJS.Timeout | undefined;

  private constructor(
    /** Path of the file, under the folder given to {@link LogFile.open}. */
    readonly path: string,
    stream: WriteStream,
  ) {
    this.#stream = stream;
    stream.on('error', (error) => {
      this.#error ??= error;
    });
  }

  /** The write error that stopped logging, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Creates the folder if needed, opens a fresh file, then rotates the old ones. Synchronous
   * (a few system calls, cheaper than thread-pool round trips), so it can also be called from
   * inside an event sink (one file per package in build_all), where nothing may be awaited.
   */
  static open(dir: string, logName: string, keep: number, now = new Date()): LogFile {
    makeDirsSync(dir);
    const base = `${logName}-${fileTimestamp(now)}`;
    for (let n = 0; ; n += 1) {
      const path = join(dir, n === 0 ? `${base}.log` : `${base}-${n}.log`);
      let fd: number;
      try {
        fd = openSync(path, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      const file = new LogFile(path, createWriteStream(path, { fd }));
      rotateLogs(dir, logName, keep);
      return file;
    }
  }

  /** Writes one message; each of its lines gets the timestamp, level and source. */
  write(level: EventLevel, source: string, text: string, when = new Date()): void {
    const head = `${isoTimestamp(when)} ${level.padEnd(8)} [${source}] `;
    const body = text.split(/\r?\n/).map((line) => `${head}${line}\n`).join('');
    if (this.#error || this.#stream.destroyed) return;
    this.#pending += body;
    if (this.#pending.length >= 64 * 1024) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), 50);
  }

  #flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (!this.#pending) return;
    const text = this.#pending;
    this.#pending = '';
    if (!this.#error && !this.#stream.destroyed) this.#stream.write(text);
  }

  /** Flushes and closes. */
  close(): Promise<void> {
    this.#flush();
    return new Promise((resolve) => {
      if (this.#stream.destroyed) {
        resolve();
        return;
      }
      // Resolves on error too: a log that could not be written must not fail the build.
      this.#stream.once('error', () => resolve());
      this.#stream.end(() => resolve());
    });
  }
}
