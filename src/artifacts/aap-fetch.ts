/**
 * `:fetch` for `aap` (built-in commands in recipes and in `-c`), through the artifact cache.
 */
import { resolveSettings } from '../options/settings.js';
import { copyFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheDir } from './cache-dir.js';
import { cacheScratchDir } from './cache.js';
import type { FetchSettings } from './place.js';

/** The download stack is imported on first use only: most aap runs fetch nothing. */
const fetchUrl: typeof import('./place.js').fetchUrl = async (...args) => (await import('./place.js')).fetchUrl(...args);
import { tempPathFor } from '../core/atomic.js';
import type { Emit } from '../core/events.js';
import type { UserConfig } from '../playbook/schema.js';

/** A `:fetch` implementation for the engine, plus its cleanup. */
export interface AapFetcher {
  fetch: (url: string, dest: string) => Promise<void>;
  /** Removes this run's temporary downloads. */
  close: () => Promise<void>;
}

/** The download settings of `aap` from the user configuration (retries, timeouts, cache folder). */
export function aapFetchSettings(userConfig: UserConfig, env: NodeJS.ProcessEnv, emit: Emit, signal?: AbortSignal): FetchSettings {
  return {
    cacheDir: userConfig.cache_dir ?? defaultCacheDir(env),
    retries: resolveSettings({}, userConfig).retries,
    noCaching: false,
    noVerify: false,
    connectTimeoutMs: userConfig.connect_timeout * 1000,
    idleTimeoutMs: userConfig.idle_timeout * 1000,
    ...(userConfig.ca_file === undefined ? {} : { caFile: userConfig.ca_file }),
    emit,
    ...(signal === undefined ? {} : { signal }),
  };
}

/**
 * `aapFetch`: the `:fetch` of `aap` (built-in commands in recipes and in `-c`), through the
 * artifact cache: retried, verified, and a URL fetched before comes from the cache.
 *
 * With `-a` (`nocache`) the cache is not used: a remote file is downloaded once for this
 * run (a second `:fetch` of the same URL in the same run copies the first download) and the
 * next run downloads it again.
 */
export function aapFetch(options: { nocache: boolean; settings: FetchSettings }): AapFetcher {
  const { settings } = options;
  if (!options.nocache) {
    return { fetch: (url, dest) => fetchUrl(url, dest, settings), close: async () => undefined };
  }
  let runDir: Promise<string> | undefined;
  const done = new Map<string, Promise<string>>();
  const download = async (url: string): Promise<string> => {
    runDir ??= cacheScratchDir(settings.cacheDir, 'aap-run-');
    const file = join(await runDir, String(done.size));
    await fetchUrl(url, file, { ...settings, noCaching: true });
    return file;
  };
  return {
    fetch: async (url, dest) => {
      let pending = done.get(url);
      if (pending === undefined) {
        pending = download(url);
        done.set(url, pending);
        // A failed download is not remembered: a later :fetch tries again.
        pending.catch(() => done.delete(url));
      }
      const file = await pending;
      const tmp = tempPathFor(dest);
      try {
        await copyFile(file, tmp);
        await rename(tmp, dest);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    close: async () => {
      const dir = await runDir?.catch(() => undefined);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
