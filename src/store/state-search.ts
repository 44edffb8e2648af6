/**
 * The recorded state for a run that looks at a few targets (the incremental fast path):
 * the state file is searched for the few records the run reads instead of being indexed
 * whole (indexing 20,000 lines takes tens of milliseconds; even reading the 7 MB of such a state costs
 * 3), and the signatures of every other target come from the caller, which keeps them
 * where they are cheap to read (src/store/delta.ts). Changes go to the journal.
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import type { FileStamp, TargetRecord } from '../engine/state.js';
import { appendJournal, journalPath, MAGIC, readJournal, StateFile, type SavedState, type StateChanges, type StateStore } from './state-file.js';

export class StateSearch implements StateStore {
  readonly id: string;
  /** The state as it is on disk now. */
  readonly current: SavedState;
  readonly #path: string;
  readonly #signature: (key: string) => string | undefined;
  /** Entries the journal changed (null: removed), and entries found so far. */
  readonly #targets = new Map<string, TargetRecord | null>();
  readonly #files = new Map<string, FileStamp | null>();
  #damaged: string | undefined;

  get damaged(): string | undefined {
    return this.#damaged;
  }

  /** A record's JSON, or null (counted as never built) when it is not JSON. */
  #parse<T>(json: string | undefined, name: string): T | null {
    if (json === undefined) return null;
    try {
      return JSON.parse(json) as T;
    } catch {
      this.#damaged ??= `the record of ${JSON.stringify(name)} is not JSON`;
      return null;
    }
  }

  private constructor(path: string, id: string, journalBytes: number, signature: (key: string) => string | undefined) {
    this.#path = path;
    this.id = id;
    this.current = { snapshot: id, journalBytes };
    this.#signature = signature;
  }

  /**
   * Opens a state file of the current format whose journal applies whole; undefined
   * otherwise (then the full reading, {@link StateFile}, decides).
   */
  static open(path: string, signature: (key: string) => string | undefined): StateSearch | undefined {
    // The first line names the snapshot; the rest is read only if the journal does not answer.
    const first = Buffer.alloc(64);
    let length: number;
    try {
      const fd = openSync(path, 'r');
      try {
        length = readSync(fd, first, 0, first.length, 0);
        // Every write ends with a newline: a file cut short is left to the full reading, which says so.
        const last = Buffer.alloc(1);
        if (readSync(fd, last, 0, 1, Math.max(0, fstatSync(fd).size - 1)) !== 1 || last[0] !== 10) return undefined;
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
    const headEnd = first.subarray(0, length).indexOf(10);
    if (headEnd < 0) return undefined;
    const head = first.toString('utf8', 0, headEnd).split('\t');
    if (head[0] !== MAGIC || head.length !== 2) return undefined;
    const id = head[1]!;
    const journal = readJournal(path, id);
    if (!journal.whole) return undefined;
    let journalBytes = 0;
    try {
      journalBytes = lstatSync(journalPath(path)).size;
    } catch {
      // No journal.
    }
    const state = new StateSearch(path, id, journalBytes, signature);
    for (const line of journal.lines) {
      for (const [key, record] of Object.entries(line.targets)) state.#targets.set(key, record);
      for (const [file, stamp] of Object.entries(line.files)) state.#files.set(file, stamp);
    }
    return state;
  }

  /**
   * The JSON after `KIND TAB [SIG TAB] NAME TAB` on the line that names `name`, or undefined:
   * a binary search of the snapshot, whose target lines and then file lines are sorted by the
   * name's JSON text (src/store/state-file.ts), reading a few kilobytes around each probe.
   */
  #find(kind: 't' | 'f', name: string): string | undefined {
    const fd = openSync(this.#path, 'r');
    try {
      const file = new LineReader(fd);
      const head = file.lineAt(0);
      // Written by another build since it was opened: the caller holds the lock, so this is a bug.
      if (head?.text !== `${MAGIC}\t${this.id}`) throw new Error(`${this.#path} changed while it was read`);
      const rank = (k: string): number => (k === 't' ? 0 : k === 'f' ? 1 : 2);
      const wanted = JSON.stringify(name);
      /** The line's place against the one wanted (negative: before it), and the JSON after its name. */
      const compare = (text: string): { order: number; json: string } => {
        const fields = text.split('\t');
        const order = rank(fields[0]!) - rank(kind);
        if (order !== 0) return { order, json: '' };
        // The name is the second field of a file line and the third of a target line.
        const own = (kind === 'f' ? fields[1] : fields[2]) ?? '';
        return { order: own < wanted ? -1 : own > wanted ? 1 : 0, json: fields[kind === 'f' ? 2 : 3] ?? '' };
      };
      // Every line starting before `lo` comes before the one wanted; none starting at `hi` or after does.
      let lo = head.end;
      let hi = file.size;
      while (hi - lo > 4096) {
        const mid = lo + Math.floor((hi - lo) / 2);
        const line = file.lineAfter(mid);
        if (!line || line.start >= hi) hi = mid;
        else if (compare(line.text).order < 0) lo = line.end;
        else hi = line.start;
      }
      for (let line = file.lineAt(lo); line; line = file.lineAt(line.end)) {
        const { order, json } = compare(line.text);
        if (order === 0) return json;
        if (order > 0) return undefined;
      }
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  target(key: string): TargetRecord | undefined {
    if (!this.#targets.has(key)) {
      this.#targets.set(key, this.#parse<TargetRecord>(this.#find('t', key), key));
    }
    return this.#targets.get(key) ?? undefined;
  }

  signature(key: string): string | undefined {
    return this.#signature(key);
  }

  file(path: string): FileStamp | undefined {
    if (!this.#files.has(path)) {
      this.#files.set(path, this.#parse<FileStamp>(this.#find('f', path), path));
    }
    return this.#files.get(path) ?? undefined;
  }

  async save(changes: StateChanges, partial: boolean): Promise<SavedState> {
    if (partial) {
      const journalBytes = appendJournal(this.#path, this.id, changes, (path, stamp) => this.#files.get(path) === stamp);
      if (journalBytes !== undefined) return { snapshot: this.id, journalBytes };
    }
    // The journal is full (or the run was not partial): the whole state is read and written anew.
    return StateFile.load(this.#path).save(changes, partial);
  }
}

/** A line of a file: its text (without the newline), where it starts and where the next one starts. */
interface Line {
  text: string;
  start: number;
  end: number;
}

/** Reads lines of a large file at any position, a few kilobytes at a time. */
class LineReader {
  readonly size: number;
  readonly #fd: number;
  #window = Buffer.alloc(0);
  /** Where the window starts in the file. */
  #at = 0;

  constructor(fd: number) {
    this.#fd = fd;
    this.size = fstatSync(fd).size;
  }

  /** The line that starts at `start`, or undefined at the end of the file. */
  lineAt(start: number): Line | undefined {
    if (start >= this.size) return undefined;
    const newline = this.#newline(start);
    const end = newline < 0 ? this.size : newline;
    return { text: this.#window.toString('utf8', start - this.#at, end - this.#at), start, end: newline < 0 ? this.size : newline + 1 };
  }

  /** The first line that starts at `from` or after it (`from` > 0). */
  lineAfter(from: number): Line | undefined {
    const newline = this.#newline(from - 1);
    return newline < 0 ? undefined : this.lineAt(newline + 1);
  }

  /** Where the first newline at `from` or after it is, or -1; the window then holds `from` up to it. */
  #newline(from: number): number {
    let span = 8192;
    if (from < this.#at || from >= this.#at + this.#window.length) this.#read(from, span);
    for (;;) {
      const i = this.#window.indexOf(10, from - this.#at);
      if (i >= 0) return this.#at + i;
      if (this.#at + this.#window.length >= this.size) return -1;
      span *= 4;
      this.#read(from, span);
    }
  }

  #read(from: number, span: number): void {
    const buffer = Buffer.allocUnsafe(Math.min(span, this.size - from));
    this.#window = buffer.subarray(0, readSync(this.#fd, buffer, 0, buffer.length, from));
    this.#at = from;
  }
}
