/** Safe extraction of the archive kinds aiop knows, into a fresh folder. */
import type { ArchiveKind } from '../archive-kind.js';
import { SafeTree } from './safe-tree.js';
import { extractZip } from './zip.js';

export { SafeTree, safeComponents, symlinkStaysInside } from './safe-tree.js';
export type { ZipEntry } from './zip.js';

/** How to extract. */
export interface ExtractOptions {
  /** The archive's name (its URL), for messages. */
  archive: string;
  stripComponents: number;
  /** Mode for every regular file; else the archive's permission bits. */
  mode?: number;
}

/**
 * Extracts `file` into `root`, an empty folder private to this call. Throws
 * `AiopError('extract')` naming the entry when one would escape `root`; the caller then
 * deletes `root`, so a refused archive leaves nothing behind.
 */
export async function extractArchive(file: string, kind: ArchiveKind, root: string, options: ExtractOptions): Promise<void> {
  const tree = new SafeTree(root, options.archive, options.stripComponents, options.mode);
  if (kind === 'zip') await extractZip(file, tree);
  // tar's parser is loaded only when a tar archive is extracted.
  else await (await import('./tar.js')).extractTar(file, kind, tree);
}
