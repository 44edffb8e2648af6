/**
 * The content-addressed artifact cache, kept by cacache through its public API only: an index
 * of keys (one per downloaded URL) pointing at content by integrity, so that cacache's own
 * tools (`cacache.verify`, `cacache.ls`) work on it. Content goes in through `put.stream`,
 * which writes a temp file of its own and moves it into place only once its integrity (and
 * size, when known) checked out: a reader never sees a partial or unverified entry, and
 * concurrent processes never corrupt each other. A hit is located through `get.info`, whose
 * `path` is the content file that placing copies (cacache's layout is never computed here).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { readdir, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { sameSri } from './integrity.js';
import { makeDirs } from '../core/make-dirs.js';
import { withPath } from '../core/errors.js';
import { writeFileAtomic } from '../core/atomic.js';

import { CONTENT_PATHS_DIR } from './cache-dir.js';

export { defaultCacheDir } from './cache-dir.js';

/** cacache (and ssri with it) is loaded by the first use of the cache: a build without artifacts never pays for it. */
async function loadCacache(): Promise<typeof import('cacache')> {
  return (await import('cacache')).default;
}

/** Index key under which a URL's download is recorded. */
export function urlKey(url: string): string {
  return `aiop:url:${url}`;
}

/** A cached artifact: the content file (cacache's, to read or copy, never to change), its integrity and size. */
export interface CachedContent {
  file: string;
  integrity: string;
  size: number;
}

