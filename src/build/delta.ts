/**
 * The incremental fast path's record: the planned graph of the last successful in-place
 * build (targets, their sources, outputs and expanded commands, the variables) and every
 * target's signature, kept beside the no-op record under the same key. When the no-op check
 * fails only because some sources or outputs changed, the build runs from this record: the
 * recipe is not parsed, nothing is expanded again, and only the targets that use a changed
 * file (and what depends on them) are looked at. Every other target was seen unchanged by the
 * check's stats, and its signature is read from here, not from the engine's state.
 *
 * The format is made for that reading: nothing is parsed whole but the list of keys.
 *
 *     aiop-delta 3
 *     GEN                      the engine state these signatures belong to (fixed width)
 *     {header}                 JSON, with the byte length of each section below
 *     keys                     JSON array, in graph order
 *     kinds                    one character per target: 0 file, 1 virtual, 2 grouping
 *     signatures               64 bytes per target, space-padded, rewritten in place
 *     offsets                  JSON array: where each target's line starts in `targets`
 *     targets                  per target: deps TAB dependents TAB details (JSON), a line each
 *     files                    per file a target reads or makes: NL path (JSON) TAB targets
 *
 * A build from this record appends its changes to the state's journal, then rewrites the
 * signatures it changed, then GEN: until GEN names the state as it is, the record is not used.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import type { Graph, Node } from '../engine/graph.js';
import type { Planned } from '../engine/run.js';
import { jsonString, type SavedState } from '../engine/state-file.js';
import { deltaPath } from './noop.js';

const MAGIC = 'aiop-delta 3\n';
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
  sections: { keys: number; kinds: number; signatures: number; offsets: number; targets: number; files: number };
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
  /** The expanded commands of targets returned by {@link affected}. */
  plan(nodes: Iterable<Node>): Map<Node, Planned>;
  /** Records new signatures of some targets, then the engine state they now belong to. */
  commit(signatures: ReadonlyMap<string, string>, saved: SavedState): void;
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
  const offsets: number[] = [];
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
    const line = `${deps}\t${dependents}\t${JSON.stringify(details)}\n`;
    offsets.push(offset);
    offset += Buffer.byteLength(line);
    lines.push(line);
    for (const file of node.sourceFiles) use(file.path, i);
    if (node.outPath !== undefined) use(node.outPath, i);
  }
  offsets.push(offset);
  const fileLines = ['\n'];
  for (const [path, list] of users) fileLines.push(`${JSON.stringify(path)}\t${list.join(',')}\n`);
  const parts = {
    keys: Buffer.from(JSON.stringify(graph.order.map((node) => node.key))),
    kinds: Buffer.from(kinds, 'latin1'),
    signatures,
    offsets: Buffer.from(JSON.stringify(offsets)),
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
      keys: parts.keys.length,
      kinds: parts.kinds.length,
      signatures: parts.signatures.length,
      offsets: parts.offsets.length,
      targets: parts.targets.length,
      files: parts.files.length,
    },
  };
  const head = Buffer.from(`${MAGIC}${gen(input.saved)}${JSON.stringify(header)}\n`);
  await writeFileAtomic(deltaPath(root, key), Buffer.concat([head, parts.keys, parts.kinds, parts.signatures, parts.offsets, parts.targets, parts.files]));
  return header.id;
}

function indexes(csv: string): number[] {
  return csv === '' ? [] : csv.split(',').map(Number);
}

