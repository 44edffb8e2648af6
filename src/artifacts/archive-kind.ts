/** Which archive format a URL names, by the end of its path (query and fragment ignored). */
export type ArchiveKind = 'tar.gz' | 'tar.xz' | 'zip';

/** The archive kind of a URL or file name, or undefined when it is not one we extract. */
export function archiveKindOf(urlOrName: string): ArchiveKind | undefined {
  let path = urlOrName;
  try {
    path = new URL(urlOrName).pathname;
  } catch {
    // a plain file name
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar.xz') || lower.endsWith('.txz')) return 'tar.xz';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

/** The last segment of a URL's path, decoded; used to name a file placed into a folder. */
export function fileNameOfUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL
  }
  const last = path.split('/').filter((p) => p !== '').pop() ?? 'download';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
