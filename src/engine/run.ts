/**
 * The recipe engine: makes the goals of a graph, running independent targets in parallel
 * up to a job limit, and skipping every target whose output, sources, expanded commands
 * and dependencies all match the signatures recorded when it was last made.
 */
import { constants, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import pLimit from 'p-limit';
import { AiopError } from '../core/errors.js';
import { log, type Emit, type TargetReason } from '../core/events.js';
import { runBuiltin } from './builtins.js';
import type { Graph, Node } from './graph.js';
import { CommandSlots, runShell, type ShellResult } from './shell.js';
import { OutputCapture } from './capture.js';
import { fileSignature, seenMatches, sha256, sourceSignature, stampFile, type FileStamp, type TargetRecord } from './state.js';
import { isRacy, sameStamp, statStamp, type Stamp } from '../store/stamp.js';
import { StateFile, type SavedState, type StateStore } from '../store/state-file.js';
import { expand, type Scope } from './variables.js';
import { makeDirs } from '../core/make-dirs.js';

/** The A-A-P style options of a run. */
export interface RunFlags {
  /** Rebuild everything (`-F`, `--force`). */
  force?: boolean;
  /** Only content changes count, not command changes (`-C`); signatures are still updated. */
  contentsOnly?: boolean;
  /** Say what would run, run nothing, record nothing (`-n`). */
  dryRun?: boolean;
  /** Record signatures as if built, run nothing (`-t`). */
  touch?: boolean;
  /** Go on after an error with targets that do not depend on the failed one (`-k`). */
  keepGoing?: boolean;
  /** Files considered changed, absolute paths (`--changed`). */
  changed?: string[];
  /** Debug output: why targets run, variable expansion, signatures (`-d`). */
  debug?: ReadonlySet<'explain' | 'expand' | 'sign'>;
}

export interface EngineOptions extends RunFlags {
  graph: Graph;
  /** Variables without the per-target built-ins ($target, $source). */
  scope: Scope;
  playbookRoot: string;
  pkgDir: string;
  statePath: string;
  jobs: number;
  emit: Emit;
  pkg?: string;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  fetch?: (url: string, dest: string) => Promise<void>;
  /** Commands already expanded by {@link planCommands} (so a caller that checked them first does not expand twice). */
  planned?: Map<Node, Planned>;
  /** Stats taken earlier in this run (absolute path to stat), so unchanged files are not stat-ed twice. */
  seen?: { get(path: string): Stamp | undefined };
  /** The recorded state, when the caller has read it already (or reads it its own way). */
  state?: StateStore;
  /**
   * Check only some targets: every other one is known to be up to date (its sources and
   * output were seen unchanged since the recorded state) and dependents see its recorded
   * signature. The caller guarantees each of them has a record in the state.
   */
  only?: PartialRun;
}

/** The targets a partial run looks at, and what it reports of the others without looking. */
export interface PartialRun {
  /** In graph order. The graph's `order` is not walked: the others are never read. */
  targets: ReadonlySet<Node>;
  /** How many targets the graph has. */
  total: number;
  /** How many of the others are reported up to date (a pure grouping never is). */
  upToDate: number;
}

export interface EngineResult {
  ran: string[];
  /** Targets found up to date (with `only`: those it looked at; the others are counted in `targets-planned`). */
  upToDate: string[];
  failed: Array<{ target: string; message: string }>;
  /** Not made because a dependency failed, or because the run stopped. */
  notBuilt: string[];
  /** The signature each target this run looked at left for its dependents, by key (when none failed). */
  signatures?: Map<string, string>;
  /** The state as saved (not in a dry run). */
  saved?: SavedState;
}

interface Outcome {
  ok: boolean;
  /** What dependents see (output hash, or inputs hash of a virtual target). */
  sig: string;
  /** Made changed by `--changed`, so dependents run too. */
  forcedChange: boolean;
}

export interface Planned {
  commands: string[];
  /** Signature text of the commands: the package folder replaced, comments removed, blanks folded. */
  cmdSig: string;
}

/** Says that the signature file could not be read whole, and that what it recorded is made again. */
function warnDamaged(emit: Emit, statePath: string, root: string, why: string, pkg: string | undefined): void {
  const shown = statePath.startsWith(`${root}/`) ? statePath.slice(root.length + 1) : statePath;
  log(emit, 'WARNING', 'state', `${shown} is damaged (${why}); the targets it could not tell about are made again, and it is written anew`, pkg);
}

/** Makes the graph's goals. Expected failures come back in the result, not as exceptions. */
export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  const { graph, emit, pkg } = options;
  const at = pkg === undefined ? {} : { pkg };
  const debug = options.debug ?? new Set();
  const state = options.state ?? StateFile.load(options.statePath);
  const only = options.only?.targets;
  // What this run records: new target records, and the stamps of the files it used (a full
  // run keeps only those; a partial one keeps every other stamp too). Every other target
  // keeps its record, except the failed ones, which are forgotten when the state is saved.
  const next = { targets: {} as Record<string, TargetRecord>, files: {} as Record<string, FileStamp> };
  const planned = options.planned ?? planCommands(options);
  const result: EngineResult = { ran: [], upToDate: [], failed: [], notBuilt: [] };
  const outcomes = new Map<Node, Outcome>();
  const changed = new Set(options.changed ?? []);
  // Twice the jobs: a target may wait with its first command queued in a launcher behind
  // another's last one; CommandSlots keeps running commands (and targets) to `jobs`. Targets
  // still claim job slots in the order they became ready (see makeFolder).
  const limit = pLimit(Math.max(1, options.jobs) * 2);
  // Folders this run made or found: each costs one mkdir, not one per target (a round trip
  // through the thread pool, which kept a job slot idle while the CPUs were busy).
  const folders = new Map<string, Promise<unknown>>();
  /** Folders whose mkdir is under way. */
  const making = new Set<string>();
  const makeFolder = (dir: string): Promise<unknown> => {
    let made = folders.get(dir);
    // Targets waiting for the same folder wait for the same mkdir, so they go on in the order
    // they asked (a second mkdir could finish first and let a later target take a job slot first).
    if (made && making.has(dir)) return made;
    // One stat tells, without the thread pool, whether it is there (a command may also have
    // removed a folder made earlier).
    if (existsSync(dir)) {
      if (!made) folders.set(dir, (made = Promise.resolve()));
      return made;
    }
    making.add(dir);
    made = makeDirs(dir).finally(() => making.delete(dir));
    folders.set(dir, made);
    made.catch(() => folders.delete(dir));
    return made;
  };
  let stopping = false;

  // Targets outside `only` are up to date as recorded: counted by the caller, their outcome
  // read only when a dependent asks for it, and not listed in the result one by one (on the
  // incremental path that is nearly every target).
  const outcomeOf = (node: Node): Outcome => outcomes.get(node) ?? { ok: true, sig: state.signature(node.key)!, forcedChange: false };
  emit({ type: 'targets-planned', ...at, ...(options.only ? { total: options.only.total, upToDate: options.only.upToDate } : { total: graph.order.length }) });
  /** Targets of a partial run with a dependency that failed or was not built. */
  const blocked = new Set<Node>();

  const stampSource = async (path: string): Promise<string> => {
    const stamp = await stampFile(path, next.files[path] ?? state.file(path), options.seen?.get(path));
    // A dry run makes nothing, so a source that an earlier step would have made may be missing.
    if (!stamp && options.dryRun) return 'missing';
    if (!stamp) throw new AiopError('command', `source ${path} disappeared during the build`);
    next.files[path] = stamp;
    return sourceSignature(stamp);
  };

  const knownHash = (path: string): string | undefined => {
    const seen = options.seen?.get(path);
    if (seen === undefined) return undefined;
    const known = next.files[path] ?? state.file(path);
    if (!seenMatches(known, seen)) return undefined;
    next.files[path] = known;
    return sourceSignature(known);
  };

  const make = async (node: Node): Promise<Outcome> => {
    if (stopping || options.signal?.aborted) return notBuilt(node);
    const plan = planned.get(node)!;
    if (only && node.virtual && plan.commands.length === 0 && node.dependents.length === 0) {
      // A grouping that nothing depends on (`all`): its signature is read by no one, so on a
      // partial run it keeps its record instead of hashing the signatures of all its targets.
      const recorded = state.signature(node.key);
      if (recorded !== undefined) return blocked.has(node) ? notBuilt(node) : { ok: true, sig: recorded, forcedChange: false };
    }
    const depOutcomes = node.deps.map(outcomeOf);
    if (depOutcomes.some((o) => !o.ok)) return notBuilt(node);
    // Hashes known without waiting (the no-op check saw the file unchanged) skip the promise
    // machinery: on a large incremental build that is nearly every source.
    const hashes = node.sourceFiles.map((s) => knownHash(s.path) ?? stampSource(s.path));
    const resolved = hashes.every((h) => typeof h === 'string') ? (hashes as string[]) : await Promise.all(hashes);
    const src = sha256(node.sourceFiles.map((s, i) => `${s.name}\0${resolved[i]}`).join('\n'));
    const deps = sha256(node.deps.map((d, i) => `${d.key}\0${depOutcomes[i]!.sig}`).join('\n'));
    const cmd = sha256(plan.cmdSig);
    const record = state.target(node.key);
    const forcedChange =
      node.sourceFiles.some((s) => changed.has(s.path)) || depOutcomes.some((o) => o.forcedChange);

    if (node.virtual && plan.commands.length === 0) {
      // A pure grouping of other targets: nothing of its own to run or to report.
      const sig = sha256(`${cmd}\0${src}\0${deps}`);
      if (!options.dryRun) next.targets[node.key] = { cmd, src, deps, sig };
      return { ok: true, sig, forcedChange };
    }

    let reason: TargetReason | undefined;
    let detail: string | undefined;
    let out = record?.out;
    if (options.force) reason = 'forced';
    else if (forcedChange) reason = 'marked-changed';
    else if (!record) reason = 'never-built';
    else if (record.src !== src) {
      reason = 'sources-changed';
      detail = node.sourceFiles.map((s) => s.name).join(' ');
    } else if (record.deps !== deps) reason = 'dependencies-changed';
    else if (!options.contentsOnly && record.cmd !== cmd) reason = 'commands-changed';
    else if (node.outPath !== undefined) {
      const seen = options.seen?.get(node.outPath);
      out = seenMatches(record.out, seen) ? record.out : await stampFile(node.outPath, record.out, seen);
      if (!out) reason = 'output-missing';
      // Content or permissions: a chmod of an output in the package folder makes it again.
      else if (out.hash !== record.out?.hash || out.mode !== record.out.mode) reason = 'output-changed';
    } else if (plan.commands.length > 0) reason = 'virtual';
    if (debug.has('sign')) {
      emit({ type: 'log', level: 'DEBUG', source: 'sign', ...at, message: `${node.key}: recorded ${record ? `cmd=${record.cmd.slice(0, 12)} src=${record.src.slice(0, 12)} deps=${record.deps.slice(0, 12)}` : 'nothing'}; now cmd=${cmd.slice(0, 12)} src=${src.slice(0, 12)} deps=${deps.slice(0, 12)}` });
    }

    if (reason === undefined) {
      // Up to date. Keep the fresh stat (so the file is not hashed again) and, with -C, the new buildcheck.
      next.targets[node.key] = { ...record!, cmd, ...(out ? { out } : {}) };
      result.upToDate.push(node.key);
      emit({ type: 'target-skip', ...at, target: node.key, reason: 'up-to-date' });
      return { ok: true, sig: record!.sig, forcedChange: false };
    }

    if (options.touch) {
      const stamp = node.outPath === undefined ? undefined : await stampFile(node.outPath, undefined);
      const sig = stamp ? fileSignature(stamp) : sha256(`${cmd}\0${src}\0${deps}`);
      next.targets[node.key] = { cmd, src, deps, sig, ...(stamp ? { out: stamp } : {}) };
      emit({ type: 'log', level: 'INFO', source: 'engine', ...at, message: `touched ${node.key} (signatures recorded, nothing run)` });
      result.upToDate.push(node.key);
      return { ok: true, sig, forcedChange: false };
    }

    const announce = (): void => emit({ type: 'target-start', ...at, target: node.key, reason: reason!, ...(detail ? { detail } : {}) });
    if (options.dryRun) {
      announce();
      for (const command of plan.commands) emit({ type: 'command', ...at, target: node.key, command, builtin: command.startsWith(':') });
      result.ran.push(node.key);
      emit({ type: 'target-done', ...at, target: node.key, durationMs: 0, changed: true });
      return { ok: true, sig: `dry-run:${node.key}`, forcedChange: true };
    }

    return limit(async () => {
      if (stopping || options.signal?.aborted) return notBuilt(node);
      // Announced when its first command starts, so start times (--profile) are real: a
      // command queued in a launcher starts only as the one before it ends.
      let started = 0;
      const onStart = (): void => {
        if (started) return;
        started = Date.now();
        announce();
      };
      // The target keeps its job slot from its first command to its last (see CommandSlots).
      const owner = {};
      /** The output before the commands ran (undefined: there was none). */
      let before: Before | undefined;
      try {
        if (node.outPath !== undefined) await makeFolder(dirname(node.outPath));
        // An output changed behind the engine (content or mode) is made anew, as a clean build
        // makes it: a command that writes into an existing file (`cp`) keeps that file's mode.
        if (reason === 'output-changed') await discardOutput(node, 'it was changed since it was made');
        else if (node.outPath !== undefined && isFolderStamp(statStamp(node.outPath, false))) {
          // A folder is made anew too: commands that copy into an existing folder (`:copy`,
          // `cp -r`) would nest the new copy in the old one, and files gone from its sources would stay.
          await rm(node.outPath, { recursive: true, force: true });
          emit({ type: 'log', level: 'DEBUG', source: 'engine', ...at, message: `removed ${node.key}: a folder is made anew, as a clean build makes it` });
        }
        // make's rule (.DELETE_ON_ERROR): a target whose commands fail or are interrupted loses
        // its output when they changed it; an output they did not touch stays as it was.
        if (node.outPath !== undefined) before = await outputBefore(node.outPath);
        if (plan.commands.length === 0) onStart();
        // Once the target has started, its later commands run even when the build is stopping (as before).
        const hooks: CommandHooks = { owner, onStart, shouldStart: () => started > 0 || !(stopping || options.signal?.aborted) };
        for (const [i, command] of plan.commands.entries()) {
          if (!(await runCommand(node, command, options, hooks, i === plan.commands.length - 1))) {
            if (!started) return notBuilt(node);
            // Stopped between two of its commands: what the first ones made is not its output.
            forget.add(node.key);
            await discardOutput(node, 'the build stopped before its last command', before);
            return notBuilt(node);
          }
        }
        let newRecord: TargetRecord;
        if (node.outPath !== undefined) {
          const stamp = await stampFile(node.outPath, undefined);
          if (!stamp) throw new AiopError('command', `target "${node.key}": its commands ran but did not create ${node.outPath}`);
          newRecord = { cmd, src, deps, out: stamp, sig: fileSignature(stamp) };
        } else {
          newRecord = { cmd, src, deps, sig: sha256(`${cmd}\0${src}\0${deps}`) };
        }
        next.targets[node.key] = newRecord;
        result.ran.push(node.key);
        emit({ type: 'target-done', ...at, target: node.key, durationMs: Date.now() - started, changed: newRecord.sig !== record?.sig });
        return { ok: true, sig: newRecord.sig, forcedChange };
      } catch (error) {
        if (!(error instanceof AiopError)) throw error;
        // make's rule: a command that failed or was interrupted leaves no output of its target.
        if (started) await discardOutput(node, 'its command failed or was interrupted', before);
        onStart();
        result.failed.push({ target: node.key, message: error.message });
        emit({ type: 'target-fail', ...at, target: node.key, error: error.message });
        if (!options.keepGoing) {
          stopping = true;
          // Commands queued in launchers behind running ones must not start now.
          slotsFor(options).cancelQueued();
        }
        return { ok: false, sig: '', forcedChange: false };
      } finally {
        slotsFor(options).release(owner);
      }
    });
  };

  /** Targets stopped half-way: their records are forgotten, as failed ones are. */
  const forget = new Set<string>();
  /** Removes a file target's output (whatever it is), unless it is still what `unless` saw, and says so. */
  const discardOutput = async (node: Node, why: string, unless?: Before): Promise<void> => {
    if (node.outPath === undefined) return;
    const now = statStamp(node.outPath, false);
    if (now === undefined) return;
    if (unless !== undefined && sameStamp(now, unless.stamp)) {
      // A racy stamp proves nothing (src/store/stamp.ts): then the content decides.
      if (unless.hash === undefined) return;
      if ((await stampFile(node.outPath, undefined))?.hash === unless.hash) return;
    }
    await rm(node.outPath, { recursive: true, force: true });
    emit({ type: 'log', level: 'INFO', source: 'engine', ...at, message: `removed ${node.key}: ${why}` });
  };

  const notBuilt = (node: Node): Outcome => {
    result.notBuilt.push(node.key);
    return { ok: false, sig: '', forcedChange: false };
  };

  // Start each target once all of its dependencies are done, a bounded number at a time:
  // starting all 10,000 ready targets at once kept 10,000 pending promises (with their
  // signatures and closures) alive for the whole build, and the heap grew with them.
  const inFlightMax = Math.max(64, options.jobs * 8);
  const todo = only ? [...only] : graph.order;
  await new Promise<void>((resolve, reject) => {
    const waiting = new Map<Node, number>();
    const ready: Node[] = [];
    let readAt = 0;
    let inFlight = 0;
    let open = todo.length;
    if (open === 0) return resolve();
    const pump = (): void => {
      while (inFlight < inFlightMax && readAt < ready.length) start(ready[readAt++]!);
      if (readAt > 4096 && readAt * 2 > ready.length) {
        ready.splice(0, readAt);
        readAt = 0;
      }
    };
    const start = (node: Node): void => {
      inFlight++;
      make(node).then((outcome) => {
        inFlight--;
        outcomes.set(node, outcome);
        if (only && !outcome.ok) for (const dependent of node.dependents) blocked.add(dependent);
        for (const dependent of node.dependents) {
          if (!waiting.has(dependent)) continue;
          const left = waiting.get(dependent)! - 1;
          waiting.set(dependent, left);
          if (left === 0) ready.push(dependent);
        }
        if (--open === 0) resolve();
        else pump();
      }, reject);
    };
    if (only) {
      // Counted from the dependents' side, as they are counted down: a target's own list of
      // dependencies may be every target of the recipe (`all`), which a partial run never reads.
      for (const node of todo) waiting.set(node, 0);
      for (const node of todo) for (const dependent of node.dependents) if (waiting.has(dependent)) waiting.set(dependent, waiting.get(dependent)! + 1);
    } else for (const node of todo) waiting.set(node, node.deps.length);
    for (const node of todo) if (waiting.get(node) === 0) ready.push(node);
    pump();
  });

  if (!options.dryRun) {
    const targets = new Map<string, TargetRecord | null>(Object.entries(next.targets));
    // A target that failed or was interrupted loses its old record: it must never look fresh.
    for (const failed of result.failed) targets.set(failed.target, null);
    for (const key of forget) targets.set(key, null);
    result.saved = await state.save({ targets, files: new Map(Object.entries(next.files)) }, only !== undefined);
    if (state.damaged !== undefined) warnDamaged(emit, options.statePath, options.playbookRoot, state.damaged, pkg);
    if (debug.has('sign')) emit({ type: 'log', level: 'DEBUG', source: 'sign', ...at, message: `signatures written to ${options.statePath}` });
  }
  if (result.failed.length === 0 && result.notBuilt.length === 0) {
    result.signatures = new Map(todo.map((node) => [node.key, outcomes.get(node)!.sig]));
  }
  return result;
}

