/**
 * One package build, from a resolved system target to the finished folder and its outputs:
 * destination, artifacts, recipe, zip, .deb, manifest, checksums, upload. Shared by
 * `aiop build`, `build_all` and `build_again`. Knows nothing about terminals: it emits events.
 */
import { resolveSettings } from '../options/settings.js';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AiopError, ConfigError, UsageError } from '../core/errors.js';
import { checkDebInfo, type DebInfo } from '../pack/deb.js';
import { debInfoFrom, installerFileName } from '../pack/deb-info.js';
import { checkedRpm, rpmInstallerFileName } from '../pack/rpm-info.js';
import type { RpmInfo } from '../pack/rpm.js';
import { loadSigningKey, readSigningKeyText, RPM_KEY_HINT, type SigningKey } from '../pack/signing-key.js';
import { log, type Emit, type EventOf } from '../core/events.js';
import { resolveArtifacts, type ResolvedArtifact } from '../artifacts/resolve.js';
import { defaultCacheDir } from '../artifacts/cache-dir.js';
import type { FetchSettings } from '../artifacts/place.js';
import { buildGraph, checkMissingSources, type Graph, type Node } from '../engine/graph.js';
import { planCommands, runEngine, type EngineResult, type Planned } from '../engine/run.js';
import { Scope, expand } from '../engine/variables.js';
import { stampFile, type SeenStat } from '../engine/state.js';
import { ensureAiopGitignore, type Playbook, type Recipe } from '../playbook/load.js';
import { recordLastBuild } from '../store/last-build.js';
import { recordForFastPaths, type FastPathRecording } from './fast-path-records.js';
import type { UserConfig } from '../playbook/schema.js';
import type { ResolvedTarget } from '../playbook/compat.js';
import { ownStateFolders, refuseOwnLinks } from '../store/own-paths.js';
import { noteVariables } from '../report/known-secrets.js';
import { cleanupOnExit } from '../core/exit-cleanup.js';
import { existsSync, rmSync, statSync } from 'node:fs';
import {
  chooseDestination,
  packageStateDir,
  readBuildRecord,
  removeStalePartials,
  writeBuildRecord,
  type BuildRecord,
  type Destination,
} from './destination.js';
import type { BuildOptions } from '../options/build-options.js';
import { removePackageDebris, removeStaleCacheTemps, removeStaleTemps } from './debris.js';
import { runOutputSteps, type OutputStepsResult } from './outputs.js';
import { keptEntries, reconcilePackageFolder } from './reconcile.js';
import { makeDirs } from '../core/make-dirs.js';

export interface PackageBuildContext {
  playbook: Playbook;
  userConfig: UserConfig;
  emit: Emit;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Stats taken earlier in this run by the no-op check (files whose stat had not changed). */
  seen?: { get(path: string): SeenStat | undefined };
}

export interface PackageBuildResult {
  id: string;
  /** Source files the recipe read (absolute), and everything under those that are folders, for the no-op fast path. */
  sources: string[];
  packageDir: string;
  outputDir: string;
  engine: EngineResult;
  outputs: OutputStepsResult;
}

/** The variables of a package build, weakest first (SPEC section 2). */
export function packageScope(
  playbook: Playbook,
  builtins: Record<string, string>,
  compat: Record<string, string>,
  assignments: Record<string, string>,
): Scope {
  const playbookVars = Object.fromEntries(Object.entries(playbook.inventory.variables ?? {}).map(([k, v]) => [k, String(v)]));
  // A variable may hold the password of a URL (http://alice:${PW}@host/...): it is masked everywhere.
  noteVariables({ ...playbookVars, ...playbook.recipe.variables, ...assignments });
  return new Scope([builtins, playbookVars, playbook.recipe.variables, compat, assignments]);
}

/** The goal when none is named (`aiop build`, a bare `aap`): the recipe's `default`, else a target named `package`, else every target. */
export function defaultGoals(recipe: Recipe): string[] {
  if (recipe.default) return [recipe.default];
  if (recipe.targets['package']) return ['package'];
  return Object.keys(recipe.targets);
}