/** Reads the delta record of a key, if it is there, whole, and the one with this id. Never throws. */
export function readDelta(root: string, key: string, id: string): DeltaGraph | undefined {
  const file = deltaPath(root, key);
  let buffer: Buffer;
  let header: DeltaHeader;
  let keys: string[];
  let offsets: number[];
  const at = { keys: 0, kinds: 0, signatures: 0, offsets: 0, targets: 0, files: 0, end: 0 };
  try {
    buffer = readFileSync(file);
    if (buffer.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
    const headerStart = MAGIC.length + GEN_BYTES;
    const headerEnd = buffer.indexOf(10, headerStart);
    header = JSON.parse(buffer.toString('utf8', headerStart, headerEnd)) as DeltaHeader;
    if (header.id !== id) return undefined;
    let next = headerEnd + 1;
    for (const name of ['keys', 'kinds', 'signatures', 'offsets', 'targets', 'files'] as const) {
      at[name] = next;
      next += header.sections[name];
    }
    at.end = next;
    if (at.end !== buffer.length || header.sections.signatures !== header.count * SIG_BYTES) return undefined;
    keys = JSON.parse(buffer.toString('utf8', at.keys, at.kinds)) as string[];
    offsets = JSON.parse(buffer.toString('latin1', at.offsets, at.targets)) as number[];
    if (keys.length !== header.count || offsets.length !== header.count + 1) return undefined;
  } catch {
    return undefined;
  }
  const recordedGen = buffer.toString('latin1', MAGIC.length, MAGIC.length + GEN_BYTES);
  const kinds = buffer.toString('latin1', at.kinds, at.signatures);
  const order: Node[] = keys.map((key, i) => {
    const virtual = kinds[i] !== FILE;
    const commands = kinds[i] === VIRTUAL ? ['(recorded)'] : NONE;
    return { key, def: { name: key, virtual, sources: NONE, depends: NONE, commands }, virtual, deps: NONE, sourceFiles: NONE, sourcePaths: NONE, dependents: NONE };
  });
  const position = new Map(order.map((node, i) => [node, i]));
  let byKey: Map<string, number> | undefined;
  let signatures: string | undefined;
  const details = new Map<Node, Details>();
  /** Reads a target's line whole: its lists, output and commands. */
  const read = (i: number): Node => {
    const node = order[i]!;
    if (details.has(node)) return node;
    const line = buffer.toString('utf8', at.targets + offsets[i]!, at.targets + offsets[i + 1]! - 1);
    const first = line.indexOf('\t');
    const second = line.indexOf('\t', first + 1);
    const detail = JSON.parse(line.slice(second + 1)) as Details;
    const [out, files, sourcePaths] = detail;
    details.set(node, detail);
    node.deps = indexes(line.slice(0, first)).map((d) => order[d]!);
    node.dependents = indexes(line.slice(first + 1, second)).map((d) => order[d]!);
    node.sourceFiles = files.map(([name, path]) => ({ name, path }));
    node.sourcePaths = sourcePaths === 0 ? files.map(([, path]) => path) : sourcePaths;
    if (out !== 0) node.outPath = out;
    return node;
  };
  /** The targets that read or make a file: a search of the section for a few, a map for many. */
  let users: Map<string, string> | undefined;
  const filesSection = buffer.subarray(at.files, at.end);
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
  // The engine walks `order` only; nothing here looks targets up by name.
  const graph: Graph = { nodes: new Map(), order, goals: [], missing: [] };
  return {
    header,
    graph,
    belongsTo: (saved) => recordedGen === gen(saved),
    signature(key) {
      byKey ??= new Map(keys.map((k, i) => [k, i]));
      // One string for all of them: the engine asks for every target's signature once.
      signatures ??= buffer.toString('latin1', at.signatures, at.offsets);
      const i = byKey.get(key);
      if (i === undefined) return undefined;
      const sig = signatures.slice(i * SIG_BYTES, (i + 1) * SIG_BYTES);
      return sig.charCodeAt(SIG_BYTES - 1) === 32 ? sig.trimEnd() : sig;
    },
    affected(changed) {
      const paths = [...changed];
      const affected = new Set<Node>();
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
        const node = read(i);
        if (affected.has(node)) continue;
        affected.add(node);
        for (const dependent of node.dependents) stack.push(position.get(dependent)!);
      }
      return { affected, others };
    },
    plan(nodes) {
      const planned = new Map<Node, Planned>();
      for (const node of nodes) {
        const [, , , commands, cmdSig] = details.get(read(position.get(node)!))!;
        planned.set(node, { commands, cmdSig });
      }
      return planned;
    },
    commit(signatures, saved) {
      byKey ??= new Map(keys.map((k, i) => [k, i]));
      const writes = [...signatures].map(([key, sig]) => ({ i: byKey!.get(key), sig }));
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
  };
}
