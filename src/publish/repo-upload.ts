/**
 * `aiop repo apt ... --upload_url URL`: PUTs the files of a repository that changed to the
 * same relative paths under URL, each with {@link uploadFile} (checksum headers, retries,
 * credentials from the environment). A record in the repository folder names the URL last
 * uploaded to and the files not sent yet: a failed or interrupted upload is finished by the
 * next run, and a URL the repository was never (or not last) uploaded to gets every file.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { uploadFile, type UploadSettings } from './upload.js';

/** The upload record, kept in the repository folder between runs. */
export const UPLOAD_RECORD = '.aiop-upload.json';

interface UploadRecord {
  /** The base URL without credentials. */
  url: string;
  /** Files still to send there. */
  pending: string[];
}

/** The base URL as stored and compared: credentials removed, one trailing `/`. */
function plainUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.username = '';
  url.password = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

async function readRecord(outputDir: string): Promise<UploadRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(join(outputDir, UPLOAD_RECORD), 'utf8')) as Partial<UploadRecord>;
    if (typeof record.url !== 'string' || !Array.isArray(record.pending)) return undefined;
    return { url: record.url, pending: record.pending.filter((f): f is string => typeof f === 'string') };
  } catch {
    return undefined;
  }
}

/** Every file of the repository (not the dot files aiop keeps there), `/`-separated. */
async function allFiles(outputDir: string): Promise<string[]> {
  const entries = await readdir(outputDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => relative(outputDir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * Publishing order: .debs, indices, the key, then Release, Release.gpg and InRelease last,
 * so that a client never sees an index naming a file that is not there yet.
 */
function rank(file: string): number {
  if (file.startsWith('pool/')) return 0;
  if (file === 'key.asc') return 2;
  const last = ['Release', 'Release.gpg', 'InRelease'].indexOf(posix.basename(file));
  return last >= 0 && file.split('/').length === 3 ? 3 + last : 1;
}

/**
 * Uploads `changed` (paths relative to outputDir, `/`-separated) plus what an earlier run
 * left pending for the same URL, or every file when the record names another URL or none,
 * to `<baseUrl>/<path>`, in publishing order, each file once. Returns what went where.
 */
export async function uploadRepo(outputDir: string, changed: string[], baseUrl: string, settings: UploadSettings): Promise<Array<{ file: string; url: string }>> {
  const url = plainUrl(baseUrl);
  const record = await readRecord(outputDir);
  const files = record?.url === url ? [...new Set([...record.pending, ...changed])] : await allFiles(outputDir);
  files.sort((a, b) => rank(a) - rank(b));
  const save = (pending: string[]): Promise<void> => writeFileAtomic(join(outputDir, UPLOAD_RECORD), `${JSON.stringify({ url, pending } satisfies UploadRecord, null, 2)}\n`);
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
