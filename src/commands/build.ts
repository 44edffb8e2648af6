/**
 * `aiop build {system_target} {params}`: builds one package from the playbook in the
 * current folder, recording the command line for `aiop build_again`.
 */
import { join } from 'node:path';
import { recordLastBuild } from '../store/last-build.js';
import { VERSION } from '../core/version.js';
import { AiopError, UsageError } from '../core/errors.js';
import { resolveTarget, targetHelp } from '../playbook/compat.js';
import type { BuildOptions } from '../options/build-options.js';
import { planPackageBuild, runPackageBuild } from '../session/full-build.js';
import { acquirePackageLock, lockPath, type PackageLock } from '../session/lock.js';
import { packageStateDir, readBuildRecord } from '../session/destination.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { ensureAiopGitignore, loadPlaybook } from '../playbook/load.js';
import { loadUserConfig, userConfigPath } from '../playbook/user-config.js';
import { noopKey, writeNoop, dropNoop, statsToReuse, type Unchanged } from '../store/noop.js';
import type { PackageBuildPlan } from '../session/full-build.js';
import { writeDelta } from '../store/delta.js';
import type { NoopContext } from '../session/noop-replay.js';
import type { AiopEvent } from '../core/events.js';
import type { UserConfig } from '../playbook/schema.js';
import { machineReadableFailures, startReporting } from '../session/reporting.js';
import { onInterrupt } from '../session/interrupt.js';

export { LAST_BUILD, recordableArgv } from '../store/last-build.js';

export interface BuildCommandIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The arguments after `aiop build`, recorded for `build_again`. */
  argv: string[];
  stdout: NodeJS.WritableStream;
  /** Files the no-op check found unchanged (src/session/noop-replay.ts), with their stats. */
  unchanged?: Unchanged;
}

/** Checks option combinations that need no playbook (exit 2 before anything runs). */
export function checkOptionCombinations(options: BuildOptions): void {
  if (options.upload.length > 0 && !options.uploadUrl) {
    throw new UsageError('--upload needs --upload_url', 'e.g. --upload zip deb --upload_url https://repo.example.com/hello');
  }
  if (options.uploadUrl && options.upload.length === 0) {
    throw new UsageError('--upload_url needs --upload', 'name what to upload: --upload zip, --upload deb, or both');
  }
  for (const kind of options.upload) {
    if (kind !== 'zip' && kind !== 'deb' && kind !== 'rpm') throw new UsageError(`cannot upload "${kind}"`, 'valid choices: zip, deb, rpm');
    if (kind === 'zip' && !options.zipPack) throw new UsageError('--upload zip: this build makes no zip', 'add --zip_pack');
    if ((kind === 'deb' || kind === 'rpm') && !options.installer?.includes(kind)) throw new UsageError(`--upload ${kind}: this build makes no .${kind}`, `add --installer ${kind}`);
  }
  if (options.installerName && options.installer === undefined) {
    throw new UsageError('--installer_name needs --installer', 'e.g. --installer deb --installer_name hello.deb');
  }
  if (options.retries !== undefined && (!Number.isInteger(options.retries) || options.retries < 0)) {
    throw new UsageError(`--retries must be a whole number >= 0, not "${options.retries}"`);
  }
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1)) {
    throw new UsageError(`--jobs must be a whole number >= 1, not "${options.jobs}"`);
  }
}

/** Prints the system target's parameters (`aiop build TARGET -h`). */
export async function buildTargetHelp(systemTarget: string, io: BuildCommandIo): Promise<number> {
  const root = await findPlaybookRoot(io.cwd);
  const playbook = await loadPlaybook(root);
  io.stdout.write(`${targetHelp(playbook.inventory, systemTarget)}\n`);
  return 0;
}

/** The no-op key of a build request, or undefined when the request must always do work. */
function fastPathKey(options: BuildOptions, io: BuildCommandIo, root: string): string | undefined {
  if (options.upload.length > 0 || options.gotoPack || options.force) return undefined;
  return noopKey(io.argv, root, io.env, VERSION);
}

/**
 * Whether the next build may run from a delta record of this one (src/store/delta.ts): it
 * ran in the package folder itself (so the recorded commands name the right folder) and its
 * only outputs are the folder and its manifest, which a changed file inside does not change.
 */
function deltaAllowed(plan: PackageBuildPlan): boolean {
  const { options } = plan;
  return plan.dest.inPlace && !options.zipPack && plan.deb === undefined && plan.rpm === undefined && options.upload.length === 0 && !options.gotoPack;
}

/**
 * Runs `aiop build`. Returns the exit status; expected failures are thrown as AiopError.
 * A request that changes nothing was answered before this (src/session/noop-replay.ts).
 */
