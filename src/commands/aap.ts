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
 */
import { resolveSettings } from '../options/settings.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { AiopError, UsageError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { recipeSource, type AapInvocation, type AapOptions } from '../options/aap-options.js';
import { runBuiltin } from '../engine/builtins.js';
import { collectRecipeUnits, type RecipeUnit } from '../engine/children.js';
import { buildGraph, checkMissingSources, type Graph } from '../engine/graph.js';
import { TraceRecorder } from '../engine/profile.js';
import { planCommands, runEngine, type EngineResult } from '../engine/run.js';
import { runShell } from '../engine/shell.js';
import { OutputCapture } from '../engine/capture.js';
import { shellJoin } from '../ci/shell.js';
import { sha256 } from '../engine/state.js';
import { expand, Scope, VariableError } from '../engine/variables.js';
import { searchPlaybookRootUpward, findPlaybookRoot, INVENTORY_PATH } from '../playbook/find-root.js';
import { ensureAiopGitignore, loadPlaybook, loadRecipeFile, type Playbook, type Recipe } from '../playbook/load.js';
import { loadUserConfig } from '../playbook/user-config.js';
import type { UserConfig } from '../playbook/schema.js';
import type { FetchSettings } from '../artifacts/place.js';
import { aapFetch, aapFetchSettings } from './aap-fetch.js';
import { installTool, toolBinDir, toolDir, type ToolSpec } from './aap-install.js';
import { defaultGoals } from '../session/full-build.js';
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

/** The aap state file of one recipe for one `$PKGDIR`. */
export function aapStatePath(root: string, pkgDir: string, recipeDir?: string): string {
  const key = recipeDir === undefined || recipeDir === root ? pkgDir : `${pkgDir}\0${recipeDir}`;
  return join(root, '.aiop', 'state', 'aap', `${sha256(key).slice(0, 16)}.json`);
}

