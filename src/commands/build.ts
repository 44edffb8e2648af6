/**
 * `aiop build {system_target} {params}`: builds one package from the playbook in the
 * current folder, recording the command line for `aiop build_again`.
 */
import { resolve } from 'node:path';
import { VERSION } from '../core/version.js';
import { UsageError } from '../core/errors.js';
import { UPLOAD_URL_HINT, uploadUrlProblem } from '../core/url.js';
import { checkSourceDateEpoch } from '../pack/source-date.js';
import { resolveTarget, targetHelp } from '../playbook/compat.js';
import type { BuildOptions } from '../options/build-options.js';
import { planPackageBuild, runFullBuild } from '../session/full-build.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { loadPlaybook } from '../playbook/load.js';
import { loadUserConfig, userConfigPath } from '../playbook/user-config.js';
import { noopKey, dropNoop, type Unchanged } from '../store/noop.js';
import { machineReadableFailures } from '../session/reporting.js';
import { Session } from '../session/session.js';

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

/**
 * Checks what needs no playbook (exit 2 before anything runs): option combinations, the upload
 * URL and, for a build that packs, SOURCE_DATE_EPOCH.
 */
export function checkOptionCombinations(options: BuildOptions, env: NodeJS.ProcessEnv = {}): void {
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
  const badUrl = options.uploadUrl === undefined ? undefined : uploadUrlProblem(options.uploadUrl);
  if (badUrl !== undefined) throw new UsageError(`--upload_url ${badUrl}`, UPLOAD_URL_HINT);
  if (options.installerName && options.installer === undefined) {
    throw new UsageError('--installer_name needs --installer', 'e.g. --installer deb --installer_name hello.deb');
  }
  if (options.signingKey !== undefined && !options.installer?.includes('rpm')) {
    throw new UsageError('--signing_key needs --installer rpm', 'the key signs the .rpm; an apt repository is signed by aiop repo apt --signing_key');
  }
  if (options.retries !== undefined && (!Number.isInteger(options.retries) || options.retries < 0)) {
    throw new UsageError(`--retries must be a whole number >= 0, not "${options.retries}"`);
  }
  if (options.jobs !== undefined && (!Number.isInteger(options.jobs) || options.jobs < 1)) {
    throw new UsageError(`--jobs must be a whole number >= 1, not "${options.jobs}"`);
  }
  if (options.zipPack || (options.installer?.length ?? 0) > 0) checkSourceDateEpoch(env);
}

/** Prints the system target's parameters (`aiop build TARGET -h`). */
export async function buildTargetHelp(systemTarget: string, io: BuildCommandIo): Promise<number> {
  const root = await findPlaybookRoot(io.cwd);
  const playbook = await loadPlaybook(root);
  io.stdout.write(`${targetHelp(playbook.inventory, systemTarget)}\n`);
  return 0;
}

/**
 * Runs `aiop build` through a build session with the full strategy. Returns the exit status;
 * expected failures are thrown as AiopError. A request that changes nothing was answered
 * before this (src/session/noop-replay.ts), as was one the delta record could build.
 */
export async function buildCommand(given: BuildOptions, io: BuildCommandIo): Promise<number> {
  machineReadableFailures('aiop', given.machineReadable);
  checkOptionCombinations(given, io.env);
  // A key file is named relative to where the command was typed, not to the playbook.
  const options = given.signingKey === undefined ? given : { ...given, signingKey: resolve(io.cwd, given.signingKey) };
  const root = await findPlaybookRoot(io.cwd);
  // Uploads, --goto_pack and --force always do their work: they are never answered from a record.
  const key = options.upload.length > 0 || options.gotoPack || options.force ? undefined : noopKey(io.argv, root, io.env, VERSION);
  if (key !== undefined) dropNoop(root, key);
  const { config: userConfig, file: userConfigFile } = await loadUserConfig(io.env);
  const playbook = await loadPlaybook(root);
  const target = resolveTarget(playbook.inventory, options.systemTarget, options.compatArgs);
  const ctx = { playbook, userConfig, emit: () => undefined, env: io.env, ...(io.unchanged ? { seen: io.unchanged } : {}) };
  // Everything is checked before the session writes anything, starting with the log file.
  const plan = await planPackageBuild(target, options, ctx);
  const session = await Session.open({ program: 'aiop', options, userConfig, root, logName: target.id, env: io.env });
  const recording = key === undefined ? undefined : { key, userConfig, userConfigFile: userConfigFile ?? userConfigPath(io.env), ...(io.unchanged ? { unchanged: io.unchanged } : {}) };
  try {
    await session.runPackage(
      { pkg: target.id, systemTarget: target.systemTarget, compat: Object.fromEntries(target.values), lock: { stateDir: plan.stateDir } },
      (run) => runFullBuild(plan, run, { lastBuildArgv: io.argv, ...(recording ? { recording } : {}) }),
      'throw',
    );
  } catch (error) {
    throw await session.end(error, target.id);
  }
  await session.close();
  return 0;
}
