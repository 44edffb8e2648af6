/**
 * Leftovers of a build that was killed (SIGKILL, power loss): atomic-write temp files
 * (`.<name>.tmp-<pid>-<hex>`), lock files of dead builds (`.SHA256SUMS.lock`), the cache's
 * download temps (`aiop-<pid>-...`, `nocache-<pid>-...`) and extraction folders inside a
 * package folder updated in place.
 * Removed at the start of the next build, only when the process that made them is gone,
 * so a concurrent build's temporaries are never touched.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, removeLockIfStale } from './lock.js';
import { CONTENT_PATHS_DIR } from '../artifacts/cache-dir.js';

/** A temp of src/core/atomic.ts, or a scratch file named after one (`.payload` of the .deb and .rpm writers). */
const ATOMIC_TEMP = /^\..+\.tmp-(\d+)-[0-9a-f]+(?:\.[a-z]+)?$/;
const CACHE_TEMP = /^(?:aiop|nocache)-(\d+)-/;

function deadOwner(name: string, pattern: RegExp): boolean {
  const match = pattern.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  return pid !== process.pid && !pidAlive(pid);
}

/** Removes dead processes' atomic-write temps and lock files (`.<name>.lock`) directly inside each folder. */
export async function removeStaleTemps(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (deadOwner(name, ATOMIC_TEMP)) await rm(join(dir, name), { recursive: true, force: true });
      else if (/^\..+\.lock$/.test(name)) await removeLockIfStale(join(dir, name));
    }
  }
}

/** Removes dead processes' download temps from the cache's tmp folder, and their half-written records of content paths. */
export async function removeStaleCacheTemps(cacheDir: string): Promise<void> {
  const dir = join(cacheDir, 'tmp');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) if (deadOwner(name, CACHE_TEMP)) await rm(join(dir, name), { recursive: true, force: true });
  await removeStaleTemps([join(cacheDir, CONTENT_PATHS_DIR)]);
}

/**
 * Cleans a package folder about to be updated in place, under its lock (so nothing else
 * writes there): extraction folders at its top, and dead processes' temps anywhere in it.
 */
export async function removePackageDebris(pkgDir: string): Promise<void> {
  const entries = await readdir(pkgDir, { recursive: true, withFileTypes: true }).catch(() => []);
  const doomed: string[] = [];
  for (const entry of entries) {
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
    if (parent === pkgDir && entry.isDirectory() && entry.name.startsWith('.aiop-extract-')) doomed.push(join(parent, entry.name));
    else if (deadOwner(entry.name, ATOMIC_TEMP)) doomed.push(join(parent, entry.name));
  }
  for (const path of doomed) await rm(path, { recursive: true, force: true });
}
