/**
 * Downloads for `aap`: the recipe given by URL (`-f URL`, never cached: it is fetched to be
 * looked at) and the `:fetch` built-in (through the artifact cache). Always streamed to a
 * temporary file beside the destination, then renamed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { tempPathFor } from '../core/atomic.js';
import { AiopError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { defaultCacheDir, fetchUrl, type FetchSettings } from '../artifacts/index.js';
import type { UserConfig } from '../playbook/schema.js';

/** What a download produced. */
export interface Downloaded {
  bytes: number;
  /** sha256 of the content, hexadecimal. */
  sha256: string;
}

/**
 * Streams `url` (http, https or file) into `dest` through a temporary file in the same
 * folder. Throws AiopError('download') naming the URL on any failure; `dest` is then untouched.
 */
export async function downloadToFile(url: string, dest: string, signal?: AbortSignal): Promise<Downloaded> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AiopError('download', `"${url}" is not a valid URL`);
  }
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    let body: Readable;
    if (parsed.protocol === 'file:') {
      body = createReadStream(fileURLToPath(parsed));
    } else if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
      const response = await fetch(parsed, signal ? { signal } : {});
      if (!response.ok || response.body === null) {
        await response.body?.cancel();
        throw new AiopError('download', `GET ${url}: the server answered ${response.status} ${response.statusText}`.trim());
      }
      body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    } else {
      throw new AiopError('download', `${url}: unsupported URL scheme ${parsed.protocol} (use http, https or file)`);
    }
    await pipeline(body, count, createWriteStream(tmp), signal ? { signal } : {});
    await rename(tmp, dest);
  } catch (error) {
    await rm(tmp, { force: true });
    if (error instanceof AiopError) throw error;
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new AiopError('download', `GET ${url}: ${cause}`, { cause: error });
  }
  return { bytes, sha256: hash.digest('hex') };
}

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
    retries: userConfig.download_retries,
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
    runDir ??= (async () => {
      await mkdir(join(settings.cacheDir, 'tmp'), { recursive: true });
      return mkdtemp(join(settings.cacheDir, 'tmp', 'aap-run-'));
    })();
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
