/**
 * The one stamp of a file that every record of the incremental state keeps (engine
 * signatures, no-op and delta records, the playbook cache, placed artifacts, destinations),
 * and the one rule that says when a stamp proves a file unchanged.
 *
 * A stamp is the part of a stat that changes when a file is written, replaced or has its
 * mode changed: size, modification time, change time, inode and mode. The change time is
 * set by the kernel on every write, chmod, rename and `touch -d`, and cannot be set back by
 * a program, so a file edited in place with its size kept and its mtime restored still shows
 * as changed.
 *
 * Racy stamps (git's "racy clean" case): file times have a granularity (a kernel tick, one
 * second on some file systems), so a file written again within the same tick after it was
 * stamped can keep the very same stamp. A stamp whose mtime or ctime is within
 * {@link RACY_MS} of the moment it was taken therefore proves nothing: such a file is
 * looked at again by content (hashed), never trusted from its stat alone.
 *
 * Only public, documented `fs` calls are used.
 */
import { lstatSync, statSync, type Stats } from 'node:fs';

/** What a stat says about a file: enough to tell that it changed without reading it. */
export interface Stamp {
  size: number;
  /** Modification time, ms (as `Stats.mtimeMs`). */
  mtimeMs: number;
  /** Status change time, ms (as `Stats.ctimeMs`): moves on every write, chmod, rename and utimes. */
  ctimeMs: number;
  ino: number;
  /** File type and permission bits (as `Stats.mode`). */
  mode: number;
}

/**
 * How close to the moment a stamp was taken its file's times may be before the stamp stops
 * proving anything: more than any file system's timestamp granularity (FAT's 2 s aside).
 */
export const RACY_MS = 1000;

/** The stamp of a stat result. */
export function stampOf(stats: Pick<Stats, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'mode'>): Stamp {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, mode: stats.mode };
}

/**
 * The stamp of a path, following symbolic links (`lstat` with `follow: false`); undefined
 * when it does not exist or cannot be reached (ENOENT, ENOTDIR, EACCES: not there as far
 * as a build is concerned).
 */
export function statStamp(path: string, follow = true): Stamp | undefined {
  try {
    const stats = follow ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
    return stats === undefined ? undefined : stampOf(stats);
  } catch {
    return undefined;
  }
}

/** Whether two stamps are of the same, unchanged file. */
export function sameStamp(a: Stamp | undefined, b: Stamp | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino &&
    a.mode === b.mode
  );
}

/**
 * Whether a stamp taken at `takenAt` (ms since the epoch; for a record, when it was written,
 * which is later than any of its stamps) is racy: its file may have changed again since
 * without changing the stamp. A racy stamp never proves a file unchanged.
 */
export function isRacy(stamp: Pick<Stamp, 'mtimeMs' | 'ctimeMs'>, takenAt: number): boolean {
  const limit = takenAt - RACY_MS;
  return !(stamp.mtimeMs < limit && stamp.ctimeMs < limit);
}

/**
 * Whether `now` (a stat taken now) proves the file is the one `recorded` describes: the
 * same stamp, and one that was not racy when it was recorded at `recordedAt`.
 */
export function provesUnchanged(recorded: Stamp | undefined, now: Stamp | undefined, recordedAt: number): boolean {
  return sameStamp(recorded, now) && !isRacy(recorded!, recordedAt);
}

/** Numbers per stamp in a packed array ({@link packStamp}): size (-1: absent), mtimeMs, ctimeMs, ino, mode. */
export const STAMP_FIELDS = 5;

/** Writes a stamp (or "absent", size -1) into a packed array at stamp index `i`. */
export function packStamp(into: Float64Array, i: number, stamp: Stamp | undefined): void {
  const at = i * STAMP_FIELDS;
  into[at] = stamp ? stamp.size : -1;
  into[at + 1] = stamp ? stamp.mtimeMs : 0;
  into[at + 2] = stamp ? stamp.ctimeMs : 0;
  into[at + 3] = stamp ? stamp.ino : 0;
  into[at + 4] = stamp ? stamp.mode : 0;
}

/** The stamp at index `i` of a packed array; undefined for "absent". */
export function unpackStamp(from: Float64Array, i: number): Stamp | undefined {
  const at = i * STAMP_FIELDS;
  if (from[at] === -1) return undefined;
  return { size: from[at]!, mtimeMs: from[at + 1]!, ctimeMs: from[at + 2]!, ino: from[at + 3]!, mode: from[at + 4]! };
}

/**
 * Whether the packed stamp at index `i` is `now` (both may be "absent") and, when present,
 * was not racy at `recordedAt`: the check of a no-op record, one call per recorded file.
 */
export function packedProvesUnchanged(from: Float64Array, i: number, now: Stats | undefined, recordedAt: number): boolean {
  const at = i * STAMP_FIELDS;
  if (now === undefined) return from[at] === -1;
  const limit = recordedAt - RACY_MS;
  return (
    from[at] === now.size &&
    from[at + 1] === now.mtimeMs &&
    from[at + 2] === now.ctimeMs &&
    from[at + 3] === now.ino &&
    from[at + 4] === now.mode &&
    now.mtimeMs < limit &&
    now.ctimeMs < limit
  );
}

/** One options object for every stat of a large check, not one each. */
const NO_THROW = { throwIfNoEntry: false } as const;

/** `statSync` that gives undefined for a path that does not exist or cannot be reached. */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, NO_THROW);
  } catch {
    return undefined;
  }
}
