/**
 * Whether the entries of a package folder are still those a no-op record lists, told from
 * the stats of its folders: a file added, removed or renamed changes its folder's time, a
 * file written in place does not. So the incremental fast path lists a folder only when its
 * stat changed, and after the build only when a command changed one.
 */
import { readdirSync } from 'node:fs';
import { sameStamp, statStamp, type Stamp } from './stamp.js';
import type { StaleRecord } from './noop.js';

/** The folders of a package and their stats, as they were before a build ran. */
export interface FolderStats {
  /** Whether every folder still has the stat it had: then no entry was added or removed. */
  unchanged(): boolean;
}

/**
 * Checks that the package folder `pkgDir` and its `folders` (package-relative) hold exactly
 * the recorded entries (indexes `from` to `to` of the record). A folder the record's check
 * saw unchanged is taken as it is; any other is listed. Undefined when an entry was added or
 * removed (or a folder is gone): only the full path can tell what that means.
 */
export function checkFolders(stale: StaleRecord, pkgDir: string, folders: readonly string[], from: number, to: number): FolderStats | undefined {
  const stat = (path: string): Stamp | undefined => statStamp(path);
  const before = new Map<string, Stamp>();
  let recorded: Map<string, string[]> | undefined;
  for (const rel of ['', ...folders]) {
    const path = rel === '' ? pkgDir : `${pkgDir}/${rel}`;
    if (stale.has(path)) {
      const seen = stale.get(path);
      if (!seen) return undefined;
      before.set(path, seen);
      continue;
    }
    const first = stat(path);
    if (!first) return undefined;
    recorded ??= childrenOf(stale, pkgDir, from, to);
    const names = readdirSync(path).sort();
    const expected = recorded.get(rel) ?? [];
    if (names.length !== expected.length || names.some((name, i) => name !== expected[i])) return undefined;
    // Listed while nothing changed it: the entries and the stat belong together.
    if (!sameStamp(first, stat(path))) return undefined;
    before.set(path, first);
  }
  return {
    unchanged: () => [...before].every(([path, seen]) => sameStamp(seen, stat(path))),
  };
}

/** The recorded entries' names by folder (package-relative, '' for the package folder), sorted. */
function childrenOf(stale: StaleRecord, pkgDir: string, from: number, to: number): Map<string, string[]> {
  const children = new Map<string, string[]>();
  const skip = pkgDir.length + 1;
  for (let i = from; i < to; i++) {
    const rel = stale.path(i).slice(skip);
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const list = children.get(parent);
    const name = rel.slice(slash + 1);
    if (list) list.push(name);
    else children.set(parent, [name]);
  }
  for (const list of children.values()) list.sort();
  return children;
}