/** A checked package build, ready to run: nothing has been written yet. */
export interface PackageBuildPlan {
  target: ResolvedTarget;
  options: BuildOptions;
  ctx: PackageBuildContext;
  dest: Destination;
  record: BuildRecord | undefined;
  stateDir: string;
  /** Variables, the graph and its expanded commands, for the package folder this build writes. */
  scope: Scope;
  graph: Graph;
  planned: Map<Node, Planned>;
  /** The .deb to make (`--installer deb`), checked. */
  deb?: { info: DebInfo; installerName?: string };
  /** The .rpm to make (`--installer rpm`), checked, and the key that signs it. */
  rpm?: { info: RpmInfo; installerName?: string; signingKey?: SigningKey };
  /** `--signing_key FILE` (absolute) when it signs the .rpm: an input of the no-op record. */
  signingKeyFile?: string;
  /** The system target's artifacts for these compatibility values. */
  artifacts: ResolvedArtifact[];
}

/**
 * Checks everything that can be checked before building (destination, target names,
 * dependency cycles, unset variables) without writing anything. Throws AiopError.
 */
export async function planPackageBuild(
  target: ResolvedTarget,
  options: BuildOptions,
  ctx: PackageBuildContext,
): Promise<PackageBuildPlan> {
  const { playbook, emit } = ctx;
  const root = playbook.root;
  const pkg = target.id;
  const stateDir = packageStateDir(root, pkg);
  const record = await readBuildRecord(stateDir);
  const compat = Object.fromEntries(target.values);
  const assignments = { ...target.assignments, ...options.assignments };
  const builtinsFor = (pkgDir: string): Record<string, string> => ({
    PKGDIR: pkgDir,
    PLAYBOOK: root,
    name: playbook.inventory.package.name,
    version: playbook.inventory.package.version,
    system_target: target.systemTarget,
  });

  // Everything that can be checked is checked before anything is written.
  refuseOwnLinks(ownStateFolders(root, pkg, ctx.userConfig.log_dir === undefined ? join(root, '.aiop', 'logs') : undefined), options.force);
  const sourceFiles = Object.values(playbook.recipe.targets).flatMap((t) => t.sources).map((s) => join(root, s));
  const dest = await chooseDestination({
    root,
    id: pkg,
    ...(options.destinationPath ? { destinationPath: options.destinationPath } : {}),
    force: options.force,
    record,
    sourceFiles,
  });
  const goals = defaultGoals(playbook.recipe);
  const scope = packageScope(playbook, builtinsFor(dest.workDir), compat, assignments);
  const graph = buildGraph({
    defs: playbook.recipe.targets,
    scope,
    pkgDir: dest.workDir,
    playbookRoot: root,
    goals,
    sourceRoots: [dest.workDir],
    deferMissingSources: true,
  });
  const planned = planCommands({ graph, scope, pkgDir: dest.workDir, emit });
  const deb = options.installer?.includes('deb') ? checkedDeb(playbook, target, scope, options.installerName) : undefined;
  const checked = options.installer?.includes('rpm')
    ? checkedRpm(playbook.inventory.package, target.config.rpm, {
        systemTarget: target.systemTarget,
        playbookRoot: root,
        expand: (text) => expand(text, scope, `rpm settings of "${target.systemTarget}"`),
      }, options.installerName)
    : undefined;
  const signing = checked ? await readSigningKeyText(options.signingKey, root, ctx.env ?? process.env) : undefined;
  const signingKey = signing ? await loadSigningKey(signing.armored) : undefined;
  if (signingKey?.rpmProblem) throw new UsageError(signingKey.rpmProblem, RPM_KEY_HINT);
  const rpm = checked && signingKey ? { ...checked, signingKey } : checked;
  const artifacts = resolveArtifacts(target.config.artifacts, compat, (text) => expand(text, scope, `artifacts of "${target.systemTarget}"`));
  const installers = [...(deb ? [installerFileName(deb.info, deb.installerName)] : []), ...(rpm ? [rpmInstallerFileName(rpm.info, rpm.installerName)] : [])];
  const replaced = await refuseForeignOutputs(dest.outputDir, pkg, installers, options.force);
  // Shown when the build starts, with the destination's own notes (nothing is reported while planning).
  if (replaced.length > 0) dest.notes = [...(dest.notes ?? []), ...replaced.map((message) => ({ level: 'WARNING' as const, message }))];

  return { target, options, ctx, dest, record: dest.record, stateDir, scope, graph, planned, artifacts, ...(deb ? { deb } : {}), ...(rpm ? { rpm } : {}), ...(signing?.file ? { signingKeyFile: signing.file } : {}) };
}

