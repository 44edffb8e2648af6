/**
 * `aiop build` when the no-op check failed only because some sources or outputs of the
 * recipe changed: the incremental fast path. The build runs from the delta record of the
 * last identical build (src/store/delta.ts) and looks only at the targets that use a changed
 * file and their dependents; every other target was seen unchanged by the check's stats, so
 * the engine takes its recorded signature as it is. The events, the log file, the build
 * record, the signatures and the next no-op record are those a full build would leave.
 *
 * Whenever anything else could have changed (the recipe, the configuration, a folder, a
 * file that is neither a source nor an output, a lock, an unfinished build) the answer is
 * undefined and the full path runs, which is always correct on its own.
 */
import { resolveSettings } from '../options/settings.js';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readDelta, type DeltaGraph } from '../store/delta.js';
import { readBuildRecord, writeBuildRecord, type BuildRecord } from '../store/build-record.js';
import { recordLastBuild } from '../store/last-build.js';
import { checkFolders, type FolderStats } from '../store/package-folders.js';
import { acquirePackageLock, type PackageLock } from './lock.js';
import { linkTarget } from '../store/own-paths.js';
import { statsToReuse, writeNoop, type StaleRecord } from '../store/noop.js';
import { AiopError } from '../core/errors.js';
import type { AiopEvent } from '../core/events.js';
import type { Node } from '../engine/graph.js';
import { journalPath, StateFile, type StateStore } from '../store/state-file.js';
import { StateSearch } from '../store/state-search.js';
import { runEngine, type Planned } from '../engine/run.js';
import { Scope } from '../engine/variables.js';
import { reportOptions, type NoopContext } from './noop-replay.js';
import { Session, type PackageContext } from './session.js';

/**
 * Builds `aiop build ARGV` from the delta record when the no-op check found only changed
 * sources or outputs. Returns the exit status, or undefined when the full path must decide.
 * Failures of the build itself are thrown as AiopError, as the full path throws them.
 */
export async function replayDelta(
  argv: string[],
  io: { env: NodeJS.ProcessEnv },
  root: string,
  key: string,
  stale: StaleRecord,
): Promise<number | undefined> {
  const context = stale.context as unknown as NoopContext;
  const layout = context.layout as Partial<NoopContext['layout']> | undefined;
  // A record written without these (by an earlier aiop) only ever takes the full path.
  if (typeof context.delta !== 'string' || !Array.isArray(layout?.folders) || stale.changedAt.length === 0) return undefined;
  const stateDir = join(context.lockFile, '..');
  // Not waiting: while another build writes, the full path waits and says so.
  let lock: PackageLock;
  try {
    lock = await acquirePackageLock(stateDir, { waitMs: 0 });
  } catch (error) {
    if (error instanceof AiopError) return undefined;
    throw error;
  }
  try {
    // Read under the lock: a build that ran since the check wrote another record (another id) or none.
    const delta = readDelta(root, key, context.delta);
    if (!delta) return undefined;
    try {
      return await replayFrom(delta, { argv, io, root, key, stale, context, stateDir, lock });
    } finally {
      delta.close();
    }
  } finally {
    await lock.release();
  }
}

/** The checks that need the delta record, then the build from it. */
async function replayFrom(
  delta: DeltaGraph,
  input: { argv: string[]; io: { env: NodeJS.ProcessEnv }; root: string; key: string; stale: StaleRecord; context: NoopContext; stateDir: string; lock: PackageLock },
): Promise<number | undefined> {
  const { stale, context, stateDir } = input;
  const { header } = delta;
  const { affected: only, others } = delta.affected(stale.changed);
  const { inputs, entries, folders } = context.layout;
  // Changed paths no target reads or makes may only be folders whose entries are the recorded ones.
  const watched = new Set([header.pkgDir, ...folders.map((folder) => `${header.pkgDir}/${folder}`)]);
  if (!others.every((path) => watched.has(path))) return undefined;
  // A source folder whose own stat changed gained or lost entries, which the records must list: the full path's.
  if (stale.changed.some((path) => !watched.has(path) && statSync(path, { throwIfNoEntry: false })?.isDirectory())) return undefined;
  // A package folder replaced by a link is the full path's to refuse.
  if (linkTarget(header.pkgDir) !== undefined) return undefined;
  const folderStats = checkFolders(stale, header.pkgDir, folders, inputs, inputs + entries);
  if (!folderStats) return undefined;
  // A source that is gone may resolve elsewhere now (or nowhere): the full path says which.
  for (const node of only) if (node.sourceFiles.some((file) => !existsSync(file.path))) return undefined;
  const planned = delta.plan(only);
  // `:fetch` needs the download settings of a full build.
  if ([...planned.values()].some((plan) => plan.commands.some((command) => /^:fetch(\s|$)/.test(command)))) return undefined;
  const record = await readBuildRecord(stateDir);
  if (!record || record.unfinished !== false || record.destination !== header.pkgDir) return undefined;
  // A placed artifact that changed is placed again by the full path, not built on.
  const placed = (record.artifacts ?? []).flatMap((artifact) => artifact.files.map((file) => `${header.pkgDir}/${file.path}`));
  if (stale.changed.some((path) => placed.some((artifact) => path === artifact || path.startsWith(`${artifact}/`)))) return undefined;
  const state = openState(delta, only.size);
  if (!state) return undefined;
  return await build({ ...input, record, run: { delta, planned, only, state, folderStats } });
}

/**
 * The engine state, if the delta record's signatures belong to it: searched for the few
 * records a small change needs, read whole for a large one.
 */
