/**
 * The content-addressed artifact cache, in cacache's layout so that cacache's own tools
 * (`cacache.verify`, `cacache.rm`) work on it. Content is written by us to a unique temp
 * file and renamed into place only after its digest was checked, so a reader never sees a
 * partial or unverified file and concurrent processes never corrupt each other.
 */
import { join, dirname } from 'node:path';
import { rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parseSri } from './integrity.js';
import { makeDirs } from '../core/make-dirs.js';

/**
 * cacache's content layout (lib/content/path.js of cacache 20): content-v2/<algorithm>/<2 hex>/<2 hex>/<rest>.
 * Spelled out here because loading cacache's module (and ssri with it) costs a cache hit 15-20 ms;
 * test/artifacts/cache-layout.test.ts checks it against cacache's own function.
 */
function contentPathOf(cacheDir: string, integrity: string): string {
  const sri = parseSri(integrity);
  if (!sri) throw new Error(`not an integrity string: ${integrity}`);
  const hex = Buffer.from(sri.digest, 'base64').toString('hex');
  return join(cacheDir, 'content-v2', sri.algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

export { defaultCacheDir } from './cache-dir.js';

/** cacache itself (its index) is loaded only when the index is used: a cache hit by integrity needs none of it. */
async function loadCacache(): Promise<typeof import('cacache')> {
  return (await import('cacache')).default;
}

/** The file that holds the content with this integrity (it may not exist). */
export function contentPath(cacheDir: string, integrity: string): string {
  return contentPathOf(cacheDir, integrity);
}

/** Index key under which a URL's download is recorded (used when no integrity is known). */
export function urlKey(url: string): string {
  return `aiop:url:${url}`;
}

/** A fresh, unique temp file path inside the cache (same file system as the content, so rename is atomic). */
export async function cacheTempFile(cacheDir: string): Promise<string> {
  const dir = join(cacheDir, 'tmp');
  await makeDirs(dir);
  return join(dir, `aiop-${process.pid}-${randomBytes(8).toString('hex')}`);
}

/** The content file when the cache holds this integrity, else undefined. */
export async function findContent(cacheDir: string, integrity: string): Promise<string | undefined> {
  const file = contentPath(cacheDir, integrity);
  try {
    const s = await stat(file);
    return s.isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The integrity last recorded for a URL, if any. */
export async function integrityForUrl(cacheDir: string, url: string): Promise<string | undefined> {
  const info = await (await loadCacache()).get.info(cacheDir, urlKey(url));
  return info ? String(info.integrity) : undefined;
}

/**
 * Moves a verified temp file into the cache under its integrity and records the URL.
 * rename() replaces any older file atomically: content with the same address is the same
 * bytes, unless the old one was corrupted on disk, which this also heals.
 */
export async function commitContent(cacheDir: string, tempFile: string, integrity: string, url: string, size: number): Promise<string> {
  const file = contentPath(cacheDir, integrity);
  await makeDirs(dirname(file));
  try {
    await rename(tempFile, file);
  } catch (error) {
    await rm(tempFile, { force: true });
    throw error;
  }
  await (await loadCacache()).index.insert(cacheDir, urlKey(url), integrity, { size, metadata: { url } });
  return file;
}

/** Removes a content file found corrupted, so that the next download replaces it. */
export async function dropContent(cacheDir: string, integrity: string): Promise<void> {
  await rm(contentPath(cacheDir, integrity), { force: true });
}