/**
 * Refuses to write an installer file that another package's manifest in the same folder names
 * as its own (two distros' `aiop build ... --installer deb` both make `<name>_<version>_<arch>.deb`):
 * replacing it would leave that manifest naming a digest no file has, and an upload of that
 * package would send this one's file. With `--force` the file is replaced: the warnings to show
 * are returned.
 * @throws AiopError('destination') naming both packages and the file.
 */
async function refuseForeignOutputs(outputDir: string, pkg: string, names: string[], force: boolean): Promise<string[]> {
  const warnings: string[] = [];
  if (names.length === 0) return warnings;
  const manifests = (await readdir(outputDir).catch(() => [] as string[])).filter((n) => n.endsWith('.manifest.json') && n !== `${pkg}.manifest.json`);
  for (const manifestName of manifests) {
    let manifest: { packageId?: unknown; outputs?: Array<{ kind?: unknown; path?: unknown }> };
    try {
      manifest = JSON.parse(await readFile(join(outputDir, manifestName), 'utf8')) as typeof manifest;
    } catch {
      continue;
    }
    if (typeof manifest.packageId !== 'string' || manifest.packageId === pkg || !Array.isArray(manifest.outputs)) continue;
    for (const output of manifest.outputs) {
      if (typeof output?.path !== 'string' || !names.includes(output.path) || !existsSync(join(outputDir, output.path))) continue;
      const what = `${join(outputDir, output.path)} is an output of package "${manifest.packageId}" (${manifestName} names it)`;
      if (force) {
        warnings.push(`${what}; --force: "${pkg}" replaces it, and that manifest no longer describes it`);
        continue;
      }
      throw new AiopError(
        'destination',
        `${what}; "${pkg}" would write the same file. Give --installer_name, another --destination_path, or --force to replace it`,
      );
    }
  }
  return warnings;
}

type ArtifactRecord = NonNullable<BuildRecord['artifacts']>[number];

