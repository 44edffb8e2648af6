/** A deterministic listing of a package folder, shared by the zip and .deb writers. */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AiopError } from '../core/errors.js';
import { compareBytes } from '../core/list-tree.js';

/** One object in a package folder; `path` is relative, `/`-separated, without a trailing slash. */
export type TreeEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; size: number; executable: boolean; absolute: string }
  | { kind: 'symlink'; path: string; target: string };

/** Normalised archive mode: 0755 when any execute bit is set, else 0644 (SPEC: fixed modes). */
export function normalMode(executable: boolean): number {
  return executable ? 0o755 : 0o644;
}

/**
 * Lists every directory, regular file and symlink under `root` (not `root` itself), sorted
 * bytewise by path. Symlinks are reported, never followed. Sockets, FIFOs and devices are
 * refused because no archive format we write can carry them portably. Synchronous: a stat
 * takes microseconds, a trip through the thread pool for each of thousands of files far more.
 */
export function walkTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  function visit(dir: string, rel: string): void {
    for (const name of readdirSync(dir)) {
      const absolute = join(dir, name);
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(absolute);
      if (st.isSymbolicLink()) {
        out.push({ kind: 'symlink', path, target: readlinkSync(absolute) });
      } else if (st.isDirectory()) {
        out.push({ kind: 'dir', path });
        visit(absolute, path);
      } else if (st.isFile()) {
        out.push({ kind: 'file', path, size: st.size, executable: (st.mode & 0o111) !== 0, absolute });
      } else {
        throw new AiopError('pack', `cannot pack ${path}: not a file, folder or symlink`);
      }
    }
  }
  try {
    visit(root, '');
  } catch (error) {
    if (error instanceof AiopError) throw error;
    throw new AiopError('pack', `cannot read package folder ${root}: ${(error as Error).message}`, { cause: error });
  }
  return out.sort((a, b) => compareBytes(a.path, b.path));
}