/** A target's output before its commands ran: its stamp, and its hash when the stamp is racy. */
interface Before {
  stamp: Stamp;
  hash?: string;
}

/** What an output is before its commands run, to tell afterwards whether they changed it. */
async function outputBefore(path: string): Promise<Before | undefined> {
  const takenAt = Date.now();
  const stamp = statStamp(path, false);
  if (stamp === undefined || !isRacy(stamp, takenAt)) return stamp && { stamp };
  const hashed = await stampFile(path, undefined);
  return hashed && { stamp: hashed, hash: hashed.hash };
}

/** Expands every command of every needed target before anything runs, so an unset variable stops the build early. */
export function planCommands(options: Pick<EngineOptions, 'graph' | 'scope' | 'pkgDir' | 'emit' | 'pkg' | 'debug'>): Map<Node, Planned> {
  const planned = new Map<Node, Planned>();
  const onExpand = options.debug?.has('expand')
    ? (name: string, value: string) =>
        options.emit({ type: 'log', level: 'DEBUG', source: 'expand', ...(options.pkg ? { pkg: options.pkg } : {}), message: `$${name} = ${value}` })
    : undefined;
  let variables: string | undefined;
  for (const node of options.graph.order) {
    const scope = targetScope(node, options.scope);
    const where = `target "${node.key}"`;
    let commands = node.def.commands.map((c) => expand(c, scope, where, onExpand).trim());
    // Kept for the whole build: a list filtered item by item keeps room for 17.
    if (commands.some((c) => c.length === 0)) commands = commands.filter((c) => c.length > 0).slice();
    const lines = commands.map((c) => commandSignature(c.split(options.pkgDir).join('$PKGDIR'))).filter((c) => c.length > 0);
    // A template's text is expanded as it runs, with any variable of the scope: their values are inputs too.
    if (commands.some((c) => /^:template(\s|$)/.test(c))) lines.push(`:template variables ${(variables ??= scopeSignature(options.scope, options.pkgDir))}`);
    planned.set(node, { commands, cmdSig: lines.join('\n') });
  }
  return planned;
}

