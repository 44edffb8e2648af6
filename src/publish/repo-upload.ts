/**
 * `aiop repo apt ... --upload_url URL`: PUTs the files of a repository that changed to the
 * same relative paths under URL, each with {@link uploadFile} (checksum headers, retries,
 * credentials from the environment). Files that a failed or interrupted upload left behind
 * are remembered in the repository folder and sent again by the next run, so the server
 * catches up even when the local repository itself did not change again.
 */
import { readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { uploadFile, type UploadSettings } from './upload.js';

/** The list of files still to upload, kept in the repository folder between runs. */
export const PENDING_FILE = '.aiop-upload-pending.json';

interface Pending {
  /** The base URL without credentials: a list made for one server is not sent to another. */
  url: string;
  files: string[];
}

/** The base URL as stored and compared: credentials removed, one trailing `/`. */
function plainUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.username = '';
  url.password = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

async function readPending(outputDir: string, url: string): Promise<string[]> {
  try {
    const pending = JSON.parse(await readFile(join(outputDir, PENDING_FILE), 'utf8')) as Partial<Pending>;
    return pending.url === url && Array.isArray(pending.files) ? pending.files.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Uploads `changed` (paths relative to outputDir, `/`-separated, in publishing order) plus
 * whatever an earlier run left pending for the same URL, to `<baseUrl>/<path>`. The order is
 * kept (pending files first, as they are older), each file once. Returns what went where.
 */
export async function uploadRepo(outputDir: string, changed: string[], baseUrl: string, settings: UploadSettings): Promise<Array<{ file: string; url: string }>> {
  const url = plainUrl(baseUrl);
  const files = [...new Set([...(await readPending(outputDir, url)), ...changed])];
  // Index files are published after the files they name; a pending index would otherwise
  // overtake a new .deb. Sorting by the publishing rank keeps each group's own order.
  const rank = (file: string): number => (file.startsWith('pool/') ? 0 : /\/(InRelease|Release|Release\.gpg)$/.test(file) ? 3 : file === 'key.asc' ? 2 : 1);
  files.sort((a, b) => rank(a) - rank(b));
  if (files.length === 0) return [];
  const save = (left: string[]): Promise<void> =>
    left.length === 0 ? rm(join(outputDir, PENDING_FILE), { force: true }) : writeFileAtomic(join(outputDir, PENDING_FILE), `${JSON.stringify({ url, files: left } satisfies Pending, null, 2)}\n`);
  await save(files);
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const done: Array<{ file: string; url: string }> = [];
  for (const [i, file] of files.entries()) {
    const folder = posix.dirname(file);
    const target = folder === '.' ? base : new URL(`${folder.split('/').map(encodeURIComponent).join('/')}/`, base);
    done.push({ file, url: await uploadFile(join(outputDir, file), target.toString(), settings) });
    await save(files.slice(i + 1));
  }
  return done;
}

