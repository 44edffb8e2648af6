/**
 * `aap [option]... [assignment]... [target]...` over the recipe engine (SPEC section 3,
 * seed aap-command-line.txt). Two phases, as in A-A-P: first read every recipe (main and
 * children) and check everything that can be checked (targets, variables, cycles) without
 * writing; then run the `-c` commands, then build.
 *
 * Settled points (also in docs/aap.md):
 * - Without `-u` the current folder must be the playbook root, except with `-f` (a file, a URL
 *   or NONE), which also works outside any playbook: then the current folder stands in for the
 *   root, and only what needs a playbook ($name, $version, its variables) is missing.
 * - Child recipes are built before their parent; command-line targets are built in every
 *   recipe of the tree that defines them; with no target, each recipe builds its default.
 * - `-c` commands run with the playbook root as working folder, like recipe commands.
 *   With `-n` or `-t` only `:print` runs; every other `-c` command is reported, not run.
 *
 * This file locates the recipe and opens the build session; what is built, and how, is
 * src/session/aap-build.ts.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { AiopError, UsageError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { recipeSource, type AapInvocation, type AapOptions } from '../options/aap-options.js';
import { TraceRecorder } from '../engine/profile.js';
import { searchPlaybookRootUpward, findPlaybookRoot, INVENTORY_PATH } from '../playbook/find-root.js';
import { loadUserConfig } from '../playbook/user-config.js';
import type { UserConfig } from '../playbook/schema.js';
import type { FetchSettings } from '../artifacts/place.js';
import { aapFetch, aapFetchSettings } from '../artifacts/aap-fetch.js';
import { installTool, toolBinDir, toolDir, type ToolSpec } from './aap-install.js';
import { fetchesRecipe, runAapBuild, type Located } from '../session/aap-build.js';
import { Session } from '../session/session.js';

/** Where `aap` talks to the world. */
export interface AapIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The words of the command that runs this aap (the recipe's `$AAP`, shell-quoted). */
  self: readonly string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Asks a yes/no question on a terminal; undefined when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>;
}

/** Asks on the terminal when stdin and stderr are both terminals; else undefined. */
export function terminalConfirm(): AapIo['confirm'] {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  };
}

/**
 * Runs a parsed `aap` command line through a build session (its console is aap's own, in
 * src/report/aap-console.ts). Returns the exit status; expected failures are thrown.
 */
export async function aapCommand(invocation: AapInvocation, io: AapIo): Promise<number> {
  const { options } = invocation;
  const { config: userConfig } = await loadUserConfig(io.env);
  const session = await Session.open({
    program: 'aap',
    options: {
      // -S wins over -v: only errors are shown.
      verbose: options.verbose && !options.silent,
      stdoutLogLevel: options.silent ? 'ERROR' : userConfig.stdout_log_level,
      fileLogLevel: 'DISABLED',
      hideProgress: true,
      machineReadable: options.machineReadable,
    },
    userConfig,
    root: io.cwd,
    logName: 'aap',
    env: io.env,
    extra: { aap: { debug: options.debug, nobuild: options.nobuild }, stdout: io.stdout, stderr: io.stderr },
  });
  try {
    const status =
      options.install !== undefined
        ? await installCommand(options.install, options, userConfig, io, session.emit, session.signal)
        : await buildCommand(invocation, userConfig, io, session);
    await session.close();
    return status ?? 0;
  } catch (error) {
    const interrupted = session.signal.aborted && !(error instanceof AiopError && error.reason === 'interrupted');
    throw await session.end(interrupted ? new AiopError('interrupted', 'aap interrupted') : error, 'aap');
  }
}

async function installCommand(
  name: string,
  options: AapOptions,
  userConfig: UserConfig,
  io: AapIo,
  emit: Emit,
  signal: AbortSignal,
): Promise<number> {
  const tools: ToolSpec[] = [];
  // The playbook's own tools come first; outside a playbook only the user's are known.
  const root = options.up ? await searchPlaybookRootUpward(io.cwd) : existsSync(join(io.cwd, INVENTORY_PATH)) ? io.cwd : undefined;
  if (root !== undefined) {
    const { loadFresh } = await import('../playbook/load-fresh.js');
    tools.push(...((await loadFresh(root, null, [])).playbook.inventory.tools ?? []));
  }
  tools.push(...(userConfig.tools ?? []));
  if (options.nobuild) {
    if (!tools.some((t) => t.name === name)) throw new AiopError('config', `no tool named "${name}" is declared under tools:`);
    emit({ type: 'log', level: 'INFO', source: 'install', message: `-n: would install ${name} into ${toolDir(userConfig, io.env)}` });
    return 0;
  }
  await installTool(name, tools, { dir: toolDir(userConfig, io.env), settings: aapFetchSettings(userConfig, io.env, emit, signal) });
  return 0;
}

