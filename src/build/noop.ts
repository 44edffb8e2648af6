/**
 * The no-op fast path. After a successful build, aiop records every file the build
 * depended on or produced (configuration, recipe files, sources, outputs) with its stat.
 * When the same command runs again and every stat still matches, nothing can have
 * changed: the build is skipped without parsing the command line or the playbook, building
 * the graph or hashing anything (ninja's approach). Any mismatch falls back to the full
 * path, which is always correct on its own.
 *
 * The record is read on every no-op, so its format is made for reading: a JSON header,
 * then the paths joined by newlines, then their numbers as raw float64 (no parsing).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { AiopEvent } from '../core/events.js';
import { statter, type StatTriple } from '../core/fast-stat.js';

/** What a record gives back when it still holds. */
export interface NoopRecord {
  writtenAt: number;
  /** Anything the command needs to report without loading the playbook (options, levels, package id). */
  context: Record<string, unknown>;
  /** The output events of the recorded build, replayed so reporters show what a real build shows. */
  outputs: AiopEvent[];
}

interface Header {
  writtenAt: number;
  count: number;
  pathBytes: number;
  context: Record<string, unknown>;
  outputs: AiopEvent[];
}

const MAGIC = 'aiop-noop 2\n';
/** Numbers per path: size (-1: must not exist), mtimeMs, ino. */
const FIELDS = 3;

/**
 * A file modified this close to the moment the record was written may have changed again
 * within the file system's timestamp granularity: such a record is not trusted.
 */
const RACY_MS = 1000;

/** Command-line words that change how a build reports, not what it builds. */
const REPORT_ONLY = new Set(['-hp', '--hide_progress', '--machine-readable']);

/**
 * The key of a build request: the same key means the same build. It is computed from the
 * words after `build` as typed (no parser is loaded on the fast path), so two spellings of
 * the same options only cost a full build once each.
 */
export function noopKey(argv: string[], cwd: string, env: NodeJS.ProcessEnv, version: string): string {
  const words = argv.filter((word) => !REPORT_ONLY.has(word));
  const relevant = Object.keys(env)
    .filter((k) => k.startsWith('AIOP_') || k.startsWith('XDG_') || k === 'HOME' || k === 'SOURCE_DATE_EPOCH')
    .sort()
    .map((k) => [k, env[k]]);
  return createHash('sha256').update(JSON.stringify([version, cwd, words, relevant])).digest('hex').slice(0, 32);
}

/** Whether the words ask for one of the report-only switches (they are not part of the key). */
export function hasWord(argv: string[], ...words: string[]): boolean {
  return argv.some((word) => words.includes(word));
}

function recordPath(root: string, key: string): string {
  return join(root, '.aiop', 'state', 'noop', `${key}.bin`);
}

