/**
 * The signature state on disk: what the engine remembers between runs (src/engine/state.ts
 * says what a record holds). One file per package (or per `aap` output folder), written
 * atomically; deleting it rebuilds everything.
 *
 * The file is one line per entry, so that a run reads only the records it uses: the
 * incremental fast path of a 10,000-target recipe looks at two targets, and parsing the whole
 * state as one JSON document was most of its time. A line is `t`, the target's signature,
 * its key and its record (JSON), or `f`, a file's path and its stamp (JSON), separated by
 * tabs (JSON never holds a raw tab). Lines a run did not change are written back verbatim.
 * The target lines come first, then the file lines, each sorted by the name's JSON text, so
 * a run that needs a few records finds them by a binary search of the file
 * (src/store/state-search.ts) instead of reading megabytes.
 *
 * A run that looked at a few targets only appends what it changed to a journal beside the
 * file instead of writing it all again: one JSON line per run, naming the snapshot it
 * applies to, so a journal never outlives its snapshot. The next full write folds it in.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import type { FileStamp, TargetRecord } from '../engine/state.js';

/** The first word of a state file; a tab and the snapshot's id follow. */
export const MAGIC = 'aiop-state 3';
/** The same lines, not sorted: still read whole, written as the current format. */
const UNSORTED = 'aiop-state 2';

/** Past this size the journal is folded into a new snapshot. */
const JOURNAL_MAX = 1024 * 1024;

/** One run's changes in the journal; null removes an entry. */
export interface JournalLine {
  snapshot: string;
  targets: Record<string, TargetRecord | null>;
  files: Record<string, FileStamp | null>;
}

/** What one run changed: records made or forgotten, and the stamps of the files it used. */
export interface StateChanges {
  /** New records, and null for a record to forget (a target that failed). */
  targets: ReadonlyMap<string, TargetRecord | null>;
  /** Stamps of the files this run looked at. */
  files: ReadonlyMap<string, FileStamp>;
}

/** Which state a save left on disk: the snapshot and how long its journal is. */
export interface SavedState {
  snapshot: string;
  journalBytes: number;
}

/** The recorded state, read on demand. */
export interface StateReader {
  /** The snapshot's name (undefined when there is none yet). */
  readonly id: string | undefined;
  target(key: string): TargetRecord | undefined;
  /** The recorded signature of a target, without reading the rest of its record. */
  signature(key: string): string | undefined;
  file(path: string): FileStamp | undefined;
  /**
   * Why the file could not be read whole (cut short, not a state file, a line that is not
   * JSON), or undefined: what could not be read counts as never built, which is always safe.
   */
  readonly damaged?: string | undefined;
}

/** A state the engine reads and then saves its changes to. */
export interface StateStore extends StateReader {
  /**
   * Writes what a run changed. `partial`: the run looked at some targets only, so every
   * other entry stays.
   */
  save(changes: StateChanges, partial: boolean): Promise<SavedState>;
}

/** The journal of a state file. */
export function journalPath(file: string): string {
  return `${file}.journal`;
}

/**
 * The journal's lines for a snapshot, in order. A line cut short by a crash, one naming
 * another snapshot, and anything after it are not applied (`whole` is then false): those
 * targets keep their older records and are made again, which is always safe.
 */
export function readJournal(file: string, snapshot: string | undefined): { lines: JournalLine[]; whole: boolean } {
  let text: string;
  try {
    text = readFileSync(journalPath(file), 'utf8');
  } catch {
    return { lines: [], whole: true };
  }
  const lines: JournalLine[] = [];
  const texts = text.split('\n');
  for (let i = 0; i < texts.length; i++) {
    if (texts[i] === '' && i === texts.length - 1) break;
    try {
      const line = JSON.parse(texts[i]!) as JournalLine;
      if (line.snapshot !== snapshot || typeof line.targets !== 'object' || typeof line.files !== 'object') return { lines, whole: false };
      lines.push(line);
    } catch {
      return { lines, whole: false };
    }
  }
  return { lines, whole: true };
}

/** Appends one run's changes to the journal when it is small enough; returns its new size, or undefined. */
export function appendJournal(file: string, snapshot: string, changes: StateChanges, unchanged?: (path: string, stamp: FileStamp) => boolean): number | undefined {
  let size = 0;
  try {
    size = lstatSync(journalPath(file)).size;
  } catch {
    // No journal yet.
  }
  if (size >= JOURNAL_MAX) return undefined;
  const line: JournalLine = { snapshot, targets: Object.fromEntries(changes.targets), files: {} };
  for (const [path, stamp] of changes.files) if (!unchanged?.(path, stamp)) line.files[path] = stamp;
  const text = `${JSON.stringify(line)}\n`;
  // One write of one line: a crash leaves at most a line cut short, which loading skips.
  appendFileSync(journalPath(file), text);
  return size + Buffer.byteLength(text);
}

