/**
 * Where a package is built, and the rules that keep a finished package safe: a first
 * build goes into a temporary sibling that is renamed into place; an earlier build of the
 * same package is updated in place while marked unfinished; anything else that is not
 * empty is refused unless `--force`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { AiopError } from '../core/errors.js';
import { pidAlive } from './lock.js';
import { refuseOwnLinks } from '../store/own-paths.js';

/** What `aiop build` remembers about a package between runs (beside its signatures). */
export interface BuildRecord {
  destination: string;
  /** True while an in-place update runs: the folder may be half-updated. */
  unfinished: boolean;
  /** Artifacts placed last time, to skip placing them again when nothing changed. */
  artifacts?: Array<{ name: string; url: string; integrity: string; files: Array<{ path: string; size: number; mtimeMs: number; ino: number }> }>;
}

/** The state folder of one package id. */
export function packageStateDir(root: string, id: string): string {
  return join(root, '.aiop', 'state', 'packages', id);
}

export async function readBuildRecord(stateDir: string): Promise<BuildRecord | undefined> {
  try {
    // A few hundred bytes: a synchronous read costs less than a round trip through the thread pool.
    return JSON.parse(readFileSync(join(stateDir, 'build.json'), 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
}

export async function writeBuildRecord(stateDir: string, record: BuildRecord): Promise<void> {
  // Small, and written twice by every build: synchronously, without thread-pool round trips.
  writeFileAtomicSync(join(stateDir, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
}

export interface Destination {
  /** Where the finished package folder lives. */
  finalDir: string;
  /** Where this build writes: `finalDir` (in place) or a temporary sibling. */
  workDir: string;
  /** The folder that receives zip, deb, manifest and SHA256SUMS. */
  outputDir: string;
  inPlace: boolean;
  /** Whether an existing folder must be deleted before the rename (`--force`, or an empty one). */
  replace: boolean;
}

function inside(child: string, parent: string): boolean {
  // Both are absolute and normalised (join, resolve), so a prefix test says what path.relative
  // would, at a fraction of its cost: it runs once per recipe source.
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * Decides where to build. Throws AiopError('destination') for a foreign non-empty folder
 * without `--force`, and for destinations that would overwrite the playbook itself.
 */
export async function chooseDestination(opts: {
  root: string;
  id: string;
  destinationPath?: string;
  force: boolean;
  record: BuildRecord | undefined;
  /** Source files of the recipe: `--force` must never delete one. */
  sourceFiles: string[];
}): Promise<Destination> {
  const finalDir = opts.destinationPath ? resolve(opts.root, opts.destinationPath) : join(opts.root, '.build', opts.id);
  refuseOwnLinks([{ path: finalDir, what: 'the package folder' }], opts.force);
  if (inside(opts.root, finalDir)) {
    throw new AiopError('destination', `destination ${finalDir} contains the playbook itself; choose a folder inside .build/ or outside the playbook`);
  }
  if (inside(finalDir, join(opts.root, '.aiop'))) {
    throw new AiopError('destination', `destination ${finalDir} is inside the playbook's .aiop folder`);
  }
  const holdsSource = opts.sourceFiles.find((file) => inside(file, finalDir));
  if (holdsSource) {
    throw new AiopError('destination', `destination ${finalDir} holds the recipe source ${relative(opts.root, holdsSource)}; refusing to build over the playbook's sources`);
  }
  const entries = await readdir(finalDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    if (error.code === 'ENOTDIR') throw new AiopError('destination', `destination ${finalDir} exists and is not a folder`);
    throw error;
  });
  const outputDir = dirname(finalDir);
  const temp = join(outputDir, `.${basename(finalDir)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  if (entries === undefined) return { finalDir, workDir: temp, outputDir, inPlace: false, replace: false };
  if (entries.length === 0) return { finalDir, workDir: temp, outputDir, inPlace: false, replace: true };
  if (opts.force) return { finalDir, workDir: temp, outputDir, inPlace: false, replace: true };
  if (opts.record && resolve(opts.record.destination) === finalDir) {
    return { finalDir, workDir: finalDir, outputDir, inPlace: true, replace: false };
  }
  throw new AiopError(
    'destination',
    `destination ${finalDir} exists, is not empty and is not an earlier build of this package; use --force to delete it and build there`,
  );
}

/** Removes leftovers of interrupted first builds of this folder (`.<name>.partial-*`) whose process is gone. */
export async function removeStalePartials(dest: Destination): Promise<void> {
  const prefix = `.${basename(dest.finalDir)}.partial-`;
  const names = await readdir(dest.outputDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await rm(join(dest.outputDir, name), { recursive: true, force: true });
  }
}
