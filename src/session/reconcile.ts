/**
 * Reconciles a package folder with the build before anything is packed: what no target,
 * artifact or extraction of this build produces is removed, so an incremental build leaves
 * what a clean build leaves (a target dropped or renamed, an artifact removed or replaced,
 * a file dropped there by hand).
 *
 * Kept: the declared output of every file target the goals need (with everything under it
 * when that output is a folder), every folder that leads to one, and the files and folders
 * the artifacts placed. Everything else goes. The rule looks only at what the build
 * declares, never at what a command happened to write, so a clean build and an incremental
 * one keep the same entries: a file a command writes beside its declared output is removed
 * in both.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { log, type Emit } from '../core/events.js';
import type { Graph } from '../engine/graph.js';

/** What the artifacts of a build placed, package-relative. */
export interface PlacedEntries {
  files: ReadonlyArray<string | { path: string }>;
  /** Folders an extraction made (an archive's empty folders among them). */
  folders?: readonly string[] | undefined;
}

/** What a package folder may hold after a build, package-relative. */
export interface KeptEntries {
  /** Entries kept as they are (a folder among them keeps only what is itself kept). */
  entries: Set<string>;
  /** Outputs kept with everything under them, when they are folders. */
  outputs: Set<string>;
}

/** The entries a build's graph and artifacts account for. */
export function keptEntries(graph: Pick<Graph, 'order'>, placed: Iterable<PlacedEntries>): KeptEntries {
  const entries = new Set<string>();
  const outputs = new Set<string>();
  const keep = (rel: string): void => {
    for (let path = rel; path !== '' && !entries.has(path); path = parentOf(path)) entries.add(path);
  };
  for (const node of graph.order) {
    if (node.virtual) continue;
    outputs.add(node.key);
    keep(node.key);
  }
  for (const artifact of placed) {
    for (const file of artifact.files) keep(typeof file === 'string' ? file : file.path);
    for (const folder of artifact.folders ?? []) keep(folder);
  }
  return { entries, outputs };
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/** How many removed entries the INFO line names; every one is logged at DEBUG (the log file, `-v`). */
const SHOWN = 5;

/**
 * Removes from `pkgDir` every entry that `kept` does not account for, and says which (a
 * line at INFO level naming the first few, each one at DEBUG: the log file and `-v`). Returns the removed
 * entries, package-relative, sorted. Symbolic links are removed or kept as links, never followed.
 */
export async function reconcilePackageFolder(pkgDir: string, kept: KeptEntries, report: { emit: Emit; pkg?: string }): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    for (const name of names) {
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      const path = join(dir, name);
      if (!kept.entries.has(rel)) {
        await rm(path, { recursive: true, force: true });
        removed.push(rel);
        continue;
      }
      if (kept.outputs.has(rel)) continue;
      const info = await lstat(path).catch(() => undefined);
      if (info?.isDirectory()) await walk(path, rel);
    }
  };
  await walk(pkgDir, '');
  if (removed.length === 0) return removed;
  const shown = removed.slice(0, SHOWN).join(', ') + (removed.length > SHOWN ? ` and ${removed.length - SHOWN} more` : '');
  log(report.emit, 'INFO', 'reconcile', `removed from the package folder what no target, artifact or extraction of this build makes: ${shown}`, report.pkg);
  for (const rel of removed) log(report.emit, 'DEBUG', 'reconcile', `removed ${rel}`, report.pkg);
  return removed;
}

/**
 * After a run that looked at some targets only (the incremental fast path): when the
 * package folder gained entries that the targets which ran do not account for (a command
 * wrote beside its declared output), the folder is reconciled as a full build would, with
 * every target of `graph` and the artifacts `placed`. Returns whether anything was removed.
 * The common case (no new entry, or only the outputs of what ran) reads no other target.
 */
export async function reconcileAfterPartialRun(input: {
  pkgDir: string;
  /** The entries before the run, package-relative. */
  before: Iterable<string>;
  /** The entries now, package-relative. */
  after: readonly string[];
  /** The keys of the targets that ran. */
  ran: readonly string[];
  graph: Pick<Graph, 'order'>;
  placed: Iterable<PlacedEntries>;
  report: { emit: Emit; pkg?: string };
}): Promise<boolean> {
  const before = new Set(input.before);
  const ran = new Set(input.ran);
  const leadsToRan = new Set<string>();
  for (const key of ran) for (let path = parentOf(key); path !== '' && !leadsToRan.has(path); path = parentOf(path)) leadsToRan.add(path);
  const explained = (rel: string): boolean => {
    if (ran.has(rel) || leadsToRan.has(rel)) return true;
    for (let path = parentOf(rel); path !== ''; path = parentOf(path)) if (ran.has(path)) return true;
    return false;
  };
  if (input.after.every((rel) => before.has(rel) || explained(rel))) return false;
  const removed = await reconcilePackageFolder(input.pkgDir, keptEntries(input.graph, input.placed), input.report);
  return removed.length > 0;
}
