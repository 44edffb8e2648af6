/**
 * What a successful full build leaves for the next identical one: its no-op record
 * (src/store/noop.ts) and, when the build allows it, its delta record (src/store/delta.ts).
 * Written once the package is finished, under the package's lock.
 */
import { join } from 'node:path';
import type { EventOf } from '../core/events.js';
import { writeDelta } from '../store/delta.js';
import { statsToReuse, writeNoop, type Unchanged } from '../store/noop.js';
import type { UserConfig } from '../playbook/schema.js';
import { lockPath } from './lock.js';
import { packageStateDir } from './destination.js';
import type { PackageBuildPlan, PackageBuildResult } from './full-build.js';
import type { NoopContext } from './noop-replay.js';

/** What the fast paths need besides the build's own result. */
export interface FastPathRecording {
  /** The no-op key of the request (src/store/noop.ts). */
  key: string;
  userConfig: UserConfig;
  /** The user configuration file, read or not: creating it must also end the no-op. */
  userConfigFile: string;
  /** Files the no-op check found unchanged, with their stats (not stat-ed again). */
  unchanged?: Unchanged;
}

/**
 * Whether the next build may run from a delta record of this one: it ran in the package
 * folder itself (so the recorded commands name the right folder) and its only outputs are
 * the folder and its manifest, which a changed file inside does not change.
 */
function deltaAllowed(plan: PackageBuildPlan): boolean {
  const { options } = plan;
  return plan.dest.inPlace && !options.zipPack && plan.deb === undefined && plan.rpm === undefined && options.upload.length === 0 && !options.gotoPack;
}

/** Writes the no-op record (and the delta record when allowed) of a finished build. */
export async function recordForFastPaths(
  plan: PackageBuildPlan,
  result: PackageBuildResult,
  outputs: EventOf<'output'>[],
  recording: FastPathRecording,
): Promise<void> {
  const { target, options } = plan;
  const root = plan.ctx.playbook.root;
  const inputs = [join(root, '.aiop', 'inventory_config.yml'), ...plan.ctx.playbook.recipe.files, recording.userConfigFile, ...(plan.signingKeyFile ? [plan.signingKeyFile] : []), ...result.sources, result.packageDir];
  const entries = result.outputs.entries.map((p) => join(result.packageDir, p));
  const paths = [...inputs, ...entries, ...result.outputs.files.filter((f) => f.kind !== 'folder').map((f) => f.path)];
  const context: NoopContext = {
    pkg: target.id,
    options,
    userConfig: recording.userConfig,
    compat: Object.fromEntries(target.values),
    targets: result.engine.ran.length + result.engine.upToDate.length,
    lockFile: lockPath(packageStateDir(root, target.id)),
    layout: { inputs: inputs.length, entries: entries.length, folders: result.outputs.folders },
  };
  const { signatures, saved } = result.engine;
  if (deltaAllowed(plan) && signatures && saved) {
    const delta = await writeDelta(root, recording.key, {
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
  const known = statsToReuse(recording.unchanged, {
    packageDir: result.packageDir,
    ran: result.engine.ran,
    folders: result.outputs.folders,
    files: result.outputs.files.map((f) => f.path),
  });
  await writeNoop(root, recording.key, paths, outputs, context as unknown as Record<string, unknown>, known);
}