export async function buildCommand(options: BuildOptions, io: BuildCommandIo): Promise<number> {
  machineReadableFailures('aiop', options.machineReadable);
  checkOptionCombinations(options);
  const root = await findPlaybookRoot(io.cwd);
  const key = fastPathKey(options, io, root);
  if (key !== undefined) dropNoop(root, key);
  const { config: userConfig, file: userConfigFile } = await loadUserConfig(io.env);
  const playbook = await loadPlaybook(root);
  const target = resolveTarget(playbook.inventory, options.systemTarget, options.compatArgs);


  const controller = new AbortController();
  const ctx = { playbook, userConfig, emit: () => undefined, signal: controller.signal, env: io.env, ...(io.unchanged ? { seen: io.unchanged } : {}) };
  let plan = await planPackageBuild(target, options, ctx);
  // Checked: from here on things are written, starting with the log file.
  const { stream, reporters, fail } = await startReporting({ program: 'aiop', options, userConfig, root, logName: target.id, env: io.env });
  // Listening from here, so that a build waiting for the lock also ends with 130 on Ctrl-C.
  const stopListening = onInterrupt(controller);
  // One writer per package; planned again once the lock is held, since a build that held
  // it may have changed the destination and the build record.
  let lock: PackageLock | undefined;
  try {
    lock = await acquirePackageLock(packageStateDir(root, target.id), { emit: stream.emit, pkg: target.id, signal: controller.signal });
    // The plan depends on the build record (destination, in place or not); planning is most of
    // an incremental build's own time on a large recipe, so it is only done again when another
    // build changed that record meanwhile.
    const record = await readBuildRecord(plan.stateDir);
    if (JSON.stringify(record) !== JSON.stringify(plan.record)) plan = await planPackageBuild(target, options, ctx);
  } catch (error) {
    stopListening();
    await lock?.release();
    if (error instanceof AiopError) await fail(error, target.id, target.id);
    else await reporters.close();
    throw error;
  }
  plan.ctx.emit = stream.emit;
  await ensureAiopGitignore(root);
  await recordLastBuild(root, io.argv);
  const outputs: AiopEvent[] = [];
  stream.subscribe((event) => {
    if (event.type === 'output') outputs.push(event);
  });
  const started = Date.now();
  stream.emit({ type: 'package-start', pkg: target.id, systemTarget: target.systemTarget, compat: Object.fromEntries(target.values) });
  try {
    const result = await runPackageBuild(plan);
    stream.emit({ type: 'package-done', pkg: target.id, ok: true, durationMs: Date.now() - started, ...(reporters.logFile ? { logFile: reporters.logFile } : {}) });
    if (key !== undefined) {
      const inputs = [join(root, '.aiop', 'inventory_config.yml'), ...playbook.recipe.files, userConfigFile ?? userConfigPath(io.env), ...result.sources, result.packageDir];
      const entries = result.outputs.entries.map((p) => join(result.packageDir, p));
      const paths = [...inputs, ...entries, ...result.outputs.files.filter((f) => f.kind !== 'folder').map((f) => f.path)];
      const context: NoopContext = {
        pkg: target.id,
        options,
        userConfig,
        compat: Object.fromEntries(target.values),
        targets: result.engine.ran.length + result.engine.upToDate.length,
        lockFile: lockPath(packageStateDir(root, target.id)),
        layout: { inputs: inputs.length, entries: entries.length, folders: result.outputs.folders },
      };
      const { signatures, saved } = result.engine;
      if (deltaAllowed(plan) && signatures && saved) {
        const delta = await writeDelta(root, key, {
          graph: plan.graph,
          planned: plan.planned,
          signatures,
          saved,
          scope: plan.scope.layers,
          pkgDir: result.packageDir,
          statePath: join(plan.stateDir, 'signatures.json'),
        });
        if (delta !== undefined) context.delta = delta;
      }
      await writeNoop(root, key, paths, outputs, context as unknown as Record<string, unknown>, statsToReuse(io.unchanged, { packageDir: result.packageDir, ran: result.engine.ran, folders: result.outputs.folders, files: result.outputs.files.map((f) => f.path) }));
    }
    await reporters.close();
    return 0;
  } catch (error) {
    if (error instanceof AiopError) {
      stream.emit({ type: 'package-done', pkg: target.id, ok: false, error: error.message, durationMs: Date.now() - started, ...(reporters.logFile ? { logFile: reporters.logFile } : {}) });
      await fail(error, target.id, target.id);
    } else await reporters.close();
    throw error;
  } finally {
    stopListening();
    await lock?.release();
  }
}
