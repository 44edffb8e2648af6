/**
 * The incremental fast path's record: the planned graph of the last successful in-place
 * build (targets, their sources, outputs and expanded commands, the variables) and every
 * target's signature, kept beside the no-op record under the same key. When the no-op check
 * fails only because some sources or outputs changed, the build runs from this record: the
 * recipe is not parsed, nothing is expanded again, and only the targets that use a changed
 * file (and what depends on them) are looked at. Every other target was seen unchanged by the
 * check's stats, and its signature is read from here, not from the engine's state.
 *
 * The format is made for that reading: nothing is parsed whole, and a target is read (made
 * an object) only when the build looks at it, so one change in a recipe of 10,000 targets
 * reads a few lines, not 10,000.
 *
 *     aiop-delta 4
 *     GEN                      the engine state these signatures belong to (fixed width)
 *     {header}                 JSON, with the byte length of each section below
 *     kinds                    one character per target: 0 file, 1 virtual, 2 grouping
 *     signatures               64 bytes per target, space-padded, rewritten in place
 *     offsets                  uint32 LE per target and one more: where its line starts in `targets`
 *     targets                  per target: key (JSON) TAB deps TAB dependents TAB details (JSON), a line each
 *     files                    per file a target reads or makes: NL path (JSON) TAB targets
 *
 * A build from this record appends its changes to the state's journal, then rewrites the
 * signatures it changed, then GEN: until GEN names the state as it is, the record is not used.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import type { Graph, Node, TargetDef } from '../engine/graph.js';
import type { Planned } from '../engine/run.js';
import { jsonString, type SavedState } from './state-file.js';
import { deltaPath } from './noop.js';
import { knownSecrets } from '../report/known-secrets.js';

const MAGIC = 'aiop-delta 4\n';
/** Snapshot id (16 hex) or 16 dashes, a space, the journal's length in 12 digits, a newline. */
const GEN_BYTES = 30;
const SIG_BYTES = 64;

/** What a delta record holds besides the graph. */
export interface DeltaHeader {
  /** Names this record; the no-op record that goes with it carries the same id. */
  id: string;
  /** The variable layers of the build, weakest first. */
  scope: Array<Record<string, string>>;
  playbookRoot: string;
  /** The package folder, which is where the recorded build ran (in place). */
  pkgDir: string;
  /** The engine's signature state. */
  statePath: string;
  count: number;
  /** Byte lengths of the sections, in order. */
  sections: { kinds: number; signatures: number; offsets: number; targets: number; files: number };
}

/** A target's details: output, source files (name, path), `$source` when it differs, commands, their signature text. */
type Details = [out: string | 0, files: Array<[string, string]>, sourcePaths: string[] | 0, commands: string[], cmdSig: string];

/** Kinds of target: a file target, a virtual target with commands, a pure grouping. */
const FILE = '0';
const VIRTUAL = '1';
const GROUPING = '2';

/** Shared by every target not looked at: the engine never reads their lists. */
const NONE: never[] = [];

function gen(saved: SavedState): string {
  return `${saved.snapshot.padEnd(16, '-').slice(0, 16)} ${String(saved.journalBytes).padStart(12, '0')}\n`;
}

/** A graph made again from a delta record; only the targets asked for are read whole. */
export interface DeltaGraph {
  header: DeltaHeader;
  graph: Graph;
  /** Whether the recorded signatures belong to this engine state. */
  belongsTo(saved: SavedState): boolean;
  /** The recorded signature of a target. */
  signature(key: string): string | undefined;
  /**
   * The targets to look at when these files changed: those that read or make one, and
   * everything that depends on them. Paths no target reads or makes are given back in
   * `others` (the recipe, a folder, something new in the package): only the caller can
   * tell whether they matter.
   */
  affected(changed: Iterable<string>): { affected: Set<Node>; others: string[] };
  /** How many targets outside `affected` a build reports up to date (pure groupings never are). */
  upToDate(affected: ReadonlySet<Node>): number;
  /** The expanded commands of targets returned by {@link affected}. */
  plan(nodes: Iterable<Node>): Map<Node, Planned>;
  /** Records new signatures of some targets, then the engine state they now belong to. */
  commit(signatures: ReadonlyMap<string, string>, saved: SavedState): void;
  /** Closes the record's file. */
  close(): void;
}

