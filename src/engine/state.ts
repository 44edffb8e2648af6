/**
 * What the engine remembers between runs: per target the signatures of its commands,
 * sources and dependencies and a stamp of its output; per source file a stamp, so that a
 * file whose stamp did not change is not hashed again. Stamps and the rule that says when
 * one proves a file unchanged: src/store/stamp.ts. How it is kept on disk:
 * src/store/state-file.ts.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isRacy, sameStamp, stampOf, type Stamp } from '../store/stamp.js';

/** A file's stamp with the hash of its content. */
export interface FileStamp extends Stamp {
  /**
   * sha256 hex of the content; for a symlink, of its target; for a folder, of everything in
   * it (names, types, permissions and contents, {@link stampFile}).
   */
  hash: string;
  /** For a folder: the stamps of the files in it, by path relative to the folder (so that unchanged ones are not hashed again). */
  tree?: Record<string, FileStamp>;
  /**
   * Set when the file's times were within the racy window as it was stamped: then the stamp
   * cannot prove later that the file is unchanged, and the file is hashed again.
   */
  racy?: true;
}

/** The signatures recorded when a target was last made successfully. */
export interface TargetRecord {
  /** sha256 of the expanded commands (A-A-P's buildcheck), with the variables a `:template` may expand. */
  cmd: string;
  /** sha256 of the sources' names, contents and modes. */
  src: string;
  /** sha256 of the dependencies' signatures. */
  deps: string;
  /** The output's stamp (file targets). */
  out?: FileStamp;
  /** What dependents see: {@link fileSignature} of the output, or for a virtual target the hash of its inputs. */
  sig: string;
}

/** sha256 hex of a string. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The permission bits of a mode, as octal text: part of what a file gives its dependents. */
export function permissions(mode: number): string {
  return (mode & 0o7777).toString(8);
}

/** What a file target's dependents see of its output: content and permissions. */
export function fileSignature(stamp: FileStamp): string {
  return sha256(`${stamp.hash}\0${permissions(stamp.mode)}`);
}

/** What a target's source signature holds of one source file: its content and permissions. */
export function sourceSignature(stamp: FileStamp): string {
  return `${stamp.hash}\0${permissions(stamp.mode)}`;
}

const SMALL_FILE = 4 * 1024 * 1024;

async function hashFile(path: string, size: number): Promise<string> {
  if (size <= SMALL_FILE) return createHash('sha256').update(readFileSync(path)).digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether a stamp is a folder's: its own stat says nothing of the files in it. */
function isFolder(stamp: Stamp): boolean {
  return (stamp.mode & constants.S_IFMT) === constants.S_IFDIR;
}

/**
 * Whether `known` proves, without reading the file, that a file with stamp `now` has its
 * hash. Never for a folder: a file edited inside leaves the folder's stat as it was.
 */
function proves(known: FileStamp | undefined, now: Stamp | undefined): known is FileStamp {
  return known !== undefined && known.racy !== true && !isFolder(known) && sameStamp(known, now);
}

/** Whether a stamp taken earlier in this run shows the file as `known` recorded it (so it need not be looked at again). */
export function seenMatches(known: FileStamp | undefined, seen: Stamp | undefined): known is FileStamp {
  return seen !== undefined && proves(known, seen);
}

/**
 * Stamps a file, reusing `known` when its stamp is unchanged and was not racy (then the
 * file is not read). Returns undefined when the path does not exist. When `seen` (a stamp
 * of this run) already matches `known`, the file is not even stat-ed again; a symbolic link
 * never matches that way, since `seen` follows links and `known` does not.
 */
export async function stampFile(path: string, known: FileStamp | undefined, seen?: Stamp): Promise<FileStamp | undefined> {
  if (seenMatches(known, seen)) return known;
  // Taken before the stat: a write in the same clock tick as the stat is then always within the racy window.
  const takenAt = Date.now();
  let stats: Stats | undefined;
  try {
    stats = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (stats === undefined) return undefined;
  const stamp = stampOf(stats);
  if (stats.isDirectory()) return { ...stamp, ...(await hashTree(path, (known as FileStamp | undefined)?.tree)) };
  if (proves(known, stamp)) return known;
  let hash: string;
  if (stats.isSymbolicLink()) hash = sha256(`symlink:${readlinkSync(path)}`);
  else hash = await hashFile(path, stats.size);
  return { ...stamp, hash, ...(isRacy(stamp, takenAt) ? { racy: true as const } : {}) };
}

/**
 * The hash of a folder as a source or output: every entry under it, in name order, with
 * its type, permissions and content (a symbolic link's target, not followed). The files'
 * stamps are kept, so a later look hashes only what changed.
 */
async function hashTree(root: string, known: Record<string, FileStamp> | undefined): Promise<{ hash: string; tree: Record<string, FileStamp> }> {
  const tree: Record<string, FileStamp> = {};
  const lines: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(rel === '' ? root : join(root, rel)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch {
      // Gone or unreadable meanwhile: as far as the build can tell, empty.
      return;
    }
    for (const name of names) {
      const entry = rel === '' ? name : `${rel}/${name}`;
      const path = join(root, entry);
      let seen: Stamp;
      try {
        seen = stampOf(lstatSync(path));
      } catch {
        continue;
      }
      if (isFolder(seen)) {
        lines.push(`${entry}/\0${permissions(seen.mode)}`);
        await walk(entry);
        continue;
      }
      const stamp = await stampFile(path, known?.[entry], seen);
      if (stamp === undefined) continue;
      tree[entry] = stamp;
      lines.push(`${entry}\0${(stamp.mode & constants.S_IFMT).toString(8)}\0${permissions(stamp.mode)}\0${stamp.hash}`);
    }
  };
  await walk('');
  return { hash: sha256(`tree\n${lines.join('\n')}`), tree };
}

/** A stamp taken earlier in this run (the no-op check's), passed on so the file is not stat-ed again. */
export type SeenStat = Stamp;
