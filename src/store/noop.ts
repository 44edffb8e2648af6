/**
 * The no-op fast path. After a successful build, aiop records every file the build
 * depended on or produced (configuration, recipe files, sources, outputs) with its stat.
 * When the same command runs again and every stat still matches, nothing can have
 * changed: the build is skipped without parsing the command line or the playbook, building
 * the graph or hashing anything (ninja's approach). Any mismatch falls back to the full
 * path, which is always correct on its own.
 *
 * The record is read on every no-op, so its format is made for reading: a JSON header,
 * then the paths joined by newlines, then their numbers as raw float64 (no parsing), then
 * the file lists of the output events (read only when a reporter asks for a list).
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import type { AiopEvent, EventOf } from '../core/events.js';
import { packedProvesUnchanged, packStamp, sameStamp, stampOf, statOrUndefined, statStamp, STAMP_FIELDS, unpackStamp, type Stamp } from './stamp.js';
import { REPORT_ONLY, REPORT_ONLY_WORDS, spellingKey, wordsOf } from '../options/table.js';
import type { BuildOptions } from '../options/build-options.js';
import { knownSecrets } from '../report/known-secrets.js';

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
  /** Length of the last section: the file lists of the output events. */
  outputBytes: number;
  context: Record<string, unknown>;
  outputs: StoredEvent[];
}

/**
 * An output event as a record keeps it: its file count in the header, and its files
 * (relative to the root, joined by newlines) as a range of the record's last section, which
 * is decoded and split only when a reporter asks for the list (a package of 10,000 files
 * would otherwise be a 500 KB string to parse on every check).
 */
type StoredEvent = AiopEvent | (Omit<EventOf<'output'>, 'files'> & { fileBytes: [number, number]; fileCount: number });

/** The output events as a record keeps them: the events, and the bytes of their file lists. */
interface StoredOutputs {
  events: StoredEvent[];
  text: Buffer;
}

/** The stored form of output events (files relative to `prefix`). */
function storeOutputs(outputs: AiopEvent[], prefix: string): StoredOutputs {
  const parts: Buffer[] = [];
  let at = 0;
  const events = outputs.map((event): StoredEvent => {
    if (event.type !== 'output') return event;
    const files = event.files.map((f) => relativeTo(prefix, f));
    if (files.some((f) => f.includes('\n'))) return { ...event, files };
    const { files: _files, ...rest } = event;
    const bytes = Buffer.from(files.join('\n'), 'utf8');
    parts.push(bytes);
    at += bytes.length;
    return { ...rest, fileBytes: [at - bytes.length, at], fileCount: files.length };
  });
  return { events, text: Buffer.concat(parts) };
}

/** Output events from their stored form, with absolute paths; a list is read when first asked for. */
function loadOutputs(stored: StoredOutputs, prefix: string): AiopEvent[] {
  return stored.events.map((event) => {
    if ('fileBytes' in event) {
      const { fileBytes: [start, end], ...rest } = event;
      let files: string[] | undefined;
      const split = (): string[] => (files ??= start === end ? [] : stored.text.toString('utf8', start, end).split('\n').map((f) => absolute(prefix, f)));
      return Object.defineProperty({ ...rest }, 'files', { enumerable: true, get: split }) as EventOf<'output'>;
    }
    return event.type === 'output' ? { ...event, files: event.files.map((f) => absolute(prefix, f)) } : event;
  });
}

const MAGIC = 'aiop-noop 5\n';
/** Numbers per path: a packed stamp (src/store/stamp.ts), size -1 for a path that must not exist. */
const FIELDS = STAMP_FIELDS;

/**
 * A command-line word with `_` and `-` made the same in a long option (`--zip-pack` and
 * `--zip_pack` are one option); any other word as it is.
 */
function spelling(word: string): string {
  return word.startsWith('--') ? spellingKey(word) : word;
}

/**
 * The key of a build request: the same key means the same build; the report-only switches of
 * the table of options (src/options/table.ts) are left out. It is computed from the words
 * after `build` as typed (no parser is loaded on the fast path), so two spellings of the same
 * options only cost a full build once each.
 */