/**
 * Records a planned graph whose package folder is `pkgDir` (a build that ran in place), with
 * the signatures the engine saved in `saved`. Returns the record's id, to be stored in the
 * no-op record, or undefined when this graph cannot be recorded.
 */
export async function writeDelta(
  root: string,
  key: string,
  input: {
    graph: Graph;
    planned: Map<Node, Planned>;
    signatures: ReadonlyMap<string, string>;
    saved: SavedState;
    scope: ReadonlyArray<Readonly<Record<string, string>>>;
    pkgDir: string;
    statePath: string;
  },
): Promise<string | undefined> {
  // The record holds every variable's value: none is written while a credential is known.
  if (knownSecrets().length > 0) return undefined;
  const { graph, planned } = input;
  const count = graph.order.length;
  const index = new Map(graph.order.map((node, i) => [node, i]));
  const users = new Map<string, number[]>();
  const use = (path: string, i: number): void => {
    const list = users.get(path);
    if (!list) users.set(path, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  };
  const signatures = Buffer.alloc(count * SIG_BYTES, ' ');
  let kinds = '';
  const lines: string[] = [];
  const offsets = Buffer.alloc((count + 1) * 4);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const node = graph.order[i]!;
    const plan = planned.get(node)!;
    const sig = input.signatures.get(node.key);
    if (sig === undefined || sig.length > SIG_BYTES || !/^[\x21-\x7e]+$/.test(sig)) return undefined;
    signatures.write(sig, i * SIG_BYTES, 'latin1');
    kinds += !node.virtual ? FILE : plan.commands.length > 0 ? VIRTUAL : GROUPING;
    const files = node.sourceFiles.map((f): [string, string] => [f.name, f.path]);
    const sameAsFiles = node.sourcePaths.length === files.length && node.sourcePaths.every((p, j) => p === files[j]![1]);
    const details: Details = [node.outPath ?? 0, files, sameAsFiles ? 0 : node.sourcePaths, plan.commands, plan.cmdSig];
    const deps = node.deps.map((d) => index.get(d)!).join(',');
    const dependents = node.dependents.filter((d) => index.has(d)).map((d) => index.get(d)!).join(',');
    const line = `${JSON.stringify(node.key)}\t${deps}\t${dependents}\t${JSON.stringify(details)}\n`;
    offsets.writeUInt32LE(offset, i * 4);
    offset += Buffer.byteLength(line);
    // Offsets are 32 bits: a graph whose lines pass 4 GiB is not recorded.
    if (offset > 0xffffffff) return undefined;
    lines.push(line);
    for (const file of node.sourceFiles) use(file.path, i);
    if (node.outPath !== undefined) use(node.outPath, i);
  }
  offsets.writeUInt32LE(offset, count * 4);
  const fileLines = ['\n'];
  for (const [path, list] of users) fileLines.push(`${JSON.stringify(path)}\t${list.join(',')}\n`);
  const parts = {
    kinds: Buffer.from(kinds, 'latin1'),
    signatures,
    offsets,
    targets: Buffer.from(lines.join('')),
    files: Buffer.from(fileLines.join('')),
  };
  const header: DeltaHeader = {
    id: randomBytes(8).toString('hex'),
    scope: input.scope.map((layer) => ({ ...layer })),
    playbookRoot: root,
    pkgDir: input.pkgDir,
    statePath: input.statePath,
    count,
    sections: {
      kinds: parts.kinds.length,
      signatures: parts.signatures.length,
      offsets: parts.offsets.length,
      targets: parts.targets.length,
      files: parts.files.length,
    },
  };
  const head = Buffer.from(`${MAGIC}${gen(input.saved)}${JSON.stringify(header)}\n`);
  await writeFileAtomic(deltaPath(root, key), Buffer.concat([head, parts.kinds, parts.signatures, parts.offsets, parts.targets, parts.files]));
  return header.id;
}

