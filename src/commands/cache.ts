/**
 * `aiop cache ls | verify | clean [--older-than DAYS]`: the artifact cache (user config
 * `cache_dir`, `AIOP_CACHE_DIR`, else $XDG_CACHE_HOME/aiop or ~/.cache/aiop), in cacache's
 * layout: an index of keys (one per downloaded URL) pointing at content by integrity.
 */
import cacache from 'cacache';
import { defaultCacheDir, forgetContentPaths } from '../artifacts/cache.js';
import { redactUrl } from '../core/url.js';
import { loadUserConfig } from '../playbook/user-config.js';

/** What `aiop cache` needs from its surroundings. */
export interface CacheIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
}

/** One cached artifact, as listed. */
export interface CacheEntry {
  key: string;
  url: string;
  integrity: string;
  size: number;
  /** When it was cached, ms since the epoch. */
  time: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The cache folder the build commands use. */
export async function cacheDirFor(env: NodeJS.ProcessEnv): Promise<string> {
  const { config } = await loadUserConfig(env);
  return config.cache_dir ?? defaultCacheDir(env);
}

/** Every entry of the index, oldest first. */
export async function listCache(cacheDir: string): Promise<CacheEntry[]> {
  const index = await cacache.ls(cacheDir);
  return Object.values(index)
    .map((e) => {
      const metadata = e.metadata as { url?: unknown } | undefined;
      const url = typeof metadata?.url === 'string' ? metadata.url : e.key.replace(/^aiop:url:/, '');
      return { key: e.key, url: redactUrl(url), integrity: String(e.integrity), size: Number(e.size ?? 0), time: Number(e.time) };
    })
    .sort((a, b) => a.time - b.time || (a.url < b.url ? -1 : 1));
}

/** Why the content of an entry is bad, or undefined when it is intact. */
async function contentProblem(cacheDir: string, entry: CacheEntry): Promise<string | undefined> {
  if (!(await cacache.get.hasContent(cacheDir, entry.integrity))) return 'content missing';
  try {
    // cacache checks the digest as the bytes stream by (EINTEGRITY at the end when it differs).
    for await (const chunk of cacache.get.stream.byDigest(cacheDir, entry.integrity)) void chunk;
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EINTEGRITY' || code === 'EBADSIZE') return 'content does not match its integrity (corrupted on disk)';
    return `cannot read content (${code ?? String(error)})`;
  }
}

/** Removes entries and, where no kept entry still needs it, their content. */
async function removeEntries(cacheDir: string, gone: CacheEntry[], kept: CacheEntry[]): Promise<void> {
  if (kept.length === 0) {
    // Nothing is left: drop the whole index and content, not just tombstone each key.
    await cacache.rm.all(cacheDir);
    await forgetContentPaths(cacheDir);
    return;
  }
  const needed = new Set(kept.map((e) => e.integrity));
  for (const entry of gone) {
    await cacache.rm.entry(cacheDir, entry.key);
    if (!needed.has(entry.integrity)) await cacache.rm.content(cacheDir, entry.integrity);
  }
}

/** Checks every entry's content against its integrity; removes the bad ones. Returns them with the reason. */
export async function verifyCache(cacheDir: string): Promise<{ checked: number; bad: Array<CacheEntry & { problem: string }> }> {
  const entries = await listCache(cacheDir);
  const bad: Array<CacheEntry & { problem: string }> = [];
  const byIntegrity = new Map<string, string | undefined>();
  for (const entry of entries) {
    if (!byIntegrity.has(entry.integrity)) byIntegrity.set(entry.integrity, await contentProblem(cacheDir, entry));
    const problem = byIntegrity.get(entry.integrity);
    if (problem !== undefined) bad.push({ ...entry, problem });
  }
  const badKeys = new Set(bad.map((e) => e.key));
  if (bad.length > 0) {
    // Bad content goes even if another key shares it: it is bad for that key too.
    for (const entry of bad) {
      await cacache.rm.entry(cacheDir, entry.key);
      await cacache.rm.content(cacheDir, entry.integrity);
    }
    if (entries.every((e) => badKeys.has(e.key))) {
      await cacache.rm.all(cacheDir);
      await forgetContentPaths(cacheDir);
    }
  }
  return { checked: entries.length, bad };
}

/** Removes every entry (no `olderThanDays`) or those cached more than `olderThanDays` days ago. */
export async function cleanCache(cacheDir: string, olderThanDays?: number, now = Date.now()): Promise<CacheEntry[]> {
  const entries = await listCache(cacheDir);
  if (olderThanDays === undefined) {
    await cacache.rm.all(cacheDir);
    await forgetContentPaths(cacheDir);
    return entries;
  }
  const cutoff = now - olderThanDays * DAY_MS;
  const gone = entries.filter((e) => e.time <= cutoff);
  const kept = entries.filter((e) => e.time > cutoff);
  if (gone.length > 0) await removeEntries(cacheDir, gone, kept);
  return gone;
}

/** 1.5 MiB, 12 KiB, 300 B */
function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** 3 d, 5 h, 12 min, now */
function humanAge(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** Runs `aiop cache ACTION`. */
export async function cacheCommand(action: 'ls' | 'verify' | 'clean', olderThanDays: number | undefined, io: CacheIo): Promise<number> {
  const cacheDir = await cacheDirFor(io.env);
  const out: string[] = [];
  if (action === 'ls') {
    const entries = await listCache(cacheDir);
    if (entries.length === 0) out.push(`The cache ${cacheDir} is empty.`);
    else {
      const now = Date.now();
      const rows = entries.map((e) => [humanSize(e.size), humanAge(now - e.time), e.integrity, e.url]);
      const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['SIZE', 'AGE', 'INTEGRITY'][i]!.length));
      const line = (r: string[]): string => `${r[0]!.padStart(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`;
      out.push(line(['SIZE', 'AGE', 'INTEGRITY', 'URL']), ...rows.map(line));
      const total = entries.reduce((n, e) => n + e.size, 0);
      out.push(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${humanSize(total)} in ${cacheDir}`);
    }
  } else if (action === 'verify') {
    const { checked, bad } = await verifyCache(cacheDir);
    for (const e of bad) out.push(`removed ${e.url}: ${e.problem}`);
    out.push(`${checked} entr${checked === 1 ? 'y' : 'ies'} checked, ${bad.length} bad removed (${cacheDir})`);
  } else {
    const gone = await cleanCache(cacheDir, olderThanDays);
    const bytes = gone.reduce((n, e) => n + e.size, 0);
    out.push(`removed ${gone.length} entr${gone.length === 1 ? 'y' : 'ies'} (${humanSize(bytes)}) from ${cacheDir}`);
  }
  io.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