/** sha256 of every variable of a scope and its value as written (the package folder as `$PKGDIR`). */
export function scopeSignature(scope: Scope, pkgDir: string): string {
  return sha256(scope.names().map((name) => `${name}=${scope.get(name)!.split(pkgDir).join('$PKGDIR')}`).join('\0'));
}

/**
 * The signature text of an expanded command: blanks between words folded (a line break
 * stays one, it separates commands) and shell comments dropped, so that re-indenting a
 * recipe does not rebuild, but never inside quotes, where they are part of the command's
 * words (`echo "a  #b"` writes every one of those bytes). A command with a here-document
 * keeps its text as it is.
 */
export function commandSignature(command: string): string {
  if (command.includes('<<')) return command.trim();
  // Nothing to fold or drop: the command is its own signature.
  if (!PLAIN_COMMAND.test(command)) return command;
  // Gathered in a list: built with `+=` one character at a time, the text is a chain of a
  // hundred small strings, kept with the plan for the whole build.
  const out: string[] = [];
  let quote: '' | "'" | '"' = '';
  let blank: '' | ' ' | '\n' = '';
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote !== '') {
      out.push(c);
      if (c === '\\' && quote === '"' && i + 1 < command.length) out.push(command[++i]!);
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '\n') {
      blank = '\n';
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      if (blank === '') blank = ' ';
      continue;
    }
    if (c === '#' && (blank !== '' || out.length === 0)) {
      // A comment runs to the end of its line.
      const end = command.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
      continue;
    }
    if (out.length > 0 && blank !== '') out.push(blank);
    blank = '';
    out.push(c);
    if (c === '\\' && i + 1 < command.length) out.push(command[++i]!);
    else if (c === "'" || c === '"') quote = c;
  }
  return out.join('');
}

