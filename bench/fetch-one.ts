/**
 * The aiop side of (f) and (g): one artifact through the library, with the settings a build
 * uses by default (verification, the cache, no retries needed on loopback).
 *
 *   node dist/bench/fetch-one.js fetch URL DEST_FILE CACHE_DIR SHA256_HEX [--no-caching] [--rss FILE]
 *   node dist/bench/fetch-one.js place URL PKG_DIR CACHE_DIR SHA256_HEX [--no-verify] [--rss FILE]
 */
import { recordRssFromArgs } from './self-rss.js';
import { fetchUrl, placeArtifacts, sriFromSha256Hex, type FetchSettings } from '../src/artifacts/index.js';

const [mode, url, dest, cacheDir, sha256, flag] = recordRssFromArgs(process.argv.slice(2));
if ((mode !== 'fetch' && mode !== 'place') || !url || !dest || !cacheDir || !sha256) {
  process.stderr.write('usage: fetch-one.js fetch|place URL DEST CACHE_DIR SHA256_HEX [--no-caching|--no-verify]\n');
  process.exit(2);
}
const settings: FetchSettings = {
  cacheDir,
  retries: 0,
  noCaching: flag === '--no-caching',
  noVerify: flag === '--no-verify',
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  emit: () => undefined,
};
const integrity = sriFromSha256Hex(sha256);
if (mode === 'fetch') {
  await fetchUrl(url, dest, settings, integrity);
} else {
  await placeArtifacts([{ name: 'blob', url, integrity, extract: false, stripComponents: 0, dest: 'lib/' }], dest, settings);
}
