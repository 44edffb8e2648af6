/**
 * Artifacts: verified, cached, retried downloads and their safe placement into a package.
 * See docs/artifacts.md for the behaviour users see.
 */
export { resolveArtifacts, normalizeDest, type ResolvedArtifact } from './resolve.js';
export { placeArtifacts, fetchUrl, type FetchSettings, type PlacedArtifact } from './place.js';
export { defaultCacheDir, findCached, urlKey, type CachedContent } from './cache.js';
export { archiveKindOf, fileNameOfUrl, type ArchiveKind } from './archive-kind.js';
export type { ExtractOptions } from './extract/index.js';
export { parseRetryAfter } from './retry-after.js';
export { sriFromSha256Hex, parseSri, sriOfFile } from './integrity.js';
export { redactUrl } from '../core/url.js';

/** See extract/index.ts; loaded on first use, so that importing this module costs no archive reader. */
export async function extractArchive(...args: Parameters<typeof import('./extract/index.js').extractArchive>): Promise<void> {
  return (await import('./extract/index.js')).extractArchive(...args);
}