async function locate(invocation: AapInvocation, io: AapIo, settings: FetchSettings): Promise<Located> {
  const { options, targets } = invocation;
  const source = recipeSource(options.recipe);
  let root: string;
  let hasPlaybook = true;
  if (options.up) {
    const found = await searchPlaybookRootUpward(io.cwd);
    if (found === undefined) {
      throw new AiopError('not-playbook', `-u: no playbook (${INVENTORY_PATH}) in ${resolve(io.cwd)} or any folder above it`);
    }
    root = found;
  } else if (existsSync(join(io.cwd, INVENTORY_PATH))) {
    root = resolve(io.cwd);
  } else if (source.kind !== 'default') {
    // A recipe named with -f (or none) needs no playbook: the current folder stands in for its root.
    root = resolve(io.cwd);
    hasPlaybook = false;
  } else {
    root = await findPlaybookRoot(io.cwd); // throws, naming the nearest root above
  }

  switch (source.kind) {
    case 'default':
      return { root, hasPlaybook, recipeFile: undefined };
    case 'none':
      return { root, hasPlaybook, recipeFile: null };
    case 'file': {
      const file = resolve(io.cwd, source.path);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new UsageError(`-f: recipe file ${file} does not exist`, 'give a path relative to the current folder, an http(s) URL, or NONE');
      return { root, hasPlaybook, recipeFile: file };
    }
    case 'url': {
      const name = basename(decodeURIComponent(source.url.pathname));
      if (name === '' || name === '.' || name === '..') {
        throw new UsageError(`-f: the URL ${source.url.href} does not end in a file name`, 'e.g. -f http://example.com/recipes/recipe.yml');
      }
      if (options.nobuild) {
        // -n writes nothing here: the recipe is read from a scratch copy.
        const scratch = await mkdtemp(join(tmpdir(), 'aap-recipe-'));
        const file = join(scratch, name);
        await downloadRecipe(source.url.href, file, settings);
        return { root, hasPlaybook, recipeFile: file, scratch };
      }
      const file = resolve(io.cwd, name);
      const refetch = fetchesRecipe(invocation);
      if (existsSync(file)) {
        if (options.nofetchRecipe) return { root, hasPlaybook, recipeFile: file };
        if (!refetch) {
          const ok = io.confirm ? await io.confirm(`aap: ${file} already exists: overwrite?`) : false;
          if (!ok) {
            throw new UsageError(
              `-f: ${file} already exists; not overwriting it${io.confirm ? '' : ' (no terminal to ask on)'}`,
              'use -R to fetch the recipe again, -N to use the local copy, or remove the file',
            );
          }
        }
      } else if (options.nofetchRecipe) {
        throw new UsageError(`-f: ${file} does not exist and -N says not to fetch it`, 'drop -N to download the recipe');
      }
      await downloadRecipe(source.url.href, file, settings);
      return { root, hasPlaybook, recipeFile: file };
    }
  }
}

/** A recipe is fetched to be read as it is now: never from the cache, but retried like any download. */
async function downloadRecipe(url: string, file: string, settings: FetchSettings): Promise<void> {
  const { fetchUrl } = await import('../artifacts/place.js');
  await fetchUrl(url, file, { ...settings, noCaching: true });
  settings.emit({ type: 'log', level: 'INFO', source: 'aap', message: `fetched recipe ${url} -> ${file}` });
}

async function buildCommand(invocation: AapInvocation, userConfig: UserConfig, io: AapIo, session: Session): Promise<number> {
  const { options } = invocation;
  const { emit, signal } = session;
  const settings = aapFetchSettings(userConfig, io.env, emit, signal);
  const located = await locate(invocation, io, settings);
  const recorder = options.profile !== undefined ? new TraceRecorder() : undefined;
  if (recorder) session.subscribe(recorder.record);
  // fetch and update get every remote file anew, once for the run (as -a does); the build then uses those.
  const fetcher = aapFetch({ nocache: options.nocache || invocation.targets.some((t) => t === 'fetch' || t === 'update'), settings });
  let built = false;
  try {
    // The run is one package, "aap", from the first command run on: a problem found while reading
    // and checking (exit 2) ends it before it starts, as it does for aiop build.
    const inPackage = async (lockDir: string | undefined, body: () => Promise<number>): Promise<number> =>
      (await session.runPackage({ pkg: 'aap', systemTarget: '', compat: {}, lock: lockDir === undefined ? 'none' : { stateDir: lockDir } }, body, 'throw')) ?? 0;
    const buildIo = { cwd: io.cwd, env: io.env, self: io.self, toolBinDir: toolBinDir(userConfig, io.env) };
    const status = await runAapBuild(invocation, located, userConfig, buildIo, emit, signal, fetcher.fetch, inPackage);
    built = true;
    return status;
  } finally {
    await fetcher.close();
    if (located.scratch) await rm(located.scratch, { recursive: true, force: true });
    // The profile is written whatever happened: a failed build is worth looking at too.
    if (recorder && options.profile !== undefined) {
      const file = resolve(io.cwd, options.profile);
      try {
        await recorder.write(file);
        emit({ type: 'log', level: 'INFO', source: 'aap', message: `profile written to ${file}` });
      } catch (error) {
        const message = `--profile: cannot write ${file}: ${(error as Error).message}`;
        // Do not hide the build's own failure behind this one.
        if (built) throw new AiopError('command', message);
        emit({ type: 'log', level: 'ERROR', source: 'aap', message });
      }
    }
  }
}