export function noopKey(argv: string[], cwd: string, env: NodeJS.ProcessEnv, version: string): string {
  const words = argv.filter((word) => !REPORT_ONLY_WORDS.has(spelling(word)));
  const relevant = Object.keys(env)
    .filter((k) => k.startsWith('AIOP_') || k.startsWith('XDG_') || k === 'HOME' || k === 'SOURCE_DATE_EPOCH')
    .sort()
    .map((k) => [k, env[k]]);
  return createHash('sha256').update(JSON.stringify([version, cwd, words, relevant])).digest('hex').slice(0, 32);
}

/**
 * The report-only switches of the table of options as the words ask for them, each true or
 * false, in either spelling of a long option: what a build answered from a record takes from
 * the command typed now (they are not part of the key).
 */
export function reportOnlyFields(argv: string[]): Partial<BuildOptions> {
  const typed = new Set(argv.map(spelling));
  const out: Record<string, boolean> = {};
  for (const option of REPORT_ONLY) out[option.field!] = wordsOf(option).some((word) => typed.has(spellingKey(word)));
  return out as Partial<BuildOptions>;
}

function recordPath(root: string, key: string): string {
  return join(root, '.aiop', 'state', 'noop', `${key}.bin`);
}

function relativeTo(prefix: string, path: string): string {
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

/**
 * Files whose stamp is still the one recorded at the end of the last successful build (and
 * was not racy then, src/store/stamp.ts): absolute path to stat, undefined for a path recorded as absent and still absent.
 * Their content is what that build saw, so the full path need not stat or hash them again.
 */
export interface KnownStats {
  has(path: string): boolean;
  /** The stamp, undefined for a path known to be absent. */
  get(path: string): Stamp | undefined;
}

/** The files a failed no-op check found unchanged (a {@link StaleRecord}). */
export type Unchanged = KnownStats;

/**
 * A record's paths as the one text they were read as, with where each starts: one string
 * for 20,000 files instead of 20,000 strings that live as long as the check and that the
 * garbage collector would copy and promote. A path's string is made when it is asked for.
 */
class PathList {
  readonly #text: string;
  /** Where each path starts, and one more entry: the text's length + 1. */
  readonly #starts: Int32Array;
  #index: Map<string, number> | undefined;
  #lookups = 0;

  private constructor(text: string, starts: Int32Array) {
    this.#text = text;
    this.#starts = starts;
  }

  /** The list of `count` paths joined by newlines in `text` (undefined: none); undefined if the count is not that. */
  static of(text: string | undefined, count: number): PathList | undefined {
    const starts = new Int32Array(count + 1);
    if (text === undefined) return count === 0 ? new PathList('', starts) : undefined;
    let at = 0;
    for (let i = 0; i < count; i++) {
      starts[i] = at;
      const end = text.indexOf('\n', at);
      if (end < 0) {
        if (i !== count - 1) return undefined;
        at = text.length + 1;
      } else {
        if (i === count - 1) return undefined;
        at = end + 1;
      }
    }
    starts[count] = at;
    return new PathList(text, starts);
  }

  get count(): number {
    return this.#starts.length - 1;
  }

  /** The path at an index, as recorded. */
  at(i: number): string {
    return this.#text.slice(this.#starts[i], this.#starts[i + 1]! - 1);
  }

  /** The index of a path as recorded, or -1. */
  indexOf(path: string): number {
    // A few lookups (the incremental path) search the text; many (a full build) pay for a map once.
    if (this.#index === undefined && ++this.#lookups <= 64) {
      const text = this.#text;
      for (let at = text.indexOf(path); at >= 0; at = text.indexOf(path, at + 1)) {
        const end = at + path.length;
        if ((at === 0 || text.charCodeAt(at - 1) === 10) && (end === text.length || text.charCodeAt(end) === 10)) return this.#indexAt(at);
      }
      return -1;
    }
    if (this.#index === undefined) {
      this.#index = new Map();
      for (let i = 0; i < this.count; i++) this.#index.set(this.at(i), i);
    }
    return this.#index.get(path) ?? -1;
  }

  /** The index of the path that starts at a text offset (binary search of the starts). */
  #indexAt(offset: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }
}

/**
 * A record that no longer holds, with what changed since it was written. It is also the
 * view of the files that did not change ({@link KnownStats}, by absolute path): their
 * content is what the recorded build saw, so a build need not stat or hash them again.
 */
export class StaleRecord implements KnownStats {
  readonly writtenAt: number;
  readonly context: Record<string, unknown>;
  /** The recorded build's output events. */
  readonly outputs: AiopEvent[];
  /** Indexes of the recorded paths whose stat differs now (or is too close to the record's time to trust). */
  readonly changedAt: readonly number[];
  readonly #prefix: string;
  /** The outputs as recorded (paths relative to the root), written again as they are when unchanged. */
  readonly #compactOutputs: StoredOutputs;
  readonly #paths: PathList;
  readonly #pathText: Buffer;
  readonly #numbers: Float64Array;
  readonly #same: Uint8Array;
  /** The record's file as it was read, and where its numbers start, for a rewrite in place. */
  readonly #file: RecordFile;

  constructor(header: Header, stored: StoredOutputs, prefix: string, paths: PathList, pathText: Buffer, numbers: Float64Array, same: Uint8Array, changedAt: number[], file: RecordFile) {
    this.#file = file;
    this.writtenAt = header.writtenAt;
    this.context = header.context;
    this.#compactOutputs = stored;
    this.outputs = loadOutputs(stored, prefix);
    this.#prefix = prefix;
    this.#paths = paths;
    this.#pathText = pathText;
    this.#numbers = numbers;
    this.#same = same;
    this.changedAt = changedAt;
  }

  /** How many paths the record has. */
  get count(): number {
    return this.#paths.count;
  }

  /** The recorded path at an index, absolute. */
  path(i: number): string {
    return absolute(this.#prefix, this.#paths.at(i));
  }

  /** The changed paths, absolute. */
  get changed(): string[] {
    return this.changedAt.map((i) => this.path(i));
  }

  /** The index of a recorded path (absolute), or -1. */
  indexOf(path: string): number {
    return this.#paths.indexOf(relativeTo(this.#prefix, path));
  }

  has(path: string): boolean {
    const i = this.indexOf(path);
    return i >= 0 && this.#same[i] === 1;
  }

  get(path: string): Stamp | undefined {
    const i = this.indexOf(path);
    if (i < 0 || this.#same[i] !== 1) return undefined;
    return unpackStamp(this.#numbers, i);
  }

  /**
   * Writes the record again for the same paths after a build that may have changed those
   * at `restat` (and the changed ones): every other stamp is the one the check just saw.
   * The new stamps go into this record's own numbers (a copy of 20,000 stamps would be
   * 800 KB of fresh memory on the incremental path), so those paths stop counting as
   * unchanged here.
   */
  async rewrite(root: string, key: string, outputs: AiopEvent[], context: Record<string, unknown>, restat: Iterable<number>): Promise<void> {
    const numbers = this.#numbers;
    const again = new Set([...this.changedAt, ...restat]);
    for (const i of again) {
      this.#same[i] = 0;
      packStamp(numbers, i, statStamp(this.path(i)));
    }
    if (outputs === this.outputs && context === this.context && this.#patch(numbers, again)) return;
    await writeRecord(root, key, this.#prefix, this.#pathText, numbers, outputs === this.outputs ? this.#compactOutputs : outputs, context);
  }

  /**
   * Writes the new stamps and time into the record's file in place, when the file is still
   * the one read and only stamps change: a few small writes instead of writing 1.7 MB (for
   * 10,000 targets) again. The time goes last, so a build killed in between leaves stamps
   * newer than the record's time, which the check never trusts (a full or incremental build
   * follows, never a wrong no-op). False when it cannot be done so.
   */
  #patch(numbers: Float64Array, changed: Iterable<number>): boolean {
    const now = String(Date.now());
    const file = this.#file;
    if (now.length !== WRITTEN_AT_DIGITS || String(this.writtenAt).length !== WRITTEN_AT_DIGITS) return false;
    let fd: number;
    try {
      fd = openSync(file.path, 'r+');
    } catch {
      return false;
    }
    try {
      if (!sameStamp(stampOf(fstatSync(fd)), file.stamp)) return false;
      const bytes = Buffer.from(numbers.buffer, numbers.byteOffset, numbers.byteLength);
      for (const i of changed) writeSync(fd, bytes, i * FIELDS * 8, FIELDS * 8, file.numbersStart + i * FIELDS * 8);
      writeSync(fd, now, WRITTEN_AT_OFFSET, 'latin1');
      return true;
    } finally {
      closeSync(fd);
    }
  }
}

/** Where a record was read from: the file as it was then, and where its numbers start. */
interface RecordFile {
  path: string;
  stamp: Stamp;
  numbersStart: number;
}

/** The header is `{"writtenAt":` and the time in milliseconds (13 digits until the year 2286) first. */
const WRITTEN_AT_OFFSET = MAGIC.length + '{"writtenAt":'.length;
const WRITTEN_AT_DIGITS = 13;

/** What {@link checkNoop} found. */
export type NoopCheck = { record: NoopRecord } | { record: undefined; stale?: StaleRecord };

/**
 * Compares every stamp of the record with the file system. When all match, the record
 * holds; otherwise the files that did not change are returned too. Never throws.
 */
export function checkNoop(root: string, key: string): NoopCheck {
  const file = recordPath(root, key);
  let header: Header;
  let paths: PathList | undefined;
  let pathText: Buffer;
  let numbers: Float64Array;
  let stored: StoredOutputs;
  let where: RecordFile;
  try {
    const { buffer, stamp } = readWhole(file);
    if (buffer.toString('latin1', 0, MAGIC.length) !== MAGIC) return { record: undefined };
    const headerEnd = buffer.indexOf(10, MAGIC.length);
    header = JSON.parse(buffer.toString('utf8', MAGIC.length, headerEnd)) as Header;
    const pathsStart = headerEnd + 1;
    const numbersStart = align8(pathsStart + header.pathBytes);
    where = { path: file, stamp, numbersStart };
    pathText = buffer.subarray(pathsStart, pathsStart + header.pathBytes);
    paths = PathList.of(header.count === 0 ? undefined : pathText.toString('utf8'), header.count);
    const bytes = buffer.subarray(numbersStart, numbersStart + header.count * FIELDS * 8);
    // A Float64Array needs 8-byte alignment; a copy costs less than parsing text would.
    numbers =
      bytes.byteOffset % 8 === 0
        ? new Float64Array(bytes.buffer, bytes.byteOffset, header.count * FIELDS)
        : new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const outputsStart = numbersStart + header.count * FIELDS * 8;
    stored = { events: header.outputs, text: buffer.subarray(outputsStart, outputsStart + header.outputBytes) };
    if (paths === undefined || numbers.length !== header.count * FIELDS || stored.text.length !== header.outputBytes) return { record: undefined };
  } catch {
    return { record: undefined };
  }
  const writtenAt = header.writtenAt;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  // Relative paths as they are when the root is the working folder (it is for `aiop build`):
  // no string to build, and fewer folders for the kernel to walk.
  const base = root === process.cwd() ? '' : prefix;
  const same = new Uint8Array(paths.count);
  const changedAt: number[] = [];
  for (let i = 0; i < paths.count; i++) {
    // Made for this stat and dropped: nothing per file outlives the loop (and is copied by the garbage collector).
    const path = paths.at(i);
    // String concatenation, not path.join: this loop runs for every file of a large build.
    const now = statOrUndefined(path.charCodeAt(0) === 47 || base === '' ? path : base + path);
    if (packedProvesUnchanged(numbers, i, now, writtenAt)) same[i] = 1;
    else changedAt.push(i);
  }
  if (changedAt.length > 0) return { record: undefined, stale: new StaleRecord(header, stored, prefix, paths, pathText, numbers, same, changedAt, where) };
  const outputs = loadOutputs(stored, prefix);
  return { record: { writtenAt: header.writtenAt, context: header.context, outputs } };
}

/** A file's bytes and the identity of the file they were read from. */
function readWhole(path: string): { buffer: Buffer; stamp: Stamp } {
  const fd = openSync(path, 'r');
  try {
    const stamp = stampOf(fstatSync(fd));
    const size = stamp.size;
    const buffer = Buffer.allocUnsafe(size);
    for (let at = 0; at < size; ) {
      const n = readSync(fd, buffer, at, size - at, at);
      if (n === 0) throw new Error(`${path} shrank while it was read`);
      at += n;
    }
    return { buffer, stamp };
  } finally {
    closeSync(fd);
  }
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
  known?: KnownStats,
): Promise<void> {
  // A newline in a name would split the list: such a build simply gets no fast path.
  if (paths.some((path) => path.includes('\n'))) return dropNoop(root, key);
  // Nor does a build that knows a credential (a URL's password, perhaps given as a variable):
  // the record holds the options and variables, and secrets never go to disk.
  if (knownSecrets().length > 0) return dropNoop(root, key);
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const numbers = new Float64Array(paths.length * FIELDS);
  paths.forEach((path, i) => packStamp(numbers, i, known?.has(path) ? known.get(path) : statStamp(path)));
  const pathText = Buffer.from(paths.map((path) => relativeTo(prefix, path)).join('\n'), 'utf8');
  await writeRecord(root, key, prefix, pathText, numbers, outputs, context);
}

async function writeRecord(
  root: string,
  key: string,
  prefix: string,
  pathText: Buffer,
  numbers: Float64Array,
  outputs: AiopEvent[] | StoredOutputs,
  context: Record<string, unknown>,
): Promise<void> {
  const file = recordPath(root, key);
  // A record that is gone only means a full build, so the old one is removed before the new
  // one is renamed into place: ext4 flushes a file that replaces another by rename (0.7 ms
  // for the record of a 10,000-target build), not one renamed to a free name.
  rmSync(file, { force: true });
  const stored = Array.isArray(outputs) ? storeOutputs(outputs, prefix) : outputs;
  const header: Header = { writtenAt: Date.now(), count: numbers.length / FIELDS, pathBytes: pathText.length, outputBytes: stored.text.length, context, outputs: stored.events };
  const head = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8');
  const pad = Buffer.alloc(align8(head.length + pathText.length) - head.length - pathText.length);
  writeFileAtomicSync(file, Buffer.concat([head, pathText, pad, Buffer.from(numbers.buffer, numbers.byteOffset, numbers.byteLength), stored.text]));
  // Records of the first format (JSON) are never read again.
  for (const name of readdirSync(dirname(file))) if (name.endsWith('.json')) rmSync(join(dirname(file), name), { force: true });
}

/** Forgets a record and its delta record (before a build that may change things). */
export function dropNoop(root: string, key: string): void {
  rmSync(recordPath(root, key), { force: true });
  rmSync(deltaPath(root, key), { force: true });
}

/** Where the delta record of a key lives (src/store/delta.ts), beside the no-op record. */
export function deltaPath(root: string, key: string): string {
  return join(root, '.aiop', 'state', 'noop', `${key}.delta`);
}

/**
 * The stats of a failed no-op check that a new record may reuse after a build: those of
 * the files the build did not write. The package folder, its folders (their entries may
 * have changed), what the targets that ran made and the outputs are stat-ed again. A file
 * changed by some command's side effect keeps its old stat, which only means the next build
 * takes the full path once: never the wrong answer.
 */
export function statsToReuse(
  unchanged: Unchanged | undefined,
  written: { packageDir: string; ran: Iterable<string>; folders: Iterable<string>; files: Iterable<string> },
): KnownStats | undefined {
  if (unchanged === undefined) return undefined;
  // A view, not a copy: the map holds every file of a large build.
  const stale = new Set<string>([written.packageDir]);
  const prefix = `${written.packageDir}/`;
  for (const key of written.ran) stale.add(prefix + key);
  for (const folder of written.folders) stale.add(prefix + folder);
  for (const file of written.files) stale.add(file);
  return { has: (path) => !stale.has(path) && unchanged.has(path), get: (path) => unchanged.get(path) };
}