function indexes(csv: string): number[] {
  return csv === '' ? [] : csv.split(',').map(Number);
}

/** The lines of a record's `targets` section, read one at a time. */
interface Lines {
  count: number;
  /** Field `n` of target `i`'s line: 0 key, 1 deps, 2 dependents, 3 details. */
  field(i: number, n: 0 | 1 | 2 | 3): string;
  /** The target object of an index: made on first use, the same object afterwards. */
  node(i: number): RecordedNode;
}

/**
 * A target as recorded. Its lists, output and commands are read from its line when the
 * engine first asks for them; most targets of an incremental build are never asked.
 */
class RecordedNode implements Node {
  readonly def: TargetDef;
  readonly virtual: boolean;
  #deps: Node[] | undefined;
  #dependents: Node[] | undefined;
  #details: Details | undefined;
  #sourceFiles: Array<{ name: string; path: string }> | undefined;

  constructor(
    readonly index: number,
    readonly key: string,
    kind: string,
    private readonly lines: Lines,
  ) {
    this.virtual = kind !== FILE;
    this.def = { name: key, virtual: this.virtual, sources: NONE, depends: NONE, commands: kind === VIRTUAL ? ['(recorded)'] : NONE };
  }

  get deps(): Node[] {
    return (this.#deps ??= indexes(this.lines.field(this.index, 1)).map((d) => this.lines.node(d)));
  }

  get dependents(): Node[] {
    return (this.#dependents ??= this.dependentIndexes().map((d) => this.lines.node(d)));
  }

  /** The dependents' indexes, without making their objects. */
  dependentIndexes(): number[] {
    return indexes(this.lines.field(this.index, 2));
  }

  get details(): Details {
    return (this.#details ??= JSON.parse(this.lines.field(this.index, 3)) as Details);
  }

  get outPath(): string | undefined {
    const out = this.details[0];
    return out === 0 ? undefined : out;
  }

  get sourceFiles(): Array<{ name: string; path: string }> {
    return (this.#sourceFiles ??= this.details[1].map(([name, path]) => ({ name, path })));
  }

  get sourcePaths(): string[] {
    const paths = this.details[2];
    return paths === 0 ? this.sourceFiles.map((file) => file.path) : paths;
  }
}

/**
 * The bytes of an open record, read where they are asked for: a change of one source in a
 * recipe of 10,000 targets needs a few lines and signatures, not the megabytes of the
 * whole record. A range read often enough is read whole once.
 */
class RecordBytes {
  readonly #fd: number;
  readonly #whole = new Map<string, Buffer>();
  readonly #reads = new Map<string, number>();

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Bytes `start` to `end` of the file; throws if the file is shorter. */
  read(start: number, end: number): Buffer {
    const buffer = Buffer.allocUnsafe(end - start);
    for (let at = 0; at < buffer.length; ) {
      const n = readSync(this.#fd, buffer, at, buffer.length - at, start + at);
      if (n === 0) throw new Error('the delta record is shorter than its header says');
      at += n;
    }
    return buffer;
  }

  /**
   * Bytes `start` to `end` of section `name` (which spans `from` to `to` in the file): a
   * read of their own for the first few, then the whole section, read once.
   */
  slice(name: string, from: number, to: number, start: number, end: number): Buffer {
    let whole = this.#whole.get(name);
    if (!whole) {
      const reads = (this.#reads.get(name) ?? 0) + 1;
      this.#reads.set(name, reads);
      if (reads <= WHOLE_AFTER) return this.read(start, end);
      whole = this.read(from, to);
      this.#whole.set(name, whole);
    }
    return whole.subarray(start - from, end - from);
  }

  /** The file's size now. */
  size(): number {
    return fstatSync(this.#fd).size;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Reads of one section after which it is read whole. */
const WHOLE_AFTER = 64;
/** What is read first: the magic, GEN and, for most records, the whole header. */
const HEAD_BYTES = 64 * 1024;

/**
 * Opens the delta record of a key, if it is there and the one with this id, reading only its
 * header, kinds, offsets and files; a target's line or signature is read when asked for.
 * Never throws; the graph holds the file open until {@link DeltaGraph.close}.
 */
export function readDelta(root: string, key: string, id: string): DeltaGraph | undefined {
  const file = deltaPath(root, key);
  let bytes: RecordBytes;
  try {
    bytes = new RecordBytes(openSync(file, 'r'));
  } catch {
    return undefined;
  }
  try {
    const delta = openDelta(file, bytes, id);
    if (!delta) bytes.close();
    return delta;
  } catch {
    bytes.close();
    return undefined;
  }
}

function openDelta(file: string, bytes: RecordBytes, id: string): DeltaGraph | undefined {
  const size = bytes.size();
  const head = bytes.read(0, Math.min(size, HEAD_BYTES));
  if (head.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const headerStart = MAGIC.length + GEN_BYTES;
  let headerEnd = head.indexOf(10, headerStart);
  const headBytes = headerEnd >= 0 ? head : bytes.read(0, size);
  if (headerEnd < 0) headerEnd = headBytes.indexOf(10, headerStart);
  if (headerEnd < 0) return undefined;
  const header = JSON.parse(headBytes.toString('utf8', headerStart, headerEnd)) as DeltaHeader;
  if (header.id !== id) return undefined;
  const at = { kinds: 0, signatures: 0, offsets: 0, targets: 0, files: 0, end: 0 };
  let next = headerEnd + 1;
  for (const name of ['kinds', 'signatures', 'offsets', 'targets', 'files'] as const) {
    at[name] = next;
    next += header.sections[name];
  }
  at.end = next;
  const { count, sections } = header;
  if (at.end !== size || sections.kinds !== count || sections.signatures !== count * SIG_BYTES || sections.offsets !== (count + 1) * 4) return undefined;
  // Kinds, offsets and files are small and read whole; signatures and target lines as asked for.
  const kinds = bytes.read(at.kinds, at.signatures).toString('latin1');
  const offsets = bytes.read(at.offsets, at.targets);
  if (offsets.readUInt32LE(count * 4) !== sections.targets) return undefined;
  const filesSection = bytes.read(at.files, at.end);
  const recordedGen = headBytes.toString('latin1', MAGIC.length, MAGIC.length + GEN_BYTES);
  const made: Array<RecordedNode | undefined> = new Array<RecordedNode | undefined>(count);
  /** Indexes of the keys seen so far; every key once something asks for one not seen. */
  const indexOfKey = new Map<string, number>();
  let allKeys = false;
  const lineStart = (i: number): number => at.targets + offsets.readUInt32LE(i * 4);
  /** The lines read so far: a target's fields are asked for one after another. */
  const lineCache = new Map<number, Buffer>();
  const line = (i: number): Buffer => {
    let bytesOfLine = lineCache.get(i);
    if (!bytesOfLine) {
      // Without its newline.
      bytesOfLine = bytes.slice('targets', at.targets, at.files, lineStart(i), lineStart(i + 1) - 1);
      lineCache.set(i, bytesOfLine);
    }
    return bytesOfLine;
  };
  const lines: Lines = {
    count,
    field(i, n) {
      const text = line(i);
      let start = 0;
      for (let skip = 0; skip < n; skip++) start = text.indexOf(9, start) + 1;
      const end = n === 3 ? text.length : text.indexOf(9, start);
      return text.toString('utf8', start, end);
    },
    node(i) {
      let node = made[i];
      if (!node) {
        const key = jsonString(lines.field(i, 0));
        made[i] = node = new RecordedNode(i, key, kinds[i]!, lines);
        indexOfKey.set(key, i);
      }
      return node;
    },
  };
  const indexOf = (key: string): number | undefined => {
    if (!indexOfKey.has(key) && !allKeys) {
      allKeys = true;
      for (let i = 0; i < count; i++) if (!made[i]) indexOfKey.set(jsonString(lines.field(i, 0)), i);
      lineCache.clear();
    }
    return indexOfKey.get(key);
  };
  /** The targets that read or make a file: a search of the section for a few, a map for many. */
  let users: Map<string, string> | undefined;
  const usersOf = (path: string, many: boolean): string | undefined => {
    if (!users && many) {
      users = new Map();
      for (const line of filesSection.toString('utf8').split('\n')) {
        const tab = line.lastIndexOf('\t');
        if (tab > 0) users.set(jsonString(line.slice(0, tab)), line.slice(tab + 1));
      }
    }
    if (users) return users.get(path);
    const found = filesSection.indexOf(`\n${JSON.stringify(path)}\t`);
    if (found < 0) return undefined;
    const start = filesSection.indexOf(9, found + 1) + 1;
    return filesSection.toString('latin1', start, filesSection.indexOf(10, start));
  };
  let order: Node[] | undefined;
  // The engine's partial run never walks `order`; anything else that does gets every target.
  const graph: Graph = {
    nodes: new Map(),
    get order(): Node[] {
      return (order ??= Array.from({ length: count }, (_, i) => lines.node(i)));
    },
    goals: [],
    missing: [],
  };
  return {
    header,
    graph,
    belongsTo: (saved) => recordedGen === gen(saved),
    signature(key) {
      const i = indexOf(key);
      if (i === undefined) return undefined;
      const start = at.signatures + i * SIG_BYTES;
      const sig = bytes.slice('signatures', at.signatures, at.offsets, start, start + SIG_BYTES).toString('latin1');
      return sig.charCodeAt(SIG_BYTES - 1) === 32 ? sig.trimEnd() : sig;
    },
    affected(changed) {
      const paths = [...changed];
      const seen = new Set<number>();
      const others: string[] = [];
      // A stack, not recursion: a chain of 10,000 targets is a valid recipe.
      const stack: number[] = [];
      for (const path of paths) {
        const list = usersOf(path, paths.length > 16);
        if (list === undefined) others.push(path);
        else stack.push(...indexes(list));
      }
      while (stack.length > 0) {
        const i = stack.pop()!;
        if (seen.has(i)) continue;
        seen.add(i);
        stack.push(...lines.node(i).dependentIndexes());
      }
      // In graph order, as the engine starts them.
      return { affected: new Set([...seen].sort((a, b) => a - b).map((i) => lines.node(i))), others };
    },
    upToDate(affected) {
      let reported = 0;
      for (let i = 0; i < count; i++) if (kinds[i] !== GROUPING) reported++;
      for (const node of affected) if (kinds[(node as RecordedNode).index] !== GROUPING) reported--;
      return reported;
    },
    plan(nodes) {
      const planned = new Map<Node, Planned>();
      for (const node of nodes) {
        const [, , , commands, cmdSig] = (node as RecordedNode).details;
        planned.set(node, { commands, cmdSig });
      }
      return planned;
    },
    commit(signatures, saved) {
      const writes = [...signatures].map(([key, sig]) => ({ i: indexOf(key), sig }));
      // A signature this record cannot hold leaves it naming no state: it is not used again.
      const fits = writes.every(({ i, sig }) => i !== undefined && sig.length <= SIG_BYTES && /^[\x21-\x7e]+$/.test(sig));
      const fd = openSync(file, 'r+');
      try {
        if (fits) {
          for (const { i, sig } of writes) writeSync(fd, Buffer.from(sig.padEnd(SIG_BYTES, ' '), 'latin1'), 0, SIG_BYTES, at.signatures + i! * SIG_BYTES);
        }
        // Last: until now the record named the state before this build, so it was not used.
        writeSync(fd, Buffer.from(fits ? gen(saved) : `${'x'.repeat(GEN_BYTES - 1)}\n`, 'latin1'), 0, GEN_BYTES, MAGIC.length);
      } finally {
        closeSync(fd);
      }
    },
    close: () => bytes.close(),
  };
}