/** Keys and paths are JSON strings; most need no unescaping. */
export function jsonString(text: string): string {
  return text.includes('\\') ? (JSON.parse(text) as string) : text.slice(1, -1);
}

/** An entry as read: its line (written back as it is when unchanged), parsed on first use. */
interface Entry<T> {
  line: string;
  /** Where the record's JSON starts in the line. */
  at: number;
  value?: T;
  /** Set by the journal: the line on disk is out of date. */
  replaced?: boolean;
}

/** A state file as read: every line indexed, nothing parsed yet. */
export class StateFile implements StateStore {
  readonly id: string | undefined;
  readonly #targets = new Map<string, Entry<TargetRecord> & { sig: string }>();
  readonly #files = new Map<string, Entry<FileStamp>>();
  readonly #path: string;
  /** Whether the journal may be appended to (it applied whole to this snapshot). */
  #journalOk = true;
  #damaged: string | undefined;

  private constructor(path: string, id: string | undefined, damaged?: string) {
    this.#path = path;
    this.id = id;
    this.#damaged = damaged;
  }

  get damaged(): string | undefined {
    return this.#damaged;
  }

  /** A record's JSON, or undefined (and the entry forgotten) when it is not JSON. */
  #parse<T>(map: Map<string, Entry<T>>, name: string, entry: Entry<T>): T | undefined {
    try {
      return (entry.value ??= JSON.parse(entry.line.slice(entry.at)) as T);
    } catch {
      map.delete(name);
      this.#damaged ??= `the record of ${JSON.stringify(name)} is not JSON`;
      return undefined;
    }
  }

  /** Reads a state file and its journal; a missing or unreadable one means "nothing built yet". */
  static load(path: string): StateFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return new StateFile(path, undefined);
    }
    if (text.startsWith('{')) return StateFile.#fromJson(path, text);
    // Anything damaged starts over, which is always safe. Every write ends with a newline.
    const damaged = (why: string): StateFile => new StateFile(path, undefined, why);
    if (!text.endsWith('\n')) return damaged(text === '' ? 'empty' : 'cut short');
    const lines = text.split('\n');
    const head = lines[0]!.split('\t');
    if ((head[0] !== MAGIC && head[0] !== UNSORTED) || head.length !== 2) return damaged('not a signature file this version of aiop reads');
    const state = new StateFile(path, head[1]);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.startsWith('t\t')) {
        const keyAt = line.indexOf('\t', 2) + 1;
        const at = line.indexOf('\t', keyAt) + 1;
        if (keyAt === 0 || at === 0) return damaged(`line ${i + 1} is not a record`);
        state.#targets.set(jsonString(line.slice(keyAt, at - 1)), { line, at, sig: line.slice(2, keyAt - 1) });
      } else if (line.startsWith('f\t')) {
        const at = line.indexOf('\t', 2) + 1;
        if (at === 0) return damaged(`line ${i + 1} is not a record`);
        state.#files.set(jsonString(line.slice(2, at - 1)), { line, at });
      } else if (line !== '' || i !== lines.length - 1) return damaged(`line ${i + 1} is not a record`);
    }
    state.#applyJournal();
    return state;
  }

  /** The single JSON document of aiop 0.x before this format: read once, written anew. */
  static #fromJson(path: string, text: string): StateFile {
    const state = new StateFile(path, undefined);
    try {
      const parsed = JSON.parse(text) as { version?: number; targets?: Record<string, TargetRecord>; files?: Record<string, FileStamp> };
      if (parsed.version !== 1 || typeof parsed.targets !== 'object' || typeof parsed.files !== 'object') return new StateFile(path, undefined, 'not a signature file this version of aiop reads');
      for (const [key, value] of Object.entries(parsed.targets)) state.#targets.set(key, { line: '', at: 0, value, sig: value.sig, replaced: true });
      for (const [file, value] of Object.entries(parsed.files)) state.#files.set(file, { line: '', at: 0, value, replaced: true });
    } catch {
      return new StateFile(path, undefined, 'not JSON');
    }
    return state;
  }

  #applyJournal(): void {
    const { lines, whole } = readJournal(this.#path, this.id);
    // After a line cut short, appending would hide later lines too: the next save writes a snapshot.
    this.#journalOk = whole;
    for (const line of lines) {
      for (const [key, record] of Object.entries(line.targets)) {
        if (record === null) this.#targets.delete(key);
        else this.#targets.set(key, { line: '', at: 0, value: record, sig: record.sig, replaced: true });
      }
      for (const [path, stamp] of Object.entries(line.files)) {
        if (stamp === null) this.#files.delete(path);
        else this.#files.set(path, { line: '', at: 0, value: stamp, replaced: true });
      }
    }
  }

  target(key: string): TargetRecord | undefined {
    const entry = this.#targets.get(key);
    if (!entry) return undefined;
    return this.#parse(this.#targets, key, entry);
  }

  signature(key: string): string | undefined {
    return this.#targets.get(key)?.sig;
  }

  /** The keys of every recorded target. */
  targetKeys(): string[] {
    return [...this.#targets.keys()];
  }

  file(path: string): FileStamp | undefined {
    const entry = this.#files.get(path);
    if (!entry) return undefined;
    return this.#parse(this.#files, path, entry);
  }

  /**
   * Writes what a run changed. `partial`: the run looked at some targets only, so every
   * other entry stays; its changes go to the journal while that is small. Otherwise a new
   * snapshot is written atomically: the records of every target (changed or not) and the
   * stamps of the files this run used, and the journal is removed.
   */
  async save(changes: StateChanges, partial: boolean): Promise<SavedState> {
    if (partial && this.id !== undefined && this.#journalOk) {
      const journalBytes = appendJournal(this.#path, this.id, changes, (path, stamp) => this.#files.get(path)?.value === stamp);
      if (journalBytes !== undefined) return { snapshot: this.id, journalBytes };
    }
    const snapshot = randomBytes(8).toString('hex');
    // By name: [name's JSON text, the line as read or the record to write]. Lines are made
    // as they are written, a batch at a time: all at once, with the file's text joined from
    // them, they were 15 MB on the heap at the end of a 10,000-target build.
    type Line<T> = [name: string, line: string | { record: T; key: string }];
    const targets: Array<Line<TargetRecord>> = [];
    const targetLine = (key: string, record: TargetRecord): string => `t\t${record.sig}\t${JSON.stringify(key)}\t${JSON.stringify(record)}`;
    for (const [key, entry] of this.#targets) {
      if (changes.targets.has(key)) continue;
      targets.push([JSON.stringify(key), entry.replaced ? { record: entry.value!, key } : entry.line]);
    }
    for (const [key, record] of changes.targets) if (record !== null) targets.push([JSON.stringify(key), { record, key }]);
    const files: Array<Line<FileStamp>> = [];
    const addFile = (path: string, stamp: FileStamp | undefined, line: string): void => {
      const entry = this.#files.get(path);
      // Unchanged since read: the same line again, not parsed and written anew.
      files.push([JSON.stringify(path), stamp === undefined || (entry && !entry.replaced && entry.value === stamp) ? line : { record: stamp, key: path }]);
    };
    if (partial) {
      for (const [path, entry] of this.#files) {
        const stamp = changes.files.get(path);
        addFile(path, stamp ?? (entry.replaced ? entry.value! : undefined), entry.line);
      }
      for (const [path, stamp] of changes.files) if (!this.#files.has(path)) addFile(path, stamp, '');
    } else {
      for (const [path, stamp] of changes.files) addFile(path, stamp, this.#files.get(path)?.line ?? '');
    }
    const byName = (a: Line<unknown>, b: Line<unknown>): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    targets.sort(byName);
    files.sort(byName);
    function* text(): Generator<string> {
      let batch: string[] = [`${MAGIC}\t${snapshot}`];
      const flush = function* (): Generator<string> {
        yield `${batch.join('\n')}\n`;
        batch = [];
      };
      for (const [, line] of targets) {
        batch.push(typeof line === 'string' ? line : targetLine(line.key, line.record));
        if (batch.length >= 1024) yield* flush();
      }
      for (const [, line] of files) {
        batch.push(typeof line === 'string' ? line : `f\t${JSON.stringify(line.key)}\t${JSON.stringify(line.record)}`);
        if (batch.length >= 1024) yield* flush();
      }
      if (batch.length > 0) yield* flush();
    }
    await writeFileAtomic(this.#path, text());
    rmSync(journalPath(this.#path), { force: true });
    return { snapshot, journalBytes: 0 };
  }
}
