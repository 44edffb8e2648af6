/**
 * The no-op fast path. After a successful build, aiop records every file the build
 * depended on or produced (configuration, recipe files, sources, outputs) with its stat.
 * When the same command runs again and every stat still matches, nothing can have
 * changed: the build is skipped without parsing the playbook, building the graph or
 * hashing anything (ninja's approach). Any mismatch falls back to the full path, which
 * is always correct on its own.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { AiopEvent } from '../core/events.js';

/** [path, size, mtimeMs, ino]; size -1 records a path that must not exist. Paths relative to the root when inside it. */
export type Stamp = [string, number, number, number];

export interface NoopRecord {
  version: 1;
  writtenAt: number;
  stamps: Stamp[];
  /** Anything the command needs to report without loading the playbook (levels, log folder, package id). */
  context: Record<string, unknown>;
}

/**
 * A file modified this close to the moment the record was written may have changed again
 * within the file system's timestamp granularity: such a record is not trusted.
 */
const RACY_MS = 1000;

/** The key of a command: the same key means the same build request. */
export function noopKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function recordPath(root: string, key: string, part = ''): string {
  return join(root, '.aiop', 'state', 'noop', `${key}${part}.json`);
}

/** Stats a path into a stamp (size -1 when missing). */
export function stampOf(path: string): Stamp {
  const s = statSync(path, { throwIfNoEntry: false });
  return s === undefined ? [path, -1, 0, 0] : [path, s.size, s.mtimeMs, s.ino];
}

/** Returns the record when every stamp still matches, else undefined. Never throws. */
export function checkNoop(root: string, key: string): NoopRecord | undefined {
  let record: NoopRecord;
  try {
    record = JSON.parse(readFileSync(recordPath(root, key), 'utf8')) as NoopRecord;
  } catch {
    return undefined;
  }
  if (record?.version !== 1 || !Array.isArray(record.stamps)) return undefined;
  const limit = record.writtenAt - RACY_MS;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  for (const [path, size, mtimeMs, ino] of record.stamps) {
    // String concatenation, not path.join: this loop runs for every file of a large build.
    const s = statSync(path.startsWith('/') ? path : prefix + path, { throwIfNoEntry: false });
    if (s === undefined) {
      if (size === -1) continue;
      return undefined;
    }
    if (size === -1 || s.size !== size || s.mtimeMs !== mtimeMs || s.ino !== ino || s.mtimeMs >= limit) return undefined;
  }
  return record;
}

/** The output events recorded with a no-op record, replayed so reporters show what a real build shows. */
export function noopOutputs(root: string, key: string): AiopEvent[] {
  try {
    return JSON.parse(readFileSync(recordPath(root, key, '.outputs'), 'utf8')) as AiopEvent[];
  } catch {
    return [];
  }
}

/** Writes the record of a successful build: stamps of `paths` (absolute) taken now. */
export async function writeNoop(
  root: string,
  key: string,
  paths: string[],
  outputs: AiopEvent[],
  context: Record<string, unknown>,
): Promise<void> {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const stamps = paths.map((path) => {
    const stamp = stampOf(path);
    if (path.startsWith(prefix)) stamp[0] = path.slice(prefix.length);
    return stamp;
  });
  // Outputs first: a record is only trusted once both files are complete.
  await writeFileAtomic(recordPath(root, key, '.outputs'), JSON.stringify(outputs));
  await writeFileAtomic(recordPath(root, key), JSON.stringify({ version: 1, writtenAt: Date.now(), stamps, context }));
}

/** Forgets a record (before a build that may change things). */
export function dropNoop(root: string, key: string): void {
  rmSync(recordPath(root, key), { force: true });
}