/** The folder of the lock that aap runs building into `pkgDir` take (src/session/lock.ts). */
export function aapLockDir(root: string, pkgDir: string): string {
  return join(root, '.aiop', 'state', 'locks', `aap-${sha256(pkgDir).slice(0, 16)}`);
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

/** Where the main recipe and the playbook come from. */
interface Located {
  /** The playbook root, or the current folder with `-f NONE` outside a playbook. */
  root: string;
  hasPlaybook: boolean;
  /** Absolute recipe file, `null` for none, `undefined` for the default one. */
  recipeFile: string | null | undefined;
  /** A temporary folder to remove at the end (a recipe downloaded under `-n`). */
  scratch?: string;
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

/** Reads the playbook; `-n` bypasses the loader's cache file so that nothing is written. */
async function readPlaybook(root: string, recipeFile: string | null | undefined, includeDirs: string[], write: boolean): Promise<Playbook> {
  if (write) {
    return loadPlaybook(root, { ...(recipeFile === undefined ? {} : { recipeFile }), includeDirs });
  }
  const { loadFresh } = await import('../playbook/load-fresh.js');
  return (await loadFresh(root, recipeFile === undefined ? 'default' : recipeFile, includeDirs.map((d) => resolve(root, d)))).playbook;
}

/** A recipe of the tree with everything needed to build it. */
interface Prepared {
  unit: RecipeUnit;
  scope: Scope;
  goals: string[];
  statePath: string;
  /** Built once the goals are known; sources not found yet are expected in $PKGDIR (made by a child). */
  graph?: Graph;
  planned?: ReturnType<typeof planCommands>;
}

const NO_RECIPE: Recipe = { variables: {}, targets: {}, children: [], files: [] };

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
    const status = await buildLocated(invocation, located, userConfig, io, emit, signal, fetcher.fetch, inPackage);
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

async function buildLocated(
  invocation: AapInvocation,
  located: Located,
  userConfig: UserConfig,
  io: AapIo,
  emit: Emit,
  signal: AbortSignal,
  fetch: (url: string, dest: string) => Promise<void>,
  inPackage: (lockDir: string | undefined, body: () => Promise<number>) => Promise<number>,
): Promise<number> {
  const { options, targets } = invocation;
  const { root } = located;
  const write = !options.nobuild;
  const includeDirs = options.include.map((d) => resolve(io.cwd, d));

  let playbook: Playbook | undefined;
  let main = NO_RECIPE;
  if (located.hasPlaybook) {
    playbook = await readPlaybook(root, located.recipeFile, includeDirs, write);
    main = playbook.recipe;
  } else if (typeof located.recipeFile === 'string') {
    main = await loadRecipeFile(root, located.recipeFile, { includeDirs });
  }
  const assignments = Object.fromEntries(invocation.assignments);
  const pkgDir = assignments.PKGDIR !== undefined && assignments.PKGDIR !== '' ? resolve(io.cwd, assignments.PKGDIR) : join(root, '.build', 'aap');
  assignments.PKGDIR = pkgDir;
  const builtins: Record<string, string> = { PKGDIR: pkgDir, PLAYBOOK: root, AAP: shellJoin(io.self) };
  if (playbook) {
    builtins.name = playbook.inventory.package.name;
    builtins.version = String(playbook.inventory.package.version);
  }
  const playbookVars = Object.fromEntries(Object.entries(playbook?.inventory.variables ?? {}).map(([k, v]) => [k, String(v)]));

  const loadChild = async (recipeFile: string): Promise<Recipe> => {
    if (!existsSync(recipeFile)) throw new AiopError('config', `child recipe ${relative(root, recipeFile)} does not exist (listed under children:)`);
    if (!located.hasPlaybook) return loadRecipeFile(root, recipeFile, { includeDirs });
    const { loadFresh } = await import('../playbook/load-fresh.js');
    return (await loadFresh(root, recipeFile, includeDirs)).playbook.recipe;
  };
  const units = located.recipeFile !== null ? await collectRecipeUnits(root, main, options.local, loadChild) : [];
  const prepared: Prepared[] = units.map((unit) => ({
    unit,
    scope: new Scope([{ ...builtins, RECIPEDIR: unit.dir }, playbookVars, ...unit.inherited, unit.recipe.variables, assignments]),
    goals: [],
    statePath: aapStatePath(root, pkgDir, unit.dir),
  }));
  const mainScope = prepared.at(-1)?.scope ?? new Scope([{ ...builtins, RECIPEDIR: root }, playbookVars, assignments]);

  // fetch, update and refresh are actions of aap, unless a recipe of the tree defines a target of that name.
  const actions = new Set(targets.filter((t) => isAction(t) && !prepared.some((p) => definesTarget(p, t, pkgDir, p === prepared.at(-1)))));
  const asked = targets.filter((t) => !actions.has(t));
  const fetching = actions.has('fetch') || actions.has('update');

  // Goals: command-line targets in every recipe that defines them, else each recipe's default
  // (with no target at all, or with `update` and no other target).
  if (asked.length > 0) {
    const unknown = new Set(asked);
    for (const p of prepared) {
      for (const goal of asked) {
        if (definesTarget(p, goal, pkgDir, p === prepared.at(-1))) {
          p.goals.push(goal);
          unknown.delete(goal);
        }
      }
    }
    if (unknown.size > 0) {
      const names = prepared.flatMap((p) => Object.keys(p.unit.recipe.targets));
      const goal = [...unknown][0]!;
      const shown = names.length > 0 ? `targets: ${[...new Set(names)].slice(0, 20).join(', ')}` : 'the recipe defines no targets';
      const expanded = expand(goal, mainScope, `target "${goal}"`);
      throw new AiopError('config', `no target named "${goal}"${expanded === goal ? '' : ` (expanded: "${expanded}")`} in the recipe${options.local ? '' : ' or its children'}; ${shown}`);
    }
  } else if (actions.has('update') || (targets.length === 0 && options.commands.length === 0)) {
    for (const p of prepared) p.goals.push(...defaultGoals(p.unit.recipe));
  }
  // What `fetch` and `update` get: every :fetch of every target of the tree, expanded now like any command.
  const fetches = fetching ? prepared.flatMap((p) => fetchCommands(p, pkgDir, emit, options.debug)) : [];

  // Check every graph and every command before anything is written or run.
  const planned = prepared.filter((p) => p.goals.length > 0);
  for (const p of planned) {
    p.graph = graphFor(p, pkgDir);
    p.planned = planCommands({ graph: p.graph, scope: p.scope, pkgDir, emit, debug: options.debug, ...(p.unit.label ? { pkg: p.unit.label } : {}) });
  }

  // Two runs building into the same folder wait for each other, as two aiop builds of a package do; -n writes nothing.
  return inPackage(write ? aapLockDir(root, pkgDir) : undefined, async () => {
    // Outside a playbook the signatures still go to .aiop/state/ of the folder standing in for its root.
    if (write && (located.hasPlaybook || planned.length > 0)) await ensureAiopGitignore(root);
    const binDir = toolBinDir(userConfig, io.env);
    const env: NodeJS.ProcessEnv = { ...io.env, PATH: `${binDir}${io.env.PATH ? `:${io.env.PATH}` : ''}` };

    for (const command of options.commands) {
      await runTopCommand(command, { scope: mainScope, cwd: root, emit, env, signal, fetch, options });
    }
    if (actions.has('refresh') && !fetchesRecipe(invocation)) {
      const why = options.nofetchRecipe ? '-N says not to fetch it' : 'it is not a URL given with -f';
      emit({ type: 'log', level: 'INFO', source: 'aap', message: `refresh: the recipe was not fetched: ${why}` });
    }
    if (fetching) await fetchAll(fetches, { emit, fetch, dryRun: options.nobuild });
    if (planned.length === 0) {
      if (options.commands.length === 0 && actions.size === 0) emit({ type: 'log', level: 'INFO', source: 'aap', message: 'nothing to build: the recipe has no targets' });
      return 0;
    }

    const changed = options.changed.map((f) => resolve(io.cwd, f));
    for (const file of changed) {
      if (!existsSync(file)) emit({ type: 'log', level: 'WARNING', source: 'aap', message: `--changed ${file}: no such file` });
    }
    const jobs = resolveSettings(options, userConfig).jobs;
    const failed: Array<{ target: string; message: string }> = [];
    let ran = 0;
    let upToDate = 0;
    for (const p of planned) {
      if (failed.length > 0 && !options.continue) break;
      const pkg = p.unit.label;
      const graph = p.graph!;
      try {
        // A dry run makes nothing, so what a child would have made is not there to check.
        if (!options.nobuild) checkMissingSources(graph, p.unit.dir);
      } catch (error) {
        // With -k, a failed child may not have made what its parent needs: that is one more failure, not a new kind of error.
        if (!(error instanceof AiopError) || failed.length === 0) throw error;
        failed.push({ target: pkg ?? '(main recipe)', message: error.message });
        continue;
      }
      const result: EngineResult = await runEngine({
        graph,
        planned: p.planned!,
        scope: p.scope,
        playbookRoot: p.unit.dir,
        pkgDir,
        statePath: p.statePath,
        jobs,
        emit,
        ...(pkg ? { pkg } : {}),
        signal,
        env,
        fetch,
        force: options.force,
        contentsOnly: options.contents,
        dryRun: options.nobuild,
        touch: options.touch,
        keepGoing: options.continue,
        changed,
        debug: options.debug,
      });
      if (signal.aborted) throw new AiopError('interrupted', 'aap interrupted');
      ran += result.ran.length;
      upToDate += result.upToDate.length;
      for (const f of result.failed) failed.push({ target: pkg ? `${pkg}: ${f.target}` : f.target, message: f.message });
    }
    for (const f of failed) emit({ type: 'failure', target: f.target, message: f.message });
    if (failed.length > 0) {
      const list = failed.map((f) => `  ${f.target}: ${f.message}`).join('\n');
      throw new AiopError('command', [`failed targets (${failed.length}), each with its error:`, list].join('\n'));
    }
    if (!options.nobuild) {
      // Like `aiop build`: the folder the recipe built into is the run's artifact (machine-readable `artifact` lines).
      const files = prepared.flatMap((p) => (p.graph?.order ?? []).flatMap((node) => (node.outPath !== undefined && existsSync(node.outPath) ? [node.outPath] : [])));
      emit({ type: 'output', pkg: 'aap', kind: 'folder', id: pkgDir, description: `aap build into ${pkgDir}`, files: [...new Set(files)].sort() });
    }
    const verb = options.nobuild ? 'would run' : options.touch ? 'touched' : 'ran';
    emit({
      type: 'log',
      level: 'INFO',
      source: 'aap',
      message: ran === 0 && !options.touch ? `everything is up to date (${upToDate} targets)` : `${verb} ${options.touch ? upToDate : ran} targets${options.touch ? '' : `, ${upToDate} up to date`}`,
    });
    return 0;
  });
}


/** The targets that are actions of aap itself (seed: fetch, update, refresh), when no recipe defines them. */
const ACTIONS = ['fetch', 'update', 'refresh'] as const;

function isAction(target: string): target is (typeof ACTIONS)[number] {
  return (ACTIONS as readonly string[]).includes(target);
}

/** Whether a `-f URL` recipe is downloaded again: `-R`, or a `refresh`, `fetch` or `update` target, unless `-N`. */
function fetchesRecipe(invocation: AapInvocation): boolean {
  const { options, targets } = invocation;
  if (recipeSource(options.recipe).kind !== 'url') return false;
  return options.fetchRecipe || (!options.nofetchRecipe && targets.some(isAction));
}

/** One `:fetch` of a recipe, expanded, with the folder its destination is relative to. */
interface FetchCommand {
  command: string;
  cwd: string;
  /** The recipe's folder relative to the root (children), for messages. */
  pkg?: string;
}

/** Every `:fetch` command of every target of one recipe, expanded as it would be when the target is made. */
function fetchCommands(p: Prepared, pkgDir: string, emit: Emit, debug: AapOptions['debug']): FetchCommand[] {
  const graph = buildGraph({
    defs: p.unit.recipe.targets,
    scope: p.scope,
    pkgDir,
    playbookRoot: p.unit.dir,
    goals: Object.values(p.unit.recipe.targets).map((def) => def.name),
    sourceRoots: [pkgDir],
    deferMissingSources: true,
  });
  const planned = planCommands({ graph, scope: p.scope, pkgDir, emit, debug, ...(p.unit.label ? { pkg: p.unit.label } : {}) });
  return graph.order.flatMap((node) =>
    planned
      .get(node)!
      .commands.filter((c) => /^:fetch(\s|$)/.test(c))
      .map((command) => ({ command, cwd: p.unit.dir, ...(p.unit.label ? { pkg: p.unit.label } : {}) })),
  );
}

/** `fetch`: runs the `:fetch` commands, each URL once, building nothing; under -n only says what it would get. */
async function fetchAll(
  fetches: FetchCommand[],
  ctx: { emit: Emit; fetch: (url: string, dest: string) => Promise<void>; dryRun: boolean },
): Promise<void> {
  const { emit } = ctx;
  const unique = [...new Map(fetches.map((f) => [`${f.cwd}\0${f.command}`, f])).values()];
  if (unique.length === 0) {
    emit({ type: 'log', level: 'INFO', source: 'aap', message: 'fetch: the recipe names no remote file (no :fetch command)' });
    return;
  }
  let got = 0;
  for (const f of unique) {
    const at = f.pkg ? { pkg: f.pkg } : {};
    if (ctx.dryRun) {
      emit({ type: 'log', level: 'INFO', source: 'aap', ...at, message: `-n: would ${f.command}` });
      continue;
    }
    emit({ type: 'command', ...at, target: 'fetch', command: f.command, builtin: true });
    try {
      await runBuiltin(f.command.slice(1), {
        cwd: f.cwd,
        expandTemplate: (text) => text,
        print: (text) => emit({ type: 'log', level: 'INFO', source: 'recipe', ...at, message: text }),
        shell: () => Promise.reject(new AiopError('command', 'fetch runs only :fetch commands')),
        fetch: async (url, dest) => {
          await ctx.fetch(url, dest);
          got++;
          emit({ type: 'log', level: 'INFO', source: 'aap', ...at, message: `fetched ${url} -> ${relative(f.cwd, dest) || dest}` });
        },
      });
    } catch (error) {
      if (error instanceof AiopError) throw new AiopError(error.reason, `fetch: ${f.command}: ${error.message}`);
      if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') throw new AiopError('command', `fetch: ${f.command}: ${error.message}`);
      throw error;
    }
  }
  if (!ctx.dryRun) emit({ type: 'log', level: 'INFO', source: 'aap', message: `fetched ${got} remote file${got === 1 ? '' : 's'}` });
}

function graphFor(p: Prepared, pkgDir: string): Graph {
  return buildGraph({
    defs: p.unit.recipe.targets,
    scope: p.scope,
    pkgDir,
    playbookRoot: p.unit.dir,
    goals: p.goals,
    sourceRoots: [pkgDir],
    deferMissingSources: true,
  });
}

/** Whether a command-line target names a target of this recipe (same rules as the graph's lookup). */
function definesTarget(p: Prepared, goal: string, pkgDir: string, isMain: boolean): boolean {
  let expanded: string;
  try {
    expanded = expand(goal, p.scope, `target "${goal}"`);
  } catch (error) {
    // A variable set only in another recipe of the tree: this one does not define the target.
    if (error instanceof VariableError && !isMain) return false;
    throw error;
  }
  const nodes = buildGraph({ defs: p.unit.recipe.targets, scope: p.scope, pkgDir, playbookRoot: p.unit.dir, goals: [], deferMissingSources: true }).nodes;
  if (nodes.has(expanded)) return true;
  if (isAbsolute(expanded)) {
    const rel = relative(pkgDir, expanded);
    return !rel.startsWith('..') && !isAbsolute(rel) && nodes.has(rel.split(sep).join('/'));
  }
  return nodes.has(posix.normalize(expanded.replace(/\\/g, '/')).replace(/\/$/, ''));
}

interface TopContext {
  scope: Scope;
  cwd: string;
  emit: Emit;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  fetch: (url: string, dest: string) => Promise<void>;
  options: AapOptions;
}

/** Runs one `-c` command: a built-in, or a shell command when it does not start with ':'. */
async function runTopCommand(raw: string, ctx: TopContext): Promise<void> {
  const { emit, options } = ctx;
  const command = expand(raw, ctx.scope, `-c "${raw}"`).trim();
  if (command === '') return;
  const builtin = command.startsWith(':');
  const target = '-c';
  const isPrint = builtin && /^:print(\s|$)/.test(command);
  if ((options.nobuild || options.touch) && !isPrint) {
    emit({ type: 'log', level: 'INFO', source: 'aap', message: `${options.nobuild ? '-n' : '-t'}: not running ${command}` });
    return;
  }
  // Shown in one piece when the command ends, as a recipe command's output is.
  const capture = new OutputCapture();
  const shell = async (line: string): Promise<void> => {
    const outcome = await runShell(line, {
      cwd: ctx.cwd,
      env: ctx.env,
      signal: ctx.signal,
      onOutput: (stream, text) => {
        capture.add(text);
        emit({ type: 'command-output', target, stream, text: `${text}\n` });
      },
    });
    if (outcome.code !== 0) {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with status ${outcome.code}`;
      throw new AiopError('command', `-c: command ${how}: ${line}`);
    }
  };
  emit({ type: 'command', target, command, builtin });
  const started = Date.now();
  let ok = false;
  try {
    if (!builtin) await shell(command);
    else {
      await runBuiltin(command.slice(1), {
        cwd: ctx.cwd,
        expandTemplate: (text) => expand(text, ctx.scope, `template of -c "${raw}"`),
        print: (text) => emit({ type: 'log', level: 'INFO', source: 'recipe', message: text }),
        shell,
        fetch: ctx.fetch,
      });
    }
    ok = true;
  } catch (error) {
    if (error instanceof AiopError) throw new AiopError(error.reason, error.message.startsWith('-c') ? error.message : `-c ${command}: ${error.message}`);
    if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') {
      throw new AiopError('command', `-c ${command}: ${error.message}`);
    }
    throw error;
  } finally {
    const output = capture.text();
    emit({ type: 'command-end', target, command, durationMs: Date.now() - started, ok, ...(output !== undefined ? { output } : {}) });
  }
}
