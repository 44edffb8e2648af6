/**
 * The recorded state for a run that looks at a few targets (the incremental fast path):
 * the state file is searched for the few records the run reads instead of being indexed
 * whole (a search of the bytes is a fraction of a millisecond; indexing 20,000 lines is
 * tens), and the signatures of every other target come from the caller, which keeps them
 * where they are cheap to read (src/build/delta.ts). Changes go to the journal.
 */
import { closeSync, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { FileStamp, TargetRecord } from './state.js';
import { appendJournal, journalPath, MAGIC, readJournal, StateFile, type SavedState, type StateChanges, type StateStore } from './state-file.js';

export class StateSearch implements StateStore {
  readonly id: string;
  /** The state as it is on disk now. */
  readonly current: SavedState;
  readonly #path: string;
  /** The snapshot's bytes, read on the first record the journal does not hold. */
  #bytes: Buffer | undefined;
  readonly #signature: (key: string) => string | undefined;
  /** Entries the journal changed (null: removed), and entries found so far. */
  readonly #targets = new Map<string, TargetRecord | null>();
  readonly #files = new Map<string, FileStamp | null>();

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

  /** The JSON after `KIND TAB [SIG TAB] NAME TAB` on the line that names `name`, or undefined. */
  #find(kind: 't' | 'f', name: string): string | undefined {
    const needle = Buffer.from(`\t${JSON.stringify(name)}\t`);
    const bytes = (this.#bytes ??= readFileSync(this.#path));
    // Written by another build since it was opened: the caller holds the lock, so this is a bug.
    if (!bytes.subarray(0, MAGIC.length + 1 + this.id.length).equals(Buffer.from(`${MAGIC}\t${this.id}`))) throw new Error(`${this.#path} changed while it was read`);
    for (let found = bytes.indexOf(needle); found >= 0; found = bytes.indexOf(needle, found + 1)) {
      const lineStart = bytes.lastIndexOf(10, found) + 1;
      if (bytes[lineStart] !== kind.charCodeAt(0) || bytes[lineStart + 1] !== 9) continue;
      // The name is the second field of a file line and the third of a target line.
      const nameTab = kind === 'f' ? lineStart + 1 : bytes.indexOf(9, lineStart + 2);
      if (nameTab !== found) continue;
      const start = found + needle.length;
      const end = bytes.indexOf(10, start);
      return bytes.toString('utf8', start, end < 0 ? bytes.length : end);
    }
    return undefined;
  }

  target(key: string): TargetRecord | undefined {
    if (!this.#targets.has(key)) {
      const json = this.#find('t', key);
      this.#targets.set(key, json === undefined ? null : (JSON.parse(json) as TargetRecord));
    }
    return this.#targets.get(key) ?? undefined;
  }

  signature(key: string): string | undefined {
    return this.#signature(key);
  }

  file(path: string): FileStamp | undefined {
    if (!this.#files.has(path)) {
      const json = this.#find('f', path);
      this.#files.set(path, json === undefined ? null : (JSON.parse(json) as FileStamp));
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