function openState(delta: DeltaGraph, looking: number): StateStore | undefined {
  const path = delta.header.statePath;
  if (looking <= 32) {
    const state = StateSearch.open(path, (key) => delta.signature(key));
    return state && delta.belongsTo(state.current) ? state : undefined;
  }
  const state = StateFile.load(path);
  let journalBytes = 0;
  try {
    journalBytes = statSync(journalPath(path)).size;
  } catch {
    // No journal.
  }
  return state.id !== undefined && delta.belongsTo({ snapshot: state.id, journalBytes }) ? state : undefined;
}

/** What the engine gets: the recorded graph, the plans of the targets to look at, the state. */
interface Run {
  delta: DeltaGraph;
  planned: Map<Node, Planned>;
  only: ReadonlySet<Node>;
  state: StateStore;
  /** The package's folders before the build, to tell whether it added or removed entries. */
  folderStats: FolderStats;
}

/** The reported build, once everything says the delta path applies: run by a build session under the lock held. */
async function build(input: {
  argv: string[];
  io: { env: NodeJS.ProcessEnv };
  root: string;
  key: string;
  stale: StaleRecord;
  context: NoopContext;
  stateDir: string;
  record: BuildRecord;
  lock: PackageLock;
  run: Run;
}): Promise<number> {
  const { argv, root, context } = input;
  const pkg = context.pkg;
  const options = reportOptions(argv, context);
  const session = await Session.open({ program: 'aiop', options, userConfig: context.userConfig, root, logName: pkg, env: input.io.env });
  try {
    await session.runPackage(
      { pkg, systemTarget: options.systemTarget, compat: context.compat, lock: { held: input.lock } },
      (ctx) => replay(input, ctx),
      'throw',
    );
  } catch (error) {
    throw await session.end(error, pkg);
  }
  await session.close();
  return 0;
}

/** The delta strategy itself: the engine on the affected targets, then the records. */
async function replay(input: Parameters<typeof build>[0], ctx: PackageContext): Promise<void> {
  const { argv, io, root, key, stale, context, stateDir, record, run } = input;
  const { pkg, emit, signal } = ctx;
  const pkgDir = run.delta.header.pkgDir;
  await recordLastBuild(root, argv);
  emit({ type: 'log', level: 'DEBUG', source: 'build', pkg, message: `${stale.changedAt.length} recorded file(s) changed since the last identical build; looking at ${run.only.size} of ${run.delta.header.count} targets (incremental fast path)` });
  emit({ type: 'phase', phase: 'recipe', pkg });
  // As in a full build: a build killed from here on leaves the folder marked unfinished.
  await writeBuildRecord(stateDir, { ...record, unfinished: true });
  const engine = await runEngine({
    graph: run.delta.graph,
    scope: new Scope(run.delta.header.scope),
    playbookRoot: run.delta.header.playbookRoot,
    pkgDir,
    statePath: run.delta.header.statePath,
    jobs: resolveSettings(context.options, context.userConfig).jobs,
    emit,
    pkg,
    planned: run.planned,
    seen: stale,
    state: run.state,
    only: { targets: run.only, total: run.delta.header.count, upToDate: run.delta.upToDate(run.only) },
    signal,
    env: io.env,
  });
  if (signal.aborted) throw new AiopError('interrupted', `build of ${pkg} interrupted`);
  if (engine.failed.length > 0) {
    const first = engine.failed[0]!;
    throw new AiopError('command', first.message + (engine.failed.length > 1 ? ` (and ${engine.failed.length - 1} more failures)` : ''));
  }
  // The recorded signatures follow the state this build saved.
  if (engine.signatures && engine.saved) run.delta.commit(engine.signatures, engine.saved);
  await writeBuildRecord(stateDir, { ...record, unfinished: false });
  const { inputs, entries } = context.layout;
  const after = Array.from({ length: stale.count - inputs - entries }, (_, i) => inputs + entries + i);
  let outputs = stale.outputs;
  if (run.folderStats.unchanged()) {
    // No entry added or removed: the recorded listing holds, and only what ran is stat-ed again.
    for (const event of outputs) emit(event);
    const made = engine.ran.map((key) => stale.indexOf(`${pkgDir}/${key}`)).filter((i) => i >= 0);
    await stale.rewrite(root, key, outputs, context as unknown as Record<string, unknown>, [...made, ...after]);
  } else {
    // Loaded only here: most incremental builds add and remove nothing.
    const [{ listTree }, { reconcileAfterPartialRun }] = await Promise.all([import('../core/list-tree.js'), import('./reconcile.js')]);
    let tree = await listTree(pkgDir);
    const before = Array.from({ length: entries }, (_, i) => stale.path(inputs + i).slice(pkgDir.length + 1));
    if (await reconcileAfterPartialRun({ pkgDir, before, after: tree.all, ran: engine.ran, graph: run.delta.graph, placed: record.artifacts ?? [], report: { emit, pkg } })) tree = await listTree(pkgDir);
    const files = tree.files.map((f) => `${pkgDir}/${f}`);
    outputs = outputs.map((event) => (event.type === 'output' && event.kind === 'folder' ? { ...event, files, fileCount: files.length } : event));
    for (const event of outputs) emit(event);
    // A command added, removed or replaced entries: the record is written anew from the listing.
    const paths = [
      ...Array.from({ length: inputs }, (_, i) => stale.path(i)),
      ...tree.all.map((p) => `${pkgDir}/${p}`),
      ...after.map((i) => stale.path(i)),
    ];
    const next: NoopContext = { ...context, layout: { inputs, entries: tree.all.length, folders: tree.folders } };
    const known = statsToReuse(stale, { packageDir: pkgDir, ran: engine.ran, folders: tree.folders, files: after.map((i) => stale.path(i)) });
    await writeNoop(root, key, paths, outputs, next as unknown as Record<string, unknown>, known);
  }
  emit({ type: 'phase', phase: 'done', pkg });
}
