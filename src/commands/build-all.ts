/**
 * `aiop build_all [--threads N]`: builds every package of `.aiop/packages.yml`, N at once
 * in this process (one failing package does not stop the others), or, inside a CI
 * pipeline, writes the list as a dynamic pipeline for the CI system to build.
 */
import { join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import pLimit from 'p-limit';
import { AiopError, ConfigError } from '../core/errors.js';
import type { BuildOptions } from '../options/build-options.js';
import { resolveTarget } from '../playbook/compat.js';
import { planPackageBuild, runPackageBuild } from '../session/full-build.js';
import { acquirePackageLock } from '../session/lock.js';
import { packageStateDir } from '../session/destination.js';
import { buildArgs, expandPackages, type PackageSpec } from '../ci/packages.js';
import { detectCi } from '../ci/detect.js';
import { writeCiPlan } from '../ci/plan.js';
import type { BuildAllOptions } from '../cli/aiop-args.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { loadPlaybook, ensureAiopGitignore, type Playbook } from '../playbook/load.js';
import { packagesSchema, type PackagesConfig } from '../playbook/schema.js';
import { loadUserConfig } from '../playbook/user-config.js';
import { parseYamlFile } from '../playbook/yaml-file.js';
import { onInterrupt } from '../session/interrupt.js';
import { machineReadableFailures, startReporting } from '../session/reporting.js';

export interface BuildAllIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
}

/** Reads and expands packages.yml, with file:line:column on every problem. */
async function readPackages(root: string, playbook: Playbook): Promise<{ config: PackagesConfig; specs: PackageSpec[] }> {
  const file = join(root, '.aiop', 'packages.yml');
  if (!existsSync(file)) {
    throw new ConfigError([{ message: 'no .aiop/packages.yml in this playbook', hint: 'list the packages to build there (see docs/formats.md), or build one with "aiop build"' }]);
  }
  const parsed = await parseYamlFile(file, packagesSchema, { displayRoot: root });
  const specs = expandPackages(parsed.value, playbook.inventory, {
    locate: (path) => {
      const where = parsed.locate(path);
      return where.location ? { location: where.location, ...(where.sourceLine !== undefined ? { sourceLine: where.sourceLine } : {}) } : undefined;
    },
  });
  return { config: parsed.value, specs };
}

/** Runs `aiop build_all`. */
export async function buildAllCommand(
  options: BuildAllOptions,
  io: BuildAllIo,
  parseBuild: (argv: string[]) => BuildOptions,
): Promise<number> {
  machineReadableFailures('aiop', options.machineReadable);
  const root = await findPlaybookRoot(io.cwd);
  const { config: userConfig } = await loadUserConfig(io.env);
  const playbook = await loadPlaybook(root);
  const { config, specs } = await readPackages(root, playbook);
  const ci = detectCi(options.ci, options.local, io.env);

  if (ci !== undefined) {
    const { stream, reporters } = await startReporting({
      program: 'aiop',
      options: { ...options, hideProgress: true },
      userConfig,
      root,
      logName: 'build_all',
      env: io.env,
    });
    const plan = await writeCiPlan(ci, specs, config.ci, { root, emit: stream.emit });
    if (ci === 'github') io.stdout.write(`${plan.text}\n`);
    else {
      stream.emit({
        type: 'log',
        level: 'INFO',
        source: 'ci',
        message: `trigger it from a parent job: trigger: { include: [{ artifact: ${plan.relativeFile}, job: <this job> }], strategy: depend } (see docs/ci.md)`,
      });
    }
    await reporters.close();
    return 0;
  }

  // Every package is checked before any is built: a mistake in one is found at once (exit 2).
  const controller = new AbortController();
  const requests = specs.map((spec) => {
    const buildOptions = parseBuild(buildArgs(spec));
    const target = resolveTarget(playbook.inventory, spec.systemTarget, spec.compat.map(([name, value]) => `${name}=${value}`));
    return { spec, buildOptions, target };
  });

  // Console logs are off by default (the seed); the summary is always shown.
  const stdoutLogLevel = options.stdoutLogLevel ?? 'DISABLED';
  const { stream, reporters } = await startReporting({
    program: 'aiop',
    options: { ...options, stdoutLogLevel },
    userConfig,
    root,
    logName: 'build_all',
    env: io.env,
    extra: { perPackageLogs: true, alwaysShowSummary: true },
  });
  await ensureAiopGitignore(root);
  const stopListening = onInterrupt(controller);
  const limit = pLimit(options.threads ?? userConfig.threads);
  let failed = 0;
  try {
    await Promise.all(
      requests.map(({ spec, buildOptions, target }) =>
        limit(async () => {
          if (controller.signal.aborted) return;
          const started = Date.now();
          stream.emit({ type: 'package-start', pkg: spec.id, systemTarget: spec.systemTarget, compat: Object.fromEntries(spec.compat) });
          const logFile = (): { logFile?: string } => {
            const file = reporters.packageLogFile(spec.id);
            return file ? { logFile: relative(io.cwd, file) } : {};
          };
          try {
            const ctx = { playbook, userConfig, emit: stream.emit, signal: controller.signal, env: io.env };
            const lock = await acquirePackageLock(packageStateDir(root, target.id), { emit: stream.emit, pkg: spec.id, signal: controller.signal });
            try {
              await runPackageBuild(await planPackageBuild(target, buildOptions, ctx));
            } finally {
              await lock.release();
            }
            stream.emit({ type: 'package-done', pkg: spec.id, ok: true, durationMs: Date.now() - started, ...logFile() });
          } catch (error) {
            if (!(error instanceof AiopError)) throw error;
            failed++;
            stream.emit({ type: 'failure', pkg: spec.id, target: spec.id, message: error.message });
            stream.emit({ type: 'package-done', pkg: spec.id, ok: false, error: error.message, durationMs: Date.now() - started, ...logFile() });
          }
        }),
      ),
    );
  } finally {
    stopListening();
    await reporters.close();
  }
  if (controller.signal.aborted) throw new AiopError('interrupted', 'build_all interrupted');
  return failed > 0 ? 1 : 0;
}
