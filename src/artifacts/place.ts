/**
 * Gets artifacts into a package folder: each download happens once per process (a shared
 * in-flight map), goes through the cache unless `noCaching`, and is verified: fresh bytes
 * always, cache hits unless `noVerify`. A cache hit found corrupted is dropped and fetched
 * again. Files are copied (copy-on-write clones where the file system can), never hard
 * linked, so a recipe command cannot change the cache through the package; a download kept out
 * of the cache (`noCaching`) and used once is renamed into place instead.
 */
import { constants, realpathSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { LimitFunction } from 'p-limit';
import { AiopError } from '../core/errors.js';
import { log, type Emit } from '../core/events.js';
import { tempPathFor } from '../core/atomic.js';
import { archiveKindOf, fileNameOfUrl } from './archive-kind.js';
import { cacheScratchDir, cacheWriter, dropContent, findCached, rememberContentPath, rememberedContentPath } from './cache.js';
import type { DownloadRequest } from './download.js';
import { copyChunked } from './bulk-io.js';
import { Digester, parseSri, sameSri, sriOfFile, type DigestForm } from './integrity.js';
import { normalizeDest, type ResolvedArtifact } from './resolve.js';
import { redactUrl } from '../core/url.js';
import { makeDirs, makeDirsSync } from '../core/make-dirs.js';

/** How downloads behave; the lead fills it from the command line and user config. */
export interface FetchSettings {
  cacheDir: string;
  retries: number;
  noCaching: boolean;
  noVerify: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  caFile?: string;
  emit: Emit;
  pkg?: string;
  signal?: AbortSignal;
  /**
   * Files (package-relative) that an earlier build's artifacts placed: one standing where an
   * extraction now puts a folder, or a folder holding only such files where it puts a file,
   * is removed instead of refused, as a clean build would not have it.
   */
  replaceable?: ReadonlySet<string>;
  /** first backoff delay; tests pass small values */
  backoffMs?: number;
}

/** What placing one artifact did. */
export interface PlacedArtifact {
  name: string;
  url: string;
  integrity: string;
  /** package-relative, sorted */
  files: string[];
  /** Folders an extraction made or filled (an archive's empty folders among them), package-relative, sorted. */
  folders?: string[];
  fromCache: boolean;
}

/** A verified file ready to be copied or extracted. */
interface Source {
  file: string;
  integrity: string;
  fromCache: boolean;
  release: () => Promise<void>;
  /**
   * Hands over a file of these bytes that may be moved into place instead of copied: a download
   * kept out of the cache that nobody else uses, or the copy written beside the destination while
   * downloading (see acquire's `teeTarget`). Undefined when there is none: copy `file`.
   */
  take?: () => string | undefined;
}

interface Wanted {
  name: string;
  url: string;
  integrity?: string;
  digestForm?: DigestForm;
}

const DEFAULT_BACKOFF_MS = 1000;
/**
 * Downloads at once in this process, whatever the number of packages building: more would
 * only split the same bandwidth and open more connections to one server.
 */
let downloadSlots: Promise<LimitFunction> | undefined;

/** Downloads in flight through the cache: key -> the content file once it is there. */
const cachedInFlight = new Map<string, Promise<Omit<Source, 'release'>>>();
/** Downloads in flight without the cache, shared until the last user releases the temp file. */
const uncachedInFlight = new Map<string, { promise: Promise<{ file: string; integrity: string; dir: string }>; users: number }>();

function formOf(a: { digestForm?: DigestForm }): { digestForm?: DigestForm } {
  return a.digestForm === undefined ? {} : { digestForm: a.digestForm };
}

function keyOf(w: Wanted): string {
  return `${w.url}\n${w.integrity ?? ''}`;
}

function pkgOf(settings: FetchSettings): { pkg?: string } {
  return settings.pkg === undefined ? {} : { pkg: settings.pkg };
}

function download(w: Wanted, settings: FetchSettings, into: DownloadRequest['into'], teeFile?: () => Promise<string>) {
  // The HTTP client (and the limiter) is loaded by the first download only: placing from the cache needs none of it.
  downloadSlots ??= import('p-limit').then(({ default: pLimit }) => pLimit(6));
  return downloadSlots.then((slots) => slots(async () => (await import('./download.js')).downloadVerified({
    name: w.name,
    url: w.url,
    ...(w.integrity === undefined ? {} : { integrity: w.integrity }),
    ...(w.digestForm === undefined ? {} : { digestForm: w.digestForm }),
    retries: settings.retries,
    backoffMs: settings.backoffMs ?? DEFAULT_BACKOFF_MS,
    connectTimeoutMs: settings.connectTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    ...(settings.caFile === undefined ? {} : { caFile: settings.caFile }),
    ...(settings.signal === undefined ? {} : { signal: settings.signal }),
    emit: settings.emit,
    ...pkgOf(settings),
    into,
    ...(teeFile === undefined ? {} : { teeFile }),
  })));
}

/**
 * The verified file for `w`: from the cache, or downloaded once however many ask at the same time.
 * `teeTarget`: where the caller will place the file; when this call is the one that downloads it
 * into the cache, it also writes a temp file beside `teeTarget` from the same bytes (then
 * offered by `take`), instead of the caller copying the cache entry afterwards.
 */
async function acquire(w: Wanted, settings: FetchSettings, teeTarget?: string): Promise<Source> {
  const key = keyOf(w);
  if (settings.noCaching) {
    let shared = uncachedInFlight.get(key);
    if (!shared) {
      const promise = (async () => {
        // The cache's temp space, not the system's: /tmp is often in RAM, and artifacts can be large.
        const dir = await cacheScratchDir(settings.cacheDir, `nocache-${process.pid}-`);
        let n = 0;
        try {
          const got = await download(w, settings, { tempFile: async () => join(dir, `try-${++n}`) });
          return { file: got.file!, integrity: got.integrity, dir };
        } catch (error) {
          await rm(dir, { recursive: true, force: true });
          throw error;
        }
      })();
      shared = { promise, users: 0 };
      uncachedInFlight.set(key, shared);
    }
    const entry = shared;
    entry.users++;
    const release = async (): Promise<void> => {
      if (--entry.users > 0) return;
      if (uncachedInFlight.get(key) === entry) uncachedInFlight.delete(key);
      const got = await entry.promise.catch(() => undefined);
      if (got) await rm(got.dir, { recursive: true, force: true });
    };
    let file = '';
    const take = (): string | undefined => {
      // Only the sole user may move the file; later askers then start a download of their own.
      if (entry.users !== 1) return undefined;
      if (uncachedInFlight.get(key) === entry) uncachedInFlight.delete(key);
      return file;
    };
    try {
      const got = await entry.promise;
      file = got.file;
      return { file: got.file, integrity: got.integrity, fromCache: false, release, take };
    } catch (error) {
      await release();
      throw error;
    }
  }
  let pending = cachedInFlight.get(key);
  // Set only for the call that downloads: joiners copy from the cache as before.
  let tee: string | undefined;
  if (!pending) {
    const teeFile = teeTarget === undefined ? undefined : async (): Promise<string> => {
      await makeDirs(dirname(teeTarget));
      return tempPathFor(teeTarget);
    };
    pending = (async () => {
      const url = redactUrl(w.url);
      const hit = await findCached(settings.cacheDir, url, w.integrity);
      if (hit) return { file: hit.file, integrity: hit.integrity, fromCache: true };
      const got = await download(w, settings, { cacheEntry: () => cacheWriter(settings.cacheDir, url) }, teeFile);
      try {
        const stored = await findCached(settings.cacheDir, url, got.integrity);
        if (stored === undefined) throw new AiopError('download', `the cache entry for ${url} is gone right after it was written (${settings.cacheDir})`);
        tee = got.tee;
        return { file: stored.file, integrity: got.integrity, fromCache: false };
      } catch (error) {
        if (got.tee !== undefined) await rm(got.tee, { force: true });
        throw error;
      }
    })();
    cachedInFlight.set(key, pending);
    const settled = (): void => {
      if (cachedInFlight.get(key) === pending) cachedInFlight.delete(key);
    };
    pending.then(settled, settled);
  }
  const got = await pending;
  if (got.fromCache) {
    settings.emit({ type: 'cache-hit', name: w.name, url: redactUrl(w.url), integrity: got.integrity, ...pkgOf(settings) });
    const { size } = await stat(got.file);
    settings.emit({ type: 'download-done', name: w.name, url: redactUrl(w.url), bytes: size, fromCache: true, integrity: got.integrity, ...pkgOf(settings) });
  }
  if (tee === undefined) return { ...got, release: async () => undefined };
  let unclaimed: string | undefined = tee;
  return {
    ...got,
    take: () => {
      const file = unclaimed;
      unclaimed = undefined;
      return file;
    },
    release: async () => {
      if (unclaimed !== undefined) await rm(unclaimed, { force: true });
      unclaimed = undefined;
    },
  };
}

/**
 * Runs `use` on a verified source. When a cache hit turns out corrupted (`use` returns
 * false), drops it from the cache and runs once more on a fresh download.
 */
async function withSource<T>(
  w: Wanted,
  settings: FetchSettings,
  use: (source: Source, verify: boolean) => Promise<T | false>,
  first?: Source,
  teeTarget?: string,
): Promise<{ result: T; fromCache: boolean; integrity: string }> {
  for (let round = 0; ; round++) {
    const source = round === 0 && first ? first : await acquire(w, settings, teeTarget);
    try {
      const verify = source.fromCache && !settings.noVerify;
      const result = await use(source, verify);
      if (result !== false) return { result, fromCache: source.fromCache, integrity: source.integrity };
      if (round > 0) throw new AiopError('download', `cache entry for ${redactUrl(w.url)} is still corrupted after fetching it again (${settings.cacheDir})`);
      log(settings.emit, 'WARNING', 'artifacts', `cache entry for ${redactUrl(w.url)} is corrupted (not ${source.integrity}); fetching it again`, settings.pkg);
      await dropContent(settings.cacheDir, source.integrity);
    } finally {
      await source.release();
    }
  }
}

/** True when the file's digest is `integrity` (computed with its algorithm). */
async function matchesIntegrity(file: string, integrity: string, signal?: AbortSignal): Promise<boolean> {
  const algorithm = parseSri(integrity)?.algorithm ?? 'sha256';
  return sameSri(await sriOfFile(file, algorithm, signal), integrity);
}

/**
 * Refuses a destination whose existing parent resolves outside the package (through a symlink).
 * Synchronous: a few short system calls, which a --no_verify placement makes before its copy starts.
 */
function checkInside(pkgDir: string, target: string): void {
  const root = realpathSync(pkgDir);
  let dir = dirname(target);
  for (;;) {
    try {
      const real = realpathSync(dir);
      if (real !== root && !real.startsWith(root + sep)) {
        throw new AiopError('extract', `refusing to place ${relative(pkgDir, target)}: ${relative(pkgDir, dir)} leads outside the package`);
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      dir = dirname(dir);
    }
  }
}

/**
 * Puts the verified `source` at `target` through a temp file beside it, sets its mode, and,
 * when asked, verifies what it writes before renaming it into place. Returns false, leaving
 * nothing, when the verification fails.
 *
 * Verifying hashes each chunk read from the source and then writes that same buffer (one pass,
 * see copyChunked): the bytes checked are the bytes written, so none can change between check
 * and use, and the source is read once instead of copied and then read back.
 */
async function placeCopy(source: Source, target: string, mode: number, verify: boolean, signal?: AbortSignal, head?: HeadStart): Promise<boolean> {
  await makeDirs(dirname(target));
  if (head !== undefined) {
    // The head start counts only when cacache now names the very file it copied, for this
    // integrity; otherwise (or when that copy failed) it is thrown away and the confirmed file copied.
    if (!verify && source.fromCache && head.from === source.file && (await head.copied)) {
      try {
        await chmod(head.temp, mode);
        await rename(head.temp, target);
        head.placed = true;
        return true;
      } catch (error) {
        await rm(head.temp, { force: true });
        throw error;
      }
    }
    await dropHeadStart(head);
  }
  const temp = tempPathFor(target);
  let taken: string | undefined;
  try {
    taken = verify ? undefined : source.take?.();
    if (taken !== undefined && (await moveFile(taken, temp))) {
      // moved: nothing to copy
    } else if (verify) {
      const digester = new Digester(parseSri(source.integrity)?.algorithm ?? 'sha256');
      await copyChunked(source.file, temp, { mode, directRead: false, onChunk: (chunk) => digester.update(chunk), ...(signal ? { signal } : {}) });
      if (!sameSri(digester.sri(), source.integrity)) {
        await rm(temp, { force: true });
        return false;
      }
    } else if (source.fromCache) {
      // Trusted cache hit (--no_verify): the kernel's copy, as cp does, or a clone. EXCL (the
      // temp name is fresh anyway) keeps libuv from truncating the new file to zero first, which
      // on ext4 (auto_da_alloc) makes close() start writing the whole file back, as a flush.
      await copyFile(source.file, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    } else {
      // Just downloaded, written around the page cache: a clone where the file system can,
      // else a copy that reads it the same way.
      const cloned = await copyFile(source.file, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE).then(() => true, () => false);
      if (!cloned) {
        await rm(temp, { force: true });
        await copyChunked(source.file, temp, { mode, directRead: true, ...(signal ? { signal } : {}) });
      }
    }
    await chmod(temp, mode);
    await rename(temp, target);
    return true;
  } catch (error) {
    await rm(temp, { force: true });
    // A file handed over is ours to delete now (the source's release no longer does).
    if (taken !== undefined) await rm(taken, { force: true });
    throw error;
  }
}

/**
 * A copy started before cacache confirmed where the content is (--no_verify): `from` is the
 * content file remembered for the artifact's integrity (cache.ts, rememberedContentPath), `temp`
 * the file beside the target that the kernel's copy writes. Placing renames `temp` into place
 * only once `findCached` named `from` again, so a stale record never reaches the package.
 */
interface HeadStart {
  from: string;
  temp: string;
  /** Settles when the copy does: true when it succeeded; on failure `temp` is already gone. */
  copied: Promise<boolean>;
  /** Set once `temp` was renamed into place: nothing is left to drop. */
  placed: boolean;
}

/**
 * Starts the copy of a file artifact placed with --no_verify from the content file remembered
 * for its integrity, before cacache is even loaded, so that the kernel copies while cacache loads
 * and looks the entry up (70-80 ms of a process's start). Synchronous up to the copy: every trip
 * through the thread pool before it delays the whole placement. Undefined when there is nothing
 * to start, or the target is refused (placeOne then says why).
 */
function startHeadStart(artifact: ResolvedArtifact, pkgDir: string, settings: FetchSettings): HeadStart | undefined {
  // An interrupted build starts no copy that its unwinding would then have to wait for.
  if (!settings.noVerify || settings.noCaching || artifact.extract || settings.signal?.aborted) return undefined;
  const from = rememberedContentPath(settings.cacheDir, artifact.integrity);
  if (from === undefined) return undefined;
  const target = join(pkgDir, fileTarget(artifact));
  try {
    makeDirsSync(pkgDir);
    checkInside(pkgDir, target);
    makeDirsSync(dirname(target));
  } catch {
    return undefined;
  }
  const temp = tempPathFor(target);
  // As placeCopy's copy of a trusted cache hit (EXCL: see there).
  const copied = copyFile(from, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE).then(
    () => true,
    async () => {
      await rm(temp, { force: true });
      return false;
    },
  );
  return { from, temp, copied, placed: false };
}

/** Throws a head start away: waits for its copy (which creates `temp`), then removes `temp`. */
async function dropHeadStart(head: HeadStart | undefined): Promise<void> {
  if (head === undefined || head.placed) return;
  await head.copied;
  await rm(head.temp, { force: true });
}

/** Renames `from` to `to`; false when they are on different file systems (then `from` is left for a copy). */
async function moveFile(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw error;
  }
}

/** Moves everything under `from` into `to` (creating folders), listing the files moved and the folders below `to`, relative to `base`. */
async function mergeInto(from: string, to: string, base: string, files: string[], folders: string[] = [], replaceable?: ReadonlySet<string>): Promise<void> {
  await makeDirs(to);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const rel = relative(base, dst).split(sep).join('/');
    let existing = await lstat(dst).catch(() => undefined);
    if (existing && existing.isDirectory() !== entry.isDirectory() && (await placedEarlier(dst, rel, existing.isDirectory(), replaceable))) {
      await rm(dst, { recursive: true, force: true });
      existing = undefined;
    }
    if (entry.isDirectory()) {
      if (existing && !existing.isDirectory()) {
        throw new AiopError('extract', `cannot place folder ${relative(base, dst)}: something else is already there`);
      }
      folders.push(rel);
      await mergeInto(src, dst, base, files, folders, replaceable);
    } else {
      if (existing?.isDirectory()) throw new AiopError('extract', `cannot place ${relative(base, dst)}: a folder is already there`);
      await rename(src, dst);
      files.push(rel);
    }
  }
}

/** Whether an entry is a file an earlier placement made, or a folder holding only such files. */
async function placedEarlier(path: string, rel: string, isFolder: boolean, replaceable: ReadonlySet<string> | undefined): Promise<boolean> {
  if (!replaceable) return false;
  if (!isFolder) return replaceable.has(rel);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!(await placedEarlier(join(path, entry.name), `${rel}/${entry.name}`, entry.isDirectory(), replaceable))) return false;
  }
  return true;
}

