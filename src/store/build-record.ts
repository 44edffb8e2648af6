/**
 * What `aiop build` remembers about a package between runs, beside its signatures: every
 * destination it was built to, whether the last update there finished, and the artifacts
 * placed there. One file per package id (`.aiop/state/packages/<id>/build.json`), written
 * atomically. The destination built last is at the top level (the fast paths read only
 * that one); the others are kept under `elsewhere`, so that switching a package between
 * destinations never makes one of them look foreign.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import type { FileStamp } from '../engine/state.js';

/**
 * An artifact placed in a package folder, with the stamps of its files as they were left
 * there: the engine's stamp with the content's hash (src/engine/state.ts), so that a file
 * whose stamp proves nothing (racy, src/store/stamp.ts) is told unchanged by its content.
 * Absent for a file that was not there.
 */
export interface PlacedArtifact {
  name: string;
  url: string;
  integrity: string;
  files: Array<{ path: string; stamp?: FileStamp }>;
  /** Folders its extraction made (kept by the reconciliation even when empty). */
  folders?: string[];
}

/** What is remembered about one destination of a package. */
export interface DestinationState {
  /** True while an in-place update runs: the folder may be half-updated. */
  unfinished: boolean;
  /** Artifacts placed last time, to skip placing them again when nothing changed. */
  artifacts?: PlacedArtifact[];
}

/** The build record of a package: its last destination, and every other one it was built to. */
export interface BuildRecord extends DestinationState {
  destination: string;
  /** The other destinations this package was built to, by absolute path. */
  elsewhere?: Record<string, DestinationState>;
}

/** The state folder of one package id. */
export function packageStateDir(root: string, id: string): string {
  return join(root, '.aiop', 'state', 'packages', id);
}

/** The build record's file in a package's state folder. */
export function buildRecordPath(stateDir: string): string {
  return join(stateDir, 'build.json');
}

/** What reading a build record found. */
export interface BuildRecordRead {
  record: BuildRecord | undefined;
  /** Set when the file exists but cannot be read as a record: why. */
  damaged?: string;
}

function destinationState(value: unknown): value is DestinationState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Partial<DestinationState>;
  return typeof state.unfinished === 'boolean' && (state.artifacts === undefined || Array.isArray(state.artifacts));
}

/** Whether a parsed value is a build record this version can use. */
function isBuildRecord(value: unknown): value is BuildRecord {
  if (!destinationState(value)) return false;
  const record = value as Partial<BuildRecord>;
  if (typeof record.destination !== 'string') return false;
  if (record.elsewhere === undefined) return true;
  if (typeof record.elsewhere !== 'object' || record.elsewhere === null) return false;
  return Object.values(record.elsewhere).every(destinationState);
}

/** Reads a package's build record, telling a missing file from a damaged one. */
export function readBuildRecordFile(stateDir: string): BuildRecordRead {
  let text: string;
  try {
    // A few hundred bytes: a synchronous read costs less than a round trip through the thread pool.
    text = readFileSync(buildRecordPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { record: undefined };
    return { record: undefined, damaged: (error as Error).message };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isBuildRecord(parsed)) return { record: parsed };
    return { record: undefined, damaged: 'not a build record of this version of aiop' };
  } catch (error) {
    return { record: undefined, damaged: (error as Error).message };
  }
}

/** A package's build record, or undefined when there is none (or it cannot be read). */
export async function readBuildRecord(stateDir: string): Promise<BuildRecord | undefined> {
  return readBuildRecordFile(stateDir).record;
}

/** Every destination a record remembers, the last one first. */
export function knownDestinations(record: BuildRecord | undefined): string[] {
  if (!record) return [];
  return [record.destination, ...Object.keys(record.elsewhere ?? {})];
}

/**
 * The record as it applies to one destination: the record itself when that destination
 * was built last, else a record whose top level is that destination's state (undefined when
 * the package was never built there).
 */
export function recordFor(record: BuildRecord | undefined, destination: string): BuildRecord | undefined {
  if (!record) return undefined;
  const wanted = resolve(destination);
  if (resolve(record.destination) === wanted) return record;
  const state = record.elsewhere?.[wanted];
  if (!state) return undefined;
  const elsewhere: Record<string, DestinationState> = { ...record.elsewhere };
  delete elsewhere[wanted];
  elsewhere[record.destination] = stateOf(record);
  return { ...state, destination: wanted, elsewhere };
}

function stateOf(record: DestinationState): DestinationState {
  return { unfinished: record.unfinished, ...(record.artifacts ? { artifacts: record.artifacts } : {}) };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Records the state of `record.destination`, which becomes the last one; the other
 * destinations already recorded are kept while their folder exists.
 */
export async function writeBuildRecord(stateDir: string, record: BuildRecord): Promise<void> {
  const current = readBuildRecordFile(stateDir).record;
  const destination = resolve(record.destination);
  const elsewhere: Record<string, DestinationState> = {};
  if (current) {
    for (const [path, state] of [[current.destination, stateOf(current)] as const, ...Object.entries(current.elsewhere ?? {})]) {
      const key = resolve(path);
      if (key !== destination && !(key in elsewhere) && exists(key)) elsewhere[key] = state;
    }
  }
  // The others come from the file, not from the caller's view of them (see recordFor): another
  // build may have recorded one since that view was read.
  const next: BuildRecord = { destination: record.destination, ...stateOf(record), ...(Object.keys(elsewhere).length > 0 ? { elsewhere } : {}) };
  // Small, and written twice by every build: synchronously, without thread-pool round trips.
  writeFileAtomicSync(buildRecordPath(stateDir), `${JSON.stringify(next, null, 2)}\n`);
}
