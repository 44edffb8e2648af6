/** Where the artifact cache lives by default (kept apart from cache.ts so asking costs no import of cacache). */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $XDG_CACHE_HOME/aiop or ~/.cache/aiop */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'aiop');
  return join(env.HOME || homedir(), '.cache', 'aiop');
}

/** aiop's own folder inside the cache: the content paths remembered for --no_verify placements (see cache.ts). */
export const CONTENT_PATHS_DIR = 'aiop-content-paths';
