/**
 * One walk of a package folder: what the `output` event lists, and what the no-op record
 * stamps. Its own module because the incremental path needs it without the packers.
 */
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * Every file and every folder under a folder, package-relative, each list sorted bytewise.
 * One synchronous listing per folder: on a 10,000-file package Node's recursive `readdir`
 * took 20-30 ms, most of it in promises and `Dirent` paths, against a few for this walk.
 */
export async function listTree(dir: string): Promise<{ files: string[]; folders: string[]; all: string[] }> {
  const files: string[] = [];
  const folders: string[] = [];
  const all: string[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const folder = rel === '' ? dir : sep === '/' ? `${dir}/${rel}` : join(dir, ...rel.split('/'));
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      all.push(path);
      if (entry.isDirectory()) {
        folders.push(path);
        pending.push(path);
      } else files.push(path);
    }
  }
  return { files: sortBytewise(files), folders, all: sortBytewise(all) };
}

/** Sorts in place by the UTF-8 bytes of each path. */
function sortBytewise(list: string[]): string[] {
  // UTF-16 order (the default sort of strings) equals bytewise UTF-8 order unless a name has
  // a character outside the Basic Multilingual Plane; only then are bytes compared.
  list.sort();
  if (list.some((path) => /[\uD800-\uDFFF]/.test(path))) list.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return list;
}