/** Extracts a verified archive into a temp folder inside the package, then moves it into place. */
async function placeExtracted(
  artifact: ResolvedArtifact,
  source: Source,
  pkgDir: string,
  verify: boolean,
  signal?: AbortSignal,
  replaceable?: ReadonlySet<string>,
): Promise<{ files: string[]; folders: string[] } | false> {
  if (verify && !(await matchesIntegrity(source.file, source.integrity, signal))) return false;
  const kind = archiveKindOf(artifact.url);
  if (kind === undefined) throw new AiopError('extract', `cannot extract ${redactUrl(artifact.url)}: unknown archive type`);
  const target = join(pkgDir, artifact.dest);
  await makeDirs(pkgDir);
  checkInside(pkgDir, join(target, 'x'));
  const work = await mkdtemp(join(pkgDir, '.aiop-extract-'));
  try {
    const root = join(work, 'root');
    await mkdir(root);
    // The archive readers are loaded by the first extraction: placing a plain file needs none of them.
    const { extractArchive } = await import('./extract/index.js');
    await extractArchive(source.file, kind, root, {
      archive: redactUrl(artifact.url),
      stripComponents: artifact.stripComponents,
      ...(artifact.mode === undefined ? {} : { mode: artifact.mode }),
    });
    const files: string[] = [];
    const folders: string[] = artifact.dest === '' ? [] : [relative(pkgDir, target).split(sep).join('/')];
    await mergeInto(root, target, pkgDir, files, folders, replaceable);
    return { files: files.sort(), folders: folders.sort() };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Where a non-extracted artifact lands: `dest` as a file, or the URL's file name inside the folder `dest`. */
function fileTarget(artifact: ResolvedArtifact): string {
  if (artifact.dest !== '' && !artifact.dest.endsWith('/')) return artifact.dest;
  let name = fileNameOfUrl(artifact.url);
  if (name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) name = artifact.name;
  return `${artifact.dest}${name}`;
}

/** Places one artifact. */
async function placeOne(artifact: ResolvedArtifact, pkgDir: string, settings: FetchSettings, first: Source, head?: HeadStart): Promise<PlacedArtifact> {
  const w: Wanted = { name: artifact.name, url: artifact.url, integrity: artifact.integrity, ...formOf(artifact) };
  if (artifact.extract) {
    const { result, fromCache } = await withSource(w, settings, (source, verify) => placeExtracted(artifact, source, pkgDir, verify, settings.signal, settings.replaceable), first);
    return { name: artifact.name, url: redactUrl(artifact.url), integrity: artifact.integrity, files: result.files, folders: result.folders, fromCache };
  }
  const rel = fileTarget(artifact);
  const target = join(pkgDir, rel);
  try {
    await makeDirs(pkgDir);
    checkInside(pkgDir, target);
  } catch (error) {
    await first.release();
    throw error;
  }
  let unused = head;
  const { fromCache } = await withSource(w, settings, async (source, verify) => {
    const offered = unused;
    unused = undefined;
    if (!(await placeCopy(source, target, artifact.mode ?? 0o644, verify, settings.signal, offered))) return false;
    // The next --no_verify placement of these bytes starts copying this file before cacache loads.
    if (settings.noVerify && !settings.noCaching && source.file !== offered?.from) {
      await rememberContentPath(settings.cacheDir, artifact.integrity, source.file);
    }
    return true;
  }, first);
  return { name: artifact.name, url: redactUrl(artifact.url), integrity: artifact.integrity, files: [rel], fromCache };
}

/** Downloads (once per process per URL+integrity, even when asked concurrently), verifies, caches, and places each artifact into pkgDir. */
export async function placeArtifacts(given: ResolvedArtifact[], pkgDir: string, settings: FetchSettings): Promise<PlacedArtifact[]> {
  // Checked again here (not only in resolveArtifacts) so that no caller can place outside the package.
  const artifacts = given.map((a) => {
    if (a.extract && archiveKindOf(a.url) === undefined) {
      throw new AiopError('config', `artifact ${a.name}: cannot extract ${redactUrl(a.url)}: unknown archive type`);
    }
    return { ...a, dest: normalizeDest(a.dest, a.name) };
  });
  // Copies from remembered cache files start first (--no_verify), then cacache is loaded to confirm them.
  const heads: Array<HeadStart | undefined> = artifacts.map((a) => startHeadStart(a, pkgDir, settings));
  // Downloads overlap; placing follows the playbook's order, so a later artifact wins where two overlap.
  const acquired = await Promise.allSettled(artifacts.map((a) => acquire({ name: a.name, url: a.url, integrity: a.integrity, ...formOf(a) }, settings)));
  const sources = acquired.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  try {
    const failed = acquired.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const placed: PlacedArtifact[] = [];
    for (const [i, artifact] of artifacts.entries()) {
      const source = sources[i]!;
      // withSource releases the sources it uses; this one is now its to release.
      sources[i] = undefined;
      // The head start stays listed: one that placeOne did not use is dropped below.
      placed.push(await placeOne(artifact, pkgDir, settings, source, heads[i]));
    }
    return placed;
  } finally {
    for (const source of sources) await source?.release();
    for (const head of heads) await dropHeadStart(head);
  }
}

/** For the recipe's `:fetch URL DEST`: through the same cache; integrity optional (then cached by URL). */
export async function fetchUrl(url: string, destFile: string, settings: FetchSettings, integrity?: string, digestForm?: DigestForm): Promise<void> {
  const w: Wanted = { name: fileNameOfUrl(url), url, ...(integrity === undefined ? {} : { integrity }), ...(digestForm === undefined ? {} : { digestForm }) };
  // The destination is known before the download: write it while the cache entry is written
  // (bench/analysis.md (f): copying 2 GiB afterwards doubled the time).
  await withSource(w, settings, async (source, verify) => (await placeCopy(source, destFile, 0o644, verify, settings.signal)) || false, undefined, destFile);
}
