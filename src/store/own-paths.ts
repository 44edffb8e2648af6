/**
 * Folders and files that aiop keeps for itself (a package folder, the state folders, the log
 * folder) are never reached through a symbolic link: a link put there, by mistake or by someone
 * else, would make aiop write, and with `--force` delete, wherever it points. Such a link is
 * refused; with `--force` the link itself is removed (never what it points to) and aiop goes on
 * as if nothing were there.
 */
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AiopError } from '../core/errors.js';

/** Where a symbolic link at `path` points, or undefined when `path` is not a link (or is absent). */
export function linkTarget(path: string): string | undefined {
  let info: ReturnType<typeof lstatSync>;
  try {
    info = lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    // A file where a parent folder should be: nothing is there; creating it says why not.
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
  if (!info?.isSymbolicLink()) return undefined;
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/**
 * Refuses a symbolic link at any of `paths` (each with what it is, for the message), or with
 * `force` removes the link itself. Checked in the order given: list a parent before its children.
 * @throws AiopError('destination') naming the link and where it points.
 */
export function refuseOwnLinks(paths: ReadonlyArray<{ path: string; what: string }>, force: boolean): void {
  for (const { path, what } of paths) {
    const target = linkTarget(path);
    if (target === undefined) continue;
    if (force) {
      unlinkSync(path);
      continue;
    }
    throw new AiopError(
      'destination',
      `${what} ${path} is a symbolic link (to ${target}); aiop does not follow links where it keeps its own files. ` +
        'Remove the link, or use --force to remove it (what it points to is left alone)',
    );
  }
}

/**
 * aiop's own folders of one package, parents first: the state folders (`.aiop/state`, its
 * `packages`, `noop` and the package's own) and, when `logDir` is given, the log folder.
 */
export function ownStateFolders(root: string, id: string, logDir?: string): Array<{ path: string; what: string }> {
  const state = join(root, '.aiop', 'state');
  return [
    { path: state, what: 'the state folder' },
    { path: join(state, 'packages'), what: 'the state folder' },
    { path: join(state, 'packages', id), what: 'the state folder' },
    { path: join(state, 'noop'), what: 'the state folder' },
    ...(logDir === undefined ? [] : [{ path: logDir, what: 'the log folder' }]),
  ];
}
