/**
 * What the engine remembers between runs: per target the signatures of its commands,
 * sources and dependencies and a stamp of its output; per source file a stamp, so that a
 * file whose size, mtime and inode did not change is not hashed again. How it is kept on
 * disk: src/store/state-file.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';

/** Content hash plus the stat fields that let us skip re-hashing. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
  /** sha256 hex of the content; for a symlink, of its target; for a folder, "dir". */
  hash: string;
}

/** The signatures recorded when a target was last made successfully. */
export interface TargetRecord {
  /** sha256 of the expanded commands (A-A-P's buildcheck). */
  cmd: string;
  /** sha256 of the sources' names and contents. */
  src: string;
  /** sha256 of the dependencies' signatures. */
  deps: string;
  /** The output's stamp (file targets). */
  out?: FileStamp;
  /** What dependents see: the output's hash, or for a virtual target the hash of its inputs. */
  sig: string;
}

/** sha256 hex of a string. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const SMALL_FILE = 4 * 1024 * 1024;

async function hashFile(path: string, size: number): Promise<string> {
  if (size <= SMALL_FILE) return createHash('sha256').update(readFileSync(path)).digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sameStat(stats: Stats, stamp: FileStamp | undefined): stamp is FileStamp {
  return stamp !== undefined && stamp.size === stats.size && stamp.mtimeMs === stats.mtimeMs && stamp.ino === stats.ino;
}

/** A stat of the same file taken earlier in this run (the no-op check's), with its three fields. */
export interface SeenStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Whether a stat of this run shows the file as `known` recorded it (so it need not be looked at again). */
export function seenMatches(known: FileStamp | undefined, seen: SeenStat | undefined): known is FileStamp {
  return seen !== undefined && known !== undefined && seen.size === known.size && seen.mtimeMs === known.mtimeMs && seen.ino === known.ino;
}

/**
 * Stamps a file, reusing `known` when size, mtime and inode are unchanged (then the file
 * is not read). Returns undefined when the path does not exist. When `seen` (a stat of this
 * run) already matches `known`, the file is not even stat-ed again; a symbolic link never
 * matches that way, since `seen` follows links and `known` does not.
 */
export async function stampFile(path: string, known: FileStamp | undefined, seen?: SeenStat): Promise<FileStamp | undefined> {
  if (seenMatches(known, seen)) return known;
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return undefined;
  }
  if (sameStat(stats, known)) return known;
  let hash: string;
  if (stats.isSymbolicLink()) hash = sha256(`symlink:${readlinkSync(path)}`);
  else if (stats.isDirectory()) hash = 'dir';
  else hash = await hashFile(path, stats.size);
  return { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, hash };
}
