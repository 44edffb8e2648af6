/**
 * The stat of many files, as cheaply as Node allows. A no-op build stats every source and
 * output of the package (20,000 files for a 10,000-target recipe) and nothing else, so the
 * cost per call is most of its time. `fs.statSync` spends about as long building the
 * `Stats` object (and collecting it afterwards) as the system call itself takes; Node's own
 * fs binding returns the raw numbers in a reused array instead. That binding is internal,
 * so it is only used after it gave exactly what `fs.statSync` gives for a real file, and
 * any surprise (a different signature, a throw, other numbers) falls back to `fs.statSync`
 * for the rest of the process.
 */
import { statSync } from 'node:fs';

/** Size, modification time (ms, as `Stats.mtimeMs`) and inode of a path, following symlinks. */
export interface StatTriple {
  size: number;
  mtimeMs: number;
  ino: number;
}

type RawStat = (path: string) => ArrayLike<number> | undefined;

// Field positions in the binding's array (node_file.h: dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, atime s/ns, mtime s/ns, ...).
const INO = 7;
const SIZE = 8;
const MTIME_S = 12;
const MTIME_NS = 13;

let raw: RawStat | null | undefined;

function bindingStat(): RawStat | null {
  try {
    const binding = (process as unknown as { binding(name: string): { stat?: (...args: unknown[]) => unknown } }).binding('fs');
    if (typeof binding.stat !== 'function') return null;
    const stat = binding.stat.bind(binding);
    return (path) => stat(path, false, undefined, false) as ArrayLike<number> | undefined;
  } catch {
    return null;
  }
}

function fromRaw(a: ArrayLike<number>): StatTriple {
  // The same arithmetic as Node's Stats (sec * 1e3 + nsec / 1e6), so the doubles compare equal.
  return { size: a[SIZE]!, mtimeMs: a[MTIME_S]! * 1e3 + a[MTIME_NS]! / 1e6, ino: a[INO]! };
}

/** Uses the binding only when it agrees with `fs.statSync` on `probe`, an existing file. */
function choose(probe: string): RawStat | null {
  const candidate = bindingStat();
  if (candidate === null) return null;
  try {
    const expected = statSync(probe);
    const got = candidate(probe);
    if (got === undefined || typeof got.length !== 'number' || got.length <= MTIME_NS) return null;
    const triple = fromRaw(got);
    const same = triple.size === expected.size && triple.mtimeMs === expected.mtimeMs && triple.ino === expected.ino;
    return same ? candidate : null;
  } catch {
    return null;
  }
}

/**
 * Returns a stat function. `probe` must name an existing file (the record being checked
 * is a good one): it decides, once per process, whether the fast way can be trusted.
 * The function returns undefined for a path that does not exist or cannot be reached.
 */
export function statter(probe: string): (path: string) => StatTriple | undefined {
  if (raw === undefined) raw = choose(probe);
  const fast = raw;
  if (fast !== null) {
    return (path) => {
      try {
        const a = fast(path);
        return a === undefined ? undefined : fromRaw(a);
      } catch {
        return undefined; // ENOTDIR, EACCES, ...: not there as far as a build is concerned
      }
    };
  }
  return (path) => {
    try {
      const s = statSync(path, { throwIfNoEntry: false });
      return s === undefined ? undefined : { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
    } catch {
      return undefined;
    }
  };
}

/**
 * {@link statter} without an object per call, for loops over every file of a build: writes
 * size, mtimeMs and ino to `into` from index `at` and returns true, or returns false for a
 * path that does not exist or cannot be reached.
 */
export function statterInto(probe: string): (path: string, into: Float64Array, at: number) => boolean {
  if (raw === undefined) raw = choose(probe);
  const fast = raw;
  if (fast !== null) {
    return (path, into, at) => {
      try {
        const a = fast(path);
        if (a === undefined) return false;
        into[at] = a[SIZE]!;
        into[at + 1] = a[MTIME_S]! * 1e3 + a[MTIME_NS]! / 1e6;
        into[at + 2] = a[INO]!;
        return true;
      } catch {
        return false;
      }
    };
  }
  const slow = statter(probe);
  return (path, into, at) => {
    const s = slow(path);
    if (s === undefined) return false;
    into[at] = s.size;
    into[at + 1] = s.mtimeMs;
    into[at + 2] = s.ino;
    return true;
  };
}

/** Whether {@link statter} took the fast way in this process (for tests and benchmarks). */
export function fastStatInUse(): boolean {
  return raw !== undefined && raw !== null;
}