/** Download settings from the options and the user configuration. */
function artifactSettings(plan: PackageBuildPlan): FetchSettings {
  const { ctx, options, target } = plan;
  const config = ctx.userConfig;
  return {
    cacheDir: config.cache_dir ?? defaultCacheDir(ctx.env),
    retries: resolveSettings(options, config).retries,
    noCaching: options.noCaching,
    noVerify: options.noVerify,
    connectTimeoutMs: config.connect_timeout * 1000,
    idleTimeoutMs: config.idle_timeout * 1000,
    ...(config.ca_file ? { caFile: config.ca_file } : {}),
    emit: ctx.emit,
    pkg: target.id,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
}

/**
 * Places the artifacts, unless this is an in-place update whose last build placed the
 * very same artifacts and their files are untouched: a no-op build copies nothing.
 */
async function placeArtifactsOnce(
  artifacts: ResolvedArtifact[],
  pkgDir: string,
  record: BuildRecord | undefined,
  settings: FetchSettings,
): Promise<ArtifactRecord[]> {
  if (artifacts.length === 0) return [];
  const same =
    !settings.noCaching &&
    record?.artifacts !== undefined &&
    record.artifacts.length === artifacts.length &&
    artifacts.every((a, i) => record.artifacts![i]!.name === a.name && record.artifacts![i]!.url === a.url && record.artifacts![i]!.integrity === a.integrity);
  const unchanged = same ? await stampsMatch(record.artifacts!, pkgDir) : undefined;
  if (unchanged) {
    log(settings.emit, 'DEBUG', 'artifacts', 'artifacts already in place and unchanged', settings.pkg);
    return unchanged;
  }
  // Imported here: the download stack (undici, cacache, tar) costs start-up time a build without artifacts never needs.
  const { placeArtifacts } = await import('../artifacts/place.js');
  const placed = await placeArtifacts(artifacts, pkgDir, { ...settings, replaceable: placedFiles(record) });
  return placed.map(({ name, url, integrity, files, folders }) => ({ name, url, integrity, files: files.map((path) => ({ path })), ...(folders ? { folders } : {}) }));
}

/** The files the last build's artifacts placed (package-relative): a new placement may replace them. */
function placedFiles(record: BuildRecord | undefined): Set<string> {
  return new Set((record?.artifacts ?? []).flatMap((artifact) => artifact.files.map((file) => file.path)));
}

/**
 * The records with their files' stamps as they are now, if every placed file is as the last
 * build left it: the same stamp (ctime included), or, where the stamp proves nothing (racy),
 * the same content and mode. Undefined otherwise.
 */
async function stampsMatch(records: ArtifactRecord[], pkgDir: string): Promise<ArtifactRecord[] | undefined> {
  const now: ArtifactRecord[] = [];
  for (const record of records) {
    const files: ArtifactRecord['files'] = [];
    for (const file of record.files) {
      const stamp = file.stamp && (await stampFile(join(pkgDir, file.path), file.stamp));
      if (!stamp || stamp.hash !== file.stamp!.hash || stamp.mode !== file.stamp!.mode) return undefined;
      files.push({ path: file.path, stamp });
    }
    now.push({ ...record, files });
  }
  return now;
}

/** The placed files' stamps as they are in the finished package folder (hashed unless a stamp of this run proves them). */
async function restamp(records: ArtifactRecord[], pkgDir: string): Promise<ArtifactRecord[]> {
  const out: ArtifactRecord[] = [];
  for (const record of records) {
    const files: ArtifactRecord['files'] = [];
    for (const { path, stamp: known } of record.files) {
      const stamp = await stampFile(join(pkgDir, path), known);
      files.push(stamp ? { path, stamp } : { path });
    }
    out.push({ ...record, files });
  }
  return out;
}

/** The .deb settings with variables expanded, and every problem found before building. */
function checkedDeb(playbook: Playbook, target: ResolvedTarget, scope: Scope, installerName?: string): { info: DebInfo; installerName?: string } {
  const settings = target.config.deb;
  if (!settings) {
    throw new AiopError('config', `--installer deb: system target "${target.systemTarget}" has no \`deb:\` settings in .aiop/inventory_config.yml`);
  }
  const info = debInfoFrom(playbook.inventory.package, settings, {
    playbookRoot: playbook.root,
    expand: (text) => expand(text, scope, `deb settings of "${target.systemTarget}"`),
  });
  const problems = checkDebInfo(info);
  if (problems.length > 0) {
    throw new ConfigError(problems.map((message) => ({ message: `.aiop/inventory_config.yml: system_targets.${target.systemTarget}.deb: ${message}` })));
  }
  installerFileName(info, installerName);
  return { info, ...(installerName !== undefined ? { installerName } : {}) };
}

/** What a full build does beyond the package itself. */
export interface FullBuildExtras {
  /** `aiop build`'s words, recorded for `build_again` (not for build_all's packages). */
  lastBuildArgv?: string[];
  /** Leaves no-op and delta records for the next identical build. */
  recording?: FastPathRecording;
}

/**
 * The full strategy of a build session: runs a checked plan under the package's lock (held
 * by the session), planning again first when another build changed the build record since
 * the plan was made, and leaves the records the fast paths and `build_again` read.
 */
export async function runFullBuild(plan: PackageBuildPlan, session: { emit: Emit; signal: AbortSignal }, extras: FullBuildExtras = {}): Promise<PackageBuildResult> {
  const outputs: EventOf<'output'>[] = [];
  const emit: Emit = (event) => {
    if (event.type === 'output') outputs.push(event);
    session.emit(event);
  };
  plan.ctx.emit = emit;
  plan.ctx.signal = session.signal;
  // Planning is most of an incremental build's own time on a large recipe: it is only done
  // again when another build changed the record it depends on (destination, in place or not).
  const record = await readBuildRecord(plan.stateDir);
  if (JSON.stringify(record) !== JSON.stringify(plan.record)) plan = await planPackageBuild(plan.target, plan.options, plan.ctx);
  const root = plan.ctx.playbook.root;
  await ensureAiopGitignore(root);
  if (extras.lastBuildArgv) await recordLastBuild(root, extras.lastBuildArgv);
  const result = await runPackageBuild(plan);
  if (extras.recording) await recordForFastPaths(plan, result, outputs, extras.recording);
  return result;
}

/** Runs a checked plan: artifacts, recipe, rename into place, outputs. */
export async function runPackageBuild(plan: PackageBuildPlan): Promise<PackageBuildResult> {
  const { target, options, ctx, dest, record, stateDir, scope, graph, planned, artifacts } = plan;
  const { playbook, emit } = ctx;
  const root = playbook.root;
  const pkg = target.id;
  // A heading for a step that has nothing to do would only be noise.
  if (artifacts.length > 0) emit({ type: 'phase', phase: 'fetch', pkg });
  for (const note of dest.notes ?? []) log(emit, note.level, 'build', note.message, pkg);
  await makeDirs(dest.outputDir);
  await removeStalePartials(dest);
  await removeStaleTemps([dest.outputDir, stateDir, join(root, '.aiop', 'state'), join(root, '.aiop', 'state', 'noop'), join(root, '.aiop')]);
  await removeStaleCacheTemps(ctx.userConfig.cache_dir ?? defaultCacheDir(ctx.env));
  // Debris in the package folder can only come from a build that did not finish: after a clean
  // finish there is none, and a large package is not walked for nothing.
  if (dest.inPlace && record?.unfinished !== false) await removePackageDebris(dest.finalDir);
  const inPlaceRecord: BuildRecord = { ...(record ?? { destination: dest.finalDir }), destination: dest.finalDir, unfinished: true };
  if (dest.inPlace) await writeBuildRecord(stateDir, inPlaceRecord);
  else await makeDirs(dest.workDir);
  // Removed even when the process exits before the clean-up below runs (a second Ctrl-C).
  const forgetTemp = dest.inPlace ? () => undefined : cleanupOnExit(() => rmSync(dest.workDir, { recursive: true, force: true }));

  const cleanupTemp = async (): Promise<void> => {
    if (!dest.inPlace) await rm(dest.workDir, { recursive: true, force: true });
    forgetTemp();
  };
  const interrupted = (): never => {
    throw new AiopError('interrupted', `build of ${pkg} interrupted`);
  };

  const fetchSettings = artifactSettings(plan);
  let engine: EngineResult;
  let sources: string[] = [];
  let placed: ArtifactRecord[] = [];
  try {
    placed = await placeArtifactsOnce(artifacts, dest.workDir, dest.inPlace ? record : undefined, fetchSettings);
    if (ctx.signal?.aborted) interrupted();
    checkMissingSources(graph, root);
    sources = await withFolderEntries([...new Set(graph.order.flatMap((node) => node.sourceFiles.map((f) => f.path)))]);
    emit({ type: 'phase', phase: 'recipe', pkg });
    engine = await runEngine({
      graph,
      scope,
      playbookRoot: root,
      pkgDir: dest.workDir,
      statePath: join(stateDir, 'signatures.json'),
      jobs: resolveSettings(options, ctx.userConfig).jobs,
      emit,
      pkg,
      planned,
      ...(ctx.seen ? { seen: ctx.seen } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.env ? { env: ctx.env } : {}),
      fetch: async (url, file) => (await import('../artifacts/place.js')).fetchUrl(url, file, fetchSettings),
    });
    if (ctx.signal?.aborted) interrupted();
    if (engine.failed.length > 0) {
      const first = engine.failed[0]!;
      throw new AiopError('command', first.message + (engine.failed.length > 1 ? ` (and ${engine.failed.length - 1} more failures)` : ''));
    }
    await reconcilePackageFolder(dest.workDir, keptEntries(graph, placed), { emit, pkg });
    if (!dest.inPlace) {
      // Claimed before it appears: a build killed right after the rename must find the
      // folder recognised as its own (to update in place), not refused as foreign.
      await writeBuildRecord(stateDir, { destination: dest.finalDir, unfinished: true });
      if (dest.replace) await rm(dest.finalDir, { recursive: true, force: true });
      await rename(dest.workDir, dest.finalDir);
      forgetTemp();
    }
  } catch (error) {
    await cleanupTemp();
    throw error;
  }

  const outputs = await runOutputSteps({
    plan,
    packageDir: dest.finalDir,
    outputDir: dest.outputDir,
    artifacts: placed.map(({ name, url, integrity }) => ({ name, url, integrity })),
  });
  await writeBuildRecord(stateDir, { destination: dest.finalDir, unfinished: false, artifacts: await restamp(placed, dest.finalDir) });
  emit({ type: 'phase', phase: 'done', pkg });
  return { id: pkg, sources, packageDir: dest.finalDir, outputDir: dest.outputDir, engine, outputs };
}

/**
 * The sources, then every file and folder under those that are folders: a file edited
 * inside a folder leaves the folder's own stat as it was, and a file added to a subfolder
 * changes only that subfolder's, so the no-op record must stamp them all.
 */
async function withFolderEntries(sources: string[]): Promise<string[]> {
  const inside: string[] = [];
  for (const source of sources) {
    if (!statSync(source, { throwIfNoEntry: false })?.isDirectory()) continue;
    const { listTree } = await import('../core/list-tree.js');
    inside.push(...(await listTree(source)).all.map((entry) => `${source}/${entry}`));
  }
  return inside.length === 0 ? sources : [...sources, ...inside];
}
