/**
 * Where a package is built, and the rules that keep a finished package safe: a first
 * build goes into a temporary sibling that is renamed into place; an earlier build of the
 * same package (to any destination it remembers) is updated in place while marked
 * unfinished. Under the playbook's `.build/` everything is aiop's: a folder there that no
 * record vouches for (state removed or damaged) is built anew and replaced. Anything else
 * that is not empty is refused unless `--force`: aiop never deletes files it cannot prove
 * it made.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { AiopError } from '../core/errors.js';
import { buildRecordPath, knownDestinations, packageStateDir, readBuildRecordFile, recordFor, type BuildRecord } from '../store/build-record.js';
import { pidAlive } from './lock.js';
import { refuseOwnLinks } from '../store/own-paths.js';

export { packageStateDir, readBuildRecord, writeBuildRecord, type BuildRecord } from '../store/build-record.js';

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
  /** What the build record says about this destination (undefined: never built there, as far as it knows). */
  record?: BuildRecord | undefined;
  /** What the build should say about how the destination was chosen (a damaged record, a folder built anew). */
  notes?: Array<{ level: 'INFO' | 'WARNING'; message: string }>;
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
  const outputDir = dirname(finalDir);
  const temp = join(outputDir, `.${basename(finalDir)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  const record = recordFor(opts.record, finalDir);
  const notes = recordNotes(opts);
  const fresh = (replace: boolean, note?: string): Destination => {
    const all = note === undefined ? notes : [...notes, { level: 'INFO' as const, message: `${relative(opts.root, finalDir)}: ${note}; it is built anew` }];
    return { finalDir, workDir: temp, outputDir, inPlace: false, replace, record, ...(all.length > 0 ? { notes: all } : {}) };
  };
  const buildDir = join(opts.root, '.build');
  const ours = finalDir !== buildDir && inside(finalDir, buildDir);
  // A link where aiop's own folder is expected is never followed: under `.build/` it is replaced.
  if (ours && (await lstat(finalDir).catch(() => undefined))?.isSymbolicLink()) return fresh(true, 'a symbolic link stands where the package folder belongs');
  const entries = await readdir(finalDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    if (error.code === 'ENOTDIR') {
      if (ours) return ['(not a folder)'];
      if (existsSync(finalDir)) throw new AiopError('destination', `destination ${finalDir} exists and is not a folder`);
      let file = dirname(finalDir);
      while (dirname(file) !== file && !existsSync(file)) file = dirname(file);
      throw new AiopError('destination', `destination ${finalDir} cannot be created: ${file} is a file, not a folder (ENOTDIR)`);
    }
    throw error;
  });
  if (entries === undefined) return fresh(false);
  if (entries.length === 0) return fresh(true);
  if (opts.force) return fresh(true);
  if (knownDestinations(opts.record).some((known) => resolve(known) === finalDir)) {
    return { finalDir, workDir: finalDir, outputDir, inPlace: true, replace: false, record, ...(notes.length > 0 ? { notes } : {}) };
  }
  if (ours) return fresh(true, opts.record ? 'the build record does not name this folder' : 'no build record names this folder (the state was removed or damaged)');
  throw new AiopError(
    'destination',
    `destination ${finalDir} exists, is not empty and is not an earlier build of this package; use --force to delete it and build there`,
  );
}

/** A warning naming the build record when it exists but cannot be read (then it is written anew). */
function recordNotes(opts: { root: string; id: string; record: BuildRecord | undefined }): NonNullable<Destination['notes']> {
  if (opts.record) return [];
  const stateDir = packageStateDir(opts.root, opts.id);
  const { damaged } = readBuildRecordFile(stateDir);
  if (damaged === undefined) return [];
  return [{ level: 'WARNING', message: `${relative(opts.root, buildRecordPath(stateDir))} is damaged (${damaged}); it is written anew` }];
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
