/**
 * What `aap` builds once its recipe is located (src/commands/aap.ts locates it and opens the
 * build session): every recipe of the tree (main and children) is read and checked first, the
 * goals found, every graph and command planned; then, inside the session's package run (its
 * lock, events and interrupt path), the `-c` commands, the `fetch`/`update` actions and the
 * engine on each recipe, children before their parent.
 */
import { resolveSettings } from '../options/settings.js';
import { existsSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { AiopError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { recipeSource, type AapInvocation, type AapOptions } from '../options/aap-options.js';
import { runBuiltin } from '../engine/builtins.js';
import { collectRecipeUnits, type RecipeUnit } from '../engine/children.js';
import { buildGraph, checkMissingSources, type Graph } from '../engine/graph.js';
import { planCommands, runEngine, type EngineResult } from '../engine/run.js';
import { runShell } from '../engine/shell.js';
import { OutputCapture } from '../engine/capture.js';
import { shellJoin } from '../ci/shell.js';
import { sha256 } from '../engine/state.js';
import { expand, Scope, VariableError } from '../engine/variables.js';
import { ensureAiopGitignore, loadPlaybook, loadRecipeFile, type Playbook, type Recipe } from '../playbook/load.js';
import type { UserConfig } from '../playbook/schema.js';
import { defaultGoals } from './full-build.js';

/** What the build needs of the world around it. */
export interface AapBuildIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The words of the command that runs this aap (the recipe's `$AAP`, shell-quoted). */
  self: readonly string[];
  /** The folder of installed tools (`aap --install`), put first on the commands' PATH. */
  toolBinDir: string;
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

/** Where the main recipe and the playbook come from. */
export interface Located {
  /** The playbook root, or the current folder with `-f NONE` outside a playbook. */
  root: string;
  hasPlaybook: boolean;
  /** Absolute recipe file, `null` for none, `undefined` for the default one. */
  recipeFile: string | null | undefined;
  /** A temporary folder to remove at the end (a recipe downloaded under `-n`). */
  scratch?: string;
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

/**
 * Builds a located `aap` invocation: reads and checks everything first (exit 2 before any
 * command runs), then runs it inside `inPackage` (the session's package run, under the lock of
 * `$PKGDIR` unless `-n`). Returns the exit status; failures are thrown as AiopError.
 */
export async function runAapBuild(
  invocation: AapInvocation,
  located: Located,
  userConfig: UserConfig,
  io: AapBuildIo,
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
    const env: NodeJS.ProcessEnv = { ...io.env, PATH: `${io.toolBinDir}${io.env.PATH ? `:${io.env.PATH}` : ''}` };

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
export function fetchesRecipe(invocation: AapInvocation): boolean {
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
