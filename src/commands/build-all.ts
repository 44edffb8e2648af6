/**
 * `aiop build_all [--threads N]`: builds every package of `.aiop/packages.yml`, N at once
 * in this process (one failing package does not stop the others), or, inside a CI
 * pipeline, writes the list as a dynamic pipeline for the CI system to build.
 */
import { resolveSettings } from '../options/settings.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import pLimit from 'p-limit';
import { ConfigError } from '../core/errors.js';
import type { BuildOptions } from '../options/build-options.js';
import { resolveTarget } from '../playbook/compat.js';
import { planPackageBuild, runFullBuild } from '../session/full-build.js';
import { packageStateDir } from '../session/destination.js';
import { buildArgs, expandPackages, type PackageSpec } from '../ci/packages.js';
import { detectCi } from '../ci/detect.js';
import { writeCiPlan } from '../ci/plan.js';
import { jobCommand } from '../ci/command.js';
import type { BuildAllOptions } from '../options/command-options.js';
import { findPlaybookRoot, misnamedPlaybookFiles } from '../playbook/find-root.js';
import { loadPlaybook, type Playbook } from '../playbook/load.js';
import { packagesSchema, type PackagesConfig } from '../playbook/schema.js';
import { loadUserConfig } from '../playbook/user-config.js';
import { parseYamlFile } from '../playbook/yaml-file.js';
import { machineReadableFailures } from '../session/reporting.js';
import { checkOptionCombinations } from './build.js';
import { Session } from '../session/session.js';

export interface BuildAllIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
}

/** Reads and expands packages.yml, with file:line:column on every problem. */
async function readPackages(root: string, playbook: Playbook): Promise<{ config: PackagesConfig; specs: PackageSpec[] }> {
  const file = join(root, '.aiop', 'packages.yml');
  if (!existsSync(file)) {
    const misnamed = await misnamedPlaybookFiles(root, ['packages.yml']);
    if (misnamed.length > 0) throw new ConfigError(misnamed);
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
    const session = await Session.open({ program: 'aiop', options: { ...options, hideProgress: true }, userConfig, root, logName: 'build_all', env: io.env });
    try {
      // The jobs run aiop the way this process was started, unless packages.yml says how.
      const job = await jobCommand(process.argv[1], root, io.env);
      if (config.ci?.command === undefined && job.origin === 'unknown') {
        session.emit({
          type: 'log',
          level: 'WARNING',
          source: 'ci',
          message: 'aiop is neither on PATH nor in this project\'s node_modules: the jobs run "aiop"; set ci.command (and ci.image or ci.before_script) in .aiop/packages.yml to say how they get it',
        });
      }
      const plan = await writeCiPlan(ci, specs, config.ci, { root, emit: session.emit, command: job.command });
      if (ci === 'github') io.stdout.write(plan.stdout);
      else {
        session.emit({
          type: 'log',
          level: 'INFO',
          source: 'ci',
          message: `trigger it from a parent job: trigger: { include: [{ artifact: ${plan.relativeFile}, job: <this job> }], strategy: depend } (see docs/ci.md)`,
        });
      }
    } catch (error) {
      throw await session.end(error, 'build_all');
    }
    await session.close();
    return 0;
  }

  // Every package is checked before any is built: a mistake in one is found at once (exit 2).
  const requests = specs.map((spec) => {
    const buildOptions = parseBuild(buildArgs(spec));
    checkOptionCombinations(buildOptions, io.env);
    const target = resolveTarget(playbook.inventory, spec.systemTarget, spec.compat.map(([name, value]) => `${name}=${value}`));
    return { spec, buildOptions, target };
  });

  // Console logs are off by default (the seed); the summary is always shown.
  const stdoutLogLevel = options.stdoutLogLevel ?? 'DISABLED';
  const session = await Session.open({
    program: 'aiop',
    options: { ...options, stdoutLogLevel },
    userConfig,
    root,
    logName: 'build_all',
    env: io.env,
    extra: { perPackageLogs: true, alwaysShowSummary: true },
    logPathsFrom: io.cwd,
  });
  const limit = pLimit(resolveSettings(options, userConfig).threads);
  let failed = 0;
  try {
    await Promise.all(
      requests.map(({ spec, buildOptions, target }) =>
        limit(async () => {
          if (session.signal.aborted) return;
          const ctx = { playbook, userConfig, emit: session.emit, signal: session.signal, env: io.env };
          const built = await session.runPackage(
            { pkg: spec.id, systemTarget: spec.systemTarget, compat: Object.fromEntries(spec.compat), lock: { stateDir: packageStateDir(root, target.id) } },
            async (run) => runFullBuild(await planPackageBuild(target, buildOptions, ctx), run),
            'report',
          );
          if (built === undefined) failed++;
        }),
      ),
    );
  } catch (error) {
    throw await session.end(error, 'build_all');
  }
  await session.close();
  session.throwIfInterrupted('build_all');
  return failed > 0 ? 1 : 0;
}