/** Whether a command has something {@link commandSignature} folds or drops: blanks other than single spaces between words, a comment, quotes or escapes. */
const PLAIN_COMMAND = /^\s|\s$|[\t\r\n#'"\\]| {2}/;

/** The scope of one target: `$target` and `$source` as the weakest built-ins, already expanded (their names were). */
function targetScope(node: Node, scope: Scope): Scope {
  return scope.under({ target: node.outPath ?? node.key, source: node.sourcePaths.join(' ') }, true);
}

const envs = new WeakMap<EngineOptions, NodeJS.ProcessEnv>();

/** The commands' environment, made once per run: one object lets the shell launchers be reused. */
function commandEnv(options: EngineOptions): NodeJS.ProcessEnv {
  let env = envs.get(options);
  if (!env) envs.set(options, (env = { ...process.env, ...options.env }));
  return env;
}

const slotsByRun = new WeakMap<EngineOptions, CommandSlots>();

/** The run's job slots for commands (see {@link CommandSlots}), made once per run. */
function slotsFor(options: EngineOptions): CommandSlots {
  let slots = slotsByRun.get(options);
  if (!slots) slotsByRun.set(options, (slots = new CommandSlots(Math.max(1, options.jobs))));
  return slots;
}

/** How a target's job body follows its commands. */
interface CommandHooks {
  /** The target, for its job slot. */
  owner: object;
  /** Called as a command starts. */
  onStart: () => void;
  /** Whether a command that has not started yet may still start. */
  shouldStart: () => boolean;
}

/** Runs one command of a target; false when it was cancelled before it started (the build is stopping). */
async function runCommand(node: Node, command: string, options: EngineOptions, hooks: CommandHooks, last: boolean): Promise<boolean> {
  const at = options.pkg === undefined ? {} : { pkg: options.pkg };
  const builtin = command.startsWith(':');
  const slots = slotsFor(options);
  let started = 0;
  const onStart = (): void => {
    if (started) return;
    hooks.onStart();
    options.emit({ type: 'command', ...at, target: node.key, command, builtin });
    started = Date.now();
  };
  const capture = new OutputCapture();
  const onOutput = (stream: 'stdout' | 'stderr', line: string): void => {
    capture.add(line);
    options.emit({ type: 'command-output', ...at, target: node.key, stream, text: `${line}\n` });
  };
  const check = (line: string, outcome: ShellResult): void => {
    if (outcome.code !== 0) {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${outcome.code}`;
      throw new AiopError('command', `target "${node.key}": command ${how}: ${line}`);
    }
  };
  // A shell command of a built-in runs in the slot the built-in holds.
  const nested = async (line: string): Promise<void> => {
    check(line, await runShell(line, { cwd: options.playbookRoot, env: commandEnv(options), ...(options.signal ? { signal: options.signal } : {}), onOutput }));
  };
  let ok = false;
  try {
    if (builtin) {
      const scope = targetScope(node, options.scope);
      // A built-in waits for its slot like a shell command does: when the build stops meanwhile
      // (another target failed, without -k), it must not start either.
      let skipped = false;
      await slots.exclusive(async () => {
        if (!hooks.shouldStart()) {
          skipped = true;
          return;
        }
        onStart();
        await runBuiltin(command.slice(1), {
          cwd: options.playbookRoot,
          expandTemplate: (text) => expand(text, scope, `template of target "${node.key}"`),
          print: (text) => options.emit({ type: 'log', level: 'INFO', source: 'recipe', ...at, message: text }),
          shell: nested,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
      }, hooks.owner, last).catch((error: unknown) => {
        if (error instanceof AiopError && !error.message.startsWith('target "')) {
          throw new AiopError(error.reason, `target "${node.key}": ${error.message}`);
        }
        // File system failures of a built-in (missing file, permission) are the recipe's, not ours.
        if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && !(error instanceof AiopError)) {
          throw new AiopError('command', `target "${node.key}": ${command}: ${error.message}`);
        }
        throw error;
      });
      if (skipped) return false;
    } else {
      for (;;) {
        const outcome = await slots.run(command, {
          cwd: options.playbookRoot,
          env: commandEnv(options),
          ...(options.signal ? { signal: options.signal } : {}),
          onOutput,
          onStart,
          shouldStart: hooks.shouldStart,
          owner: hooks.owner,
          last,
        });
        if (!outcome.skipped) {
          check(command, outcome);
          break;
        }
        // Queued behind a command that failed, or cancelled: once that failure has been handled
        // (its promise callbacks have all run by the next turn), run it again unless the build stops.
        await new Promise((resolve) => setImmediate(resolve));
        if (!hooks.shouldStart()) return false;
      }
    }
    ok = true;
  } finally {
    if (started) {
      const output = capture.text();
      options.emit({ type: 'command-end', ...at, target: node.key, command, durationMs: Date.now() - started, ok, ...(output !== undefined ? { output } : {}) });
    }
  }
  return true;
}

/** Whether a stamp is a folder's. */
function isFolderStamp(stamp: Stamp | undefined): boolean {
  return stamp !== undefined && (stamp.mode & constants.S_IFMT) === constants.S_IFDIR;
}
