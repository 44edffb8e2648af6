/** Shared setup of the artifact tests: a temp root, settings that record events, digests. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import cacache from 'cacache';
import type { AiopEvent } from '../../src/core/events.js';
import { urlKey, type FetchSettings } from '../../src/artifacts/index.js';

/** sha256 SRI of some bytes. */
export function sri(data: Buffer | string): string {
  return `sha256-${createHash('sha256').update(data).digest('base64')}`;
}

/** Settings with small timeouts and backoff, recording every event into `events`. */
export function settingsFor(cacheDir: string, events: AiopEvent[], overrides: Partial<FetchSettings> = {}): FetchSettings {
  return {
    cacheDir,
    retries: 3,
    noCaching: false,
    noVerify: false,
    connectTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    backoffMs: 10,
    emit: (e) => events.push(e),
    ...overrides,
  };
}

/** Every path under `dir` (files, folders, links), relative, sorted. */
export async function scan(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      out.push(relative(dir, full));
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return out.sort();
}

/** The content file that the cache holds for a URL's download, as cacache's public `get.info` names it. */
export async function cachedFile(cacheDir: string, url: string): Promise<string> {
  const info = await cacache.get.info(cacheDir, urlKey(url));
  assert.ok(info, `the cache holds nothing for ${url}`);
  return info.path;
}