function relativeTo(prefix: string, path: string): string {
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * Files whose stat is still the one recorded at the end of the last successful build (and
 * not racy): absolute path to stat, undefined for a path recorded as absent and still absent.
 * Their content is what that build saw, so the full path need not stat or hash them again.
 */
export type Unchanged = ReadonlyMap<string, StatTriple | undefined>;

/** What {@link checkNoop} found. */
export type NoopCheck = { record: NoopRecord } | { record: undefined; unchanged?: Unchanged };

/**
 * Compares every stamp of the record with the file system. When all match, the record
 * holds; otherwise the files that did not change are returned too. Never throws.
 */
export function checkNoop(root: string, key: string): NoopCheck {
  const file = recordPath(root, key);
  let header: Header;
  let paths: string[];
  let numbers: Float64Array;
  try {
    const buffer = readFileSync(file);
    if (buffer.toString('latin1', 0, MAGIC.length) !== MAGIC) return { record: undefined };
    const headerEnd = buffer.indexOf(10, MAGIC.length);
    header = JSON.parse(buffer.toString('utf8', MAGIC.length, headerEnd)) as Header;
    const pathsStart = headerEnd + 1;
    const numbersStart = align8(pathsStart + header.pathBytes);
    paths = header.count === 0 ? [] : buffer.toString('utf8', pathsStart, pathsStart + header.pathBytes).split('\n');
    const bytes = buffer.subarray(numbersStart, numbersStart + header.count * FIELDS * 8);
    // A Float64Array needs 8-byte alignment; a copy costs less than parsing text would.
    numbers =
      bytes.byteOffset % 8 === 0
        ? new Float64Array(bytes.buffer, bytes.byteOffset, header.count * FIELDS)
        : new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    if (paths.length !== header.count || numbers.length !== header.count * FIELDS) return { record: undefined };
  } catch {
    return { record: undefined };
  }
  const stat = statter(file);
  const limit = header.writtenAt - RACY_MS;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  // Relative paths as they are when the root is the working folder (it is for `aiop build`):
  // no string to build, and fewer folders for the kernel to walk.
  const base = root === process.cwd() ? '' : prefix;
  const recorded = (i: number): StatTriple | undefined =>
    numbers[i * FIELDS] === -1 ? undefined : { size: numbers[i * FIELDS]!, mtimeMs: numbers[i * FIELDS + 1]!, ino: numbers[i * FIELDS + 2]! };
  let unchanged: Map<string, StatTriple | undefined> | undefined;
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    // String concatenation, not path.join: this loop runs for every file of a large build.
    const s = stat(path.charCodeAt(0) === 47 || base === '' ? path : base + path);
    const size = numbers[i * FIELDS]!;
    const same =
      s === undefined
        ? size === -1
        : size !== -1 && s.size === size && s.mtimeMs === numbers[i * FIELDS + 1] && s.ino === numbers[i * FIELDS + 2] && s.mtimeMs < limit;
    if (same && unchanged === undefined) continue;
    if (unchanged === undefined) {
      // The first difference: from here on, remember what did not change (all before it did not).
      unchanged = new Map();
      for (let j = 0; j < i; j++) unchanged.set(absolute(prefix, paths[j]!), recorded(j));
    }
    if (same) unchanged.set(absolute(prefix, path), s);
  }
  if (unchanged !== undefined) return { record: undefined, unchanged };
  const outputs = header.outputs.map((event) =>
    event.type === 'output' ? { ...event, files: event.files.map((f) => absolute(prefix, f)) } : event,
  );
  return { record: { writtenAt: header.writtenAt, context: header.context, outputs } };
}

function absolute(prefix: string, path: string): string {
  return path.charCodeAt(0) === 47 ? path : prefix + path;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Writes the record of a successful build: stamps of `paths` (absolute) taken now, or
 * given in `known` by a caller that has just stat-ed them.
 */
export async function writeNoop(
  root: string,
  key: string,
  paths: string[],
  outputs: AiopEvent[],
  context: Record<string, unknown>,
  known?: ReadonlyMap<string, StatTriple | undefined>,
): Promise<void> {
  // A newline in a name would split the list: such a build simply gets no fast path.
  if (paths.some((path) => path.includes('\n'))) return dropNoop(root, key);
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const file = recordPath(root, key);
  const stat = statter(join(root, '.aiop', 'inventory_config.yml'));
  const numbers = new Float64Array(paths.length * FIELDS);
  paths.forEach((path, i) => {
    const s = known?.has(path) ? known.get(path) : stat(path);
    numbers[i * FIELDS] = s ? s.size : -1;
    numbers[i * FIELDS + 1] = s ? s.mtimeMs : 0;
    numbers[i * FIELDS + 2] = s ? s.ino : 0;
  });
  const pathText = Buffer.from(paths.map((path) => relativeTo(prefix, path)).join('\n'), 'utf8');
  const compactOutputs = outputs.map((event) =>
    event.type === 'output' ? { ...event, files: event.files.map((f) => relativeTo(prefix, f)) } : event,
  );
  const header: Header = { writtenAt: Date.now(), count: paths.length, pathBytes: pathText.length, context, outputs: compactOutputs };
  const head = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8');
  const pad = Buffer.alloc(align8(head.length + pathText.length) - head.length - pathText.length);
  await writeFileAtomic(file, Buffer.concat([head, pathText, pad, Buffer.from(numbers.buffer)]));
  // Records of the first format (JSON) are never read again.
  for (const name of readdirSync(dirname(file))) if (name.endsWith('.json')) rmSync(join(dirname(file), name), { force: true });
}

/** Forgets a record (before a build that may change things). */
export function dropNoop(root: string, key: string): void {
  rmSync(recordPath(root, key), { force: true });
}