/** The content file when it exists and is a file, with its size. */
async function existingFile(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cached content for `url`: with `integrity`, content of that integrity (recorded under
 * this URL, or under another one, which is then recorded for this URL too); without, whatever
 * the URL's last download was. Undefined when the cache holds none.
 */
export async function findCached(cacheDir: string, url: string, integrity?: string): Promise<CachedContent | undefined> {
  const cacache = await loadCacache();
  const key = urlKey(url);
  const info = await cacache.get.info(cacheDir, key);
  if (info && (integrity === undefined || sameSri(String(info.integrity), integrity))) {
    const size = await existingFile(info.path);
    if (size !== undefined) return { file: info.path, integrity: integrity ?? String(info.integrity), size };
  }
  if (integrity === undefined || !(await cacache.get.hasContent(cacheDir, integrity))) return undefined;
  // The same bytes came from another URL (or an older download of this one): recording them
  // under this URL is what makes `get.info` name their file.
  await cacache.index.insert(cacheDir, key, integrity, { metadata: { url } });
  const recorded = await cacache.get.info(cacheDir, key);
  const size = recorded === null ? undefined : await existingFile(recorded.path);
  return recorded === null || size === undefined ? undefined : { file: recorded.path, integrity, size };
}

/**
 * aiop's own record, beside cacache's folders in the cache: per integrity, the content file that
 * `get.info` named at the last placement with --no_verify. Loading cacache costs a process
 * 70-80 ms; with this record, placing starts copying the remembered file at once and lets
 * cacache confirm the path while the copy runs (the copy is used only when `findCached` names
 * the same file). It is a hint, never a source of truth: one file per integrity (concurrent
 * builds never merge records), written atomically, and a record that is missing, unreadable,
 * of another format or for another integrity reads as none.
 */
/** Format of a record; a record of another version reads as none. */
const CONTENT_PATH_VERSION = 1;

function contentPathRecord(cacheDir: string, integrity: string): string {
  // The integrity holds '/' and '+'; its digest names the record.
  return join(cacheDir, CONTENT_PATHS_DIR, createHash('sha256').update(integrity).digest('hex'));
}

/**
 * The content file remembered for `integrity` (see {@link rememberContentPath}), or undefined.
 * Read synchronously: it comes right before the copy it starts, which a trip through the thread
 * pool would only delay (on a busy machine, by more than the read).
 */
export function rememberedContentPath(cacheDir: string, integrity: string): string | undefined {
  try {
    const record = JSON.parse(readFileSync(contentPathRecord(cacheDir, integrity), 'utf8')) as unknown;
    if (typeof record !== 'object' || record === null) return undefined;
    const { version, integrity: recorded, path } = record as Record<string, unknown>;
    return version === CONTENT_PATH_VERSION && recorded === integrity && typeof path === 'string' && path !== '' ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers `path`, the content file `findCached` returned for `integrity`. Failing to write
 * (a read-only cache) only costs the next placement its head start, so it is not an error.
 */
export async function rememberContentPath(cacheDir: string, integrity: string, path: string): Promise<void> {
  const record = `${JSON.stringify({ version: CONTENT_PATH_VERSION, integrity, path })}\n`;
  await writeFileAtomic(contentPathRecord(cacheDir, integrity), record).catch(() => undefined);
}

/** Forgets every remembered content path: for `aiop cache clean` and `verify` when they empty the cache. */
export async function forgetContentPaths(cacheDir: string): Promise<void> {
  await rm(join(cacheDir, CONTENT_PATHS_DIR), { recursive: true, force: true });
}

/** Where a download headed for the cache goes: write the bytes, then `commit` or `abort`. */
export interface CacheWriter {
  /** Resolves once the chunk is taken (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Ends the entry with the digest and length the caller computed and checked while the bytes
   * passed; resolves once cacache moved the content into place and recorded it in the index.
   */
  commit(integrity: string, size: number): Promise<void>;
  /** Gives up: cacache removes its temp file and records nothing. */
  abort(): Promise<void>;
}

/** Cache writers made by this process: each names its temp file with its own number. */
let writers = 0;

/**
 * Resolves once cacache's temp file named with `tmpPrefix` exists in the cache's tmp folder,
 * or after 10 s (an open that slow has failed, and the entry's own error says so).
 */
async function tempFileMade(cacheDir: string, tmpPrefix: string): Promise<void> {
  const dir = join(cacheDir, 'tmp');
  for (const started = Date.now(); Date.now() - started < 10_000; await sleep(1)) {
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.some((name) => name.startsWith(`${tmpPrefix}-`))) return;
  }
}

/**
 * A new cache entry for `url`, written by cacache's `put.stream`. The digest comes from the
 * caller through `integrityEmitter` (put.stream's documented option for digests computed
 * outside cacache): a download is hashed once, as it streams, not a second time by cacache.
 * The caller verifies it before `commit`; `abort` fails the entry instead.
 */
export async function cacheWriter(cacheDir: string, url: string): Promise<CacheWriter> {
  const cacache = await loadCacache();
  // The cache's own root first, with makeDirs: cacache creates the folders below it with a
  // recursive mkdir, which never returns where the root cannot be made (under /proc).
  await makeDirs(cacheDir);
  const digest = new EventEmitter<import('cacache').put.IntegrityEmitterEvents>();
  // The temp file's name carries this process's pid, so a later build removes it if this one is
  // killed (session/debris.ts), and this writer's number, so that `abort` can tell it apart.
  const tmpPrefix = `aiop-${process.pid}-${++writers}`;
  const stream = cacache.put.stream(cacheDir, urlKey(url), { integrityEmitter: digest, metadata: { url }, tmpPrefix });
  let failure: Error | undefined;
  let written = false;
  // cacache reports success with `integrity` (after its index entry is written), failure with `error`.
  const settled = new Promise<void>((resolve, reject) => {
    stream.once('integrity', () => resolve());
    // `on`, not `once`: cacache can report one failure twice (its content step, then its flush).
    stream.on('error', (error: unknown) => {
      // A write's ENOSPC names no file: the cache folder is where it happened.
      failure ??= error instanceof Error ? (withPath(error, cacheDir) as Error) : new Error(String(error));
      reject(error);
    });
  });
  settled.catch(() => undefined);
  // cacache subscribes to the digest (integrity, then size) only once its temp file is open, after
  // the first write: an event emitted earlier would be lost and the entry would wait forever.
  const subscribed = new Promise<void>((resolve) => {
    // 'newListener' is every EventEmitter's own event, outside the typed map.
    (digest as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'size') queueMicrotask(resolve);
    });
  });
  const cacheListens = (): Promise<void> => Promise.race([subscribed, settled]);
  return {
    write(chunk) {
      if (failure) return Promise.reject(failure);
      written = true;
      if (stream.write(chunk)) return Promise.resolve();
      return Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), settled]);
    },
    async commit(integrity, size) {
      if (failure) throw failure;
      // An empty artifact is content too; cacache starts an entry on its first write.
      if (!written) stream.write(Buffer.alloc(0));
      written = true;
      stream.end();
      await cacheListens();
      digest.emit('integrity', integrity);
      digest.emit('size', size);
      await settled;
    },
    async abort() {
      if (failure !== undefined) return;
      failure = new Error('cache entry abandoned');
      if (written) {
        await cacheListens().catch(() => undefined);
        // cacache removes its temp file on this error without waiting for the open of that file,
        // which is still queued on a busy machine: the open then makes the file after the removal,
        // and it stays. So the error waits until the file exists (or the entry failed anyway).
        await Promise.race([tempFileMade(cacheDir, tmpPrefix), settled]).catch(() => undefined);
        if (digest.listenerCount('error') > 0) digest.emit('error', failure);
      }
      stream.end();
      await settled.catch(() => undefined);
    },
  };
}

/**
 * A fresh folder in the cache's temp space (cacache's `tmp.mkdir`: the cache's file system, so
 * a large download kept out of the cache is not written to a RAM-backed /tmp). The caller removes it.
 */
export async function cacheScratchDir(cacheDir: string, prefix: string): Promise<string> {
  const cacache = await loadCacache();
  await makeDirs(cacheDir);
  return cacache.tmp.mkdir(cacheDir, { tmpPrefix: prefix });
}

/** Removes content found corrupted, so that the next download replaces it. */
export async function dropContent(cacheDir: string, integrity: string): Promise<void> {
  await (await loadCacache()).rm.content(cacheDir, integrity);
}
