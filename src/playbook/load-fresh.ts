/**
 * The slow path of {@link loadPlaybook}: reading and validating every YAML file with `yaml` and
 * `zod`, merging recipe includes, and the checks across them. Imported only on a cache miss.
 */
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Diagnostic } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { badFileTargetName, checkInventory } from './checks.js';
import { printable } from './path-values.js';
import { noteUrlsIn, noteVariables } from '../report/known-secrets.js';
import type { FileStamp, FreshLoad, Playbook, Recipe, RecipeTarget } from './load.js';
import { stampOf } from './load.js';
import { inventorySchema, recipeSchema, type RecipeConfig } from './schema.js';
import { parseYamlFile, sortDiagnostics, displayPath, type ParsedYamlFile } from './yaml-file.js';

type ParsedRecipe = ParsedYamlFile<RecipeConfig>;

/** Modules whose code decides what a load returns. */
const LOADER_MODULES = ['./schema.js', './load-fresh.js', './yaml-file.js', './checks.js', './path-values.js', './load.js'];

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function placeText(d: Pick<Diagnostic, 'location'>): string {
  return d.location ? `${d.location.file}:${d.location.line}:${d.location.column}` : '?';
}

/** Reads the inventory and the recipe; throws ConfigError with every problem found. */
export async function loadFresh(root: string, recipeFile: string | null | 'default', includeDirs: string[]): Promise<FreshLoad> {
  const files: FileStamp[] = [];
  const absent: string[] = [];
  const record = (file: string, parsed: ParsedYamlFile<unknown>): void => {
    if (parsed.stats) files.push(stampOf(file, parsed.stats));
  };

  // The loader's own code is part of the key: a changed schema or rule must not serve an old result.
  for (const module of LOADER_MODULES) {
    const path = fileURLToPath(new URL(module, import.meta.url));
    try {
      files.push(stampOf(path, await stat(path)));
    } catch {
      // Not laid out as compiled files (bundled?): the cache format number still guards.
    }
  }

  const inventoryFile = join(root, '.aiop', 'inventory_config.yml');
  const inventory = await parseYamlFile(inventoryFile, inventorySchema, { displayRoot: root });
  record(inventoryFile, inventory);
  const diagnostics = checkInventory(inventory);

  let recipe: Recipe = { variables: {}, targets: {}, children: [], files: [] };
  let mainFile: string | null = recipeFile === 'default' ? join(root, '.aiop', 'recipe.yml') : recipeFile;
  if (recipeFile === 'default' && mainFile !== null && !(await isFile(mainFile))) {
    // A playbook may have no recipe (it only packages artifacts); the file appearing invalidates the cache.
    absent.push(mainFile);
    mainFile = null;
  }
  if (mainFile !== null) {
    try {
      recipe = await loadRecipe(root, mainFile, includeDirs, record, absent, diagnostics);
    } catch (error) {
      // Report the inventory's problems together with the recipe's.
      if (error instanceof ConfigError) throw new ConfigError(sortDiagnostics([...diagnostics, ...error.diagnostics]));
      throw error;
    }
  }
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  const playbook: Playbook = { root, inventory: inventory.value, recipe };
  // Credentials in URLs are masked in every output (a playbook holding any is never cached, so
  // a cache hit has none to note).
  noteUrlsIn(JSON.stringify(playbook));
  noteVariables({ ...inventory.value.variables, ...recipe.variables });
  return { playbook, files, absent };
}

/** Reads one recipe file with its includes (no cache); `diagnostics` collects problems found so far. */
export async function loadRecipe(
  root: string,
  mainFile: string,
  includeDirs: string[],
  record: (file: string, parsed: ParsedYamlFile<unknown>) => void,
  absent: string[],
  diagnostics: Diagnostic[],
): Promise<Recipe> {
  const variables: Record<string, string> = {};
  const targets: Record<string, RecipeTarget> = {};
  const definedIn = new Map<string, ParsedRecipe>();
  const children: string[] = [];
  const filesRead: string[] = [];
  const stack: string[] = [];
  const loaded = new Set<string>();
  let defaultTarget: { name: string; in: ParsedRecipe } | undefined;

  const visit = async (file: string): Promise<void> => {
    const parsed = await parseYamlFile(file, recipeSchema, { displayRoot: root });
    record(file, parsed);
    filesRead.push(file);
    loaded.add(file);
    stack.push(file);
    const config = parsed.value;
    for (const [i, include] of (config.include ?? []).entries()) {
      const candidates = isAbsolute(include) ? [include] : [join(dirname(file), include), ...includeDirs.map((d) => join(d, include))];
      let found: string | undefined;
      for (const candidate of candidates) {
        if (await isFile(candidate)) {
          found = resolve(candidate);
          break;
        }
        absent.push(candidate);
      }
      if (found === undefined) {
        diagnostics.push({
          message: `included recipe "${include}" not found`,
          ...parsed.locate(['include', i]),
          hint: `looked in: ${candidates.map((c) => displayPath(c, root)).join(', ')}${includeDirs.length === 0 ? ' (add folders with -I DIR)' : ''}`,
        });
        continue;
      }
      if (stack.includes(found)) {
        const cycle = [...stack.slice(stack.indexOf(found)), found].map((f) => displayPath(f, root));
        diagnostics.push({ message: `include cycle: ${cycle.join(' -> ')}`, ...parsed.locate(['include', i]) });
        continue;
      }
      // Included twice along different paths (a diamond): its definitions count once.
      if (loaded.has(found)) continue;
      await visit(found);
    }
    // The including file's own settings override what it includes.
    Object.assign(variables, config.variables ?? {});
    if (config.default !== undefined) defaultTarget = { name: config.default, in: parsed };
    for (const child of config.children ?? []) children.push(resolve(root, child));
    for (const [name, t] of Object.entries(config.targets)) {
      const earlier = definedIn.get(name);
      if (earlier !== undefined) {
        const first = earlier.locate(['targets', name], true);
        diagnostics.push({
          message: `target "${name}" is defined twice`,
          ...parsed.locate(['targets', name], true),
          hint: `first defined at ${placeText(first)}`,
        });
        continue;
      }
      definedIn.set(name, parsed);
      const virtual = t.virtual ?? false;
      if (!virtual) {
        const bad = badFileTargetName(name);
        if (bad) diagnostics.push({ message: `file target "${printable(name)}" ${bad}`, ...parsed.locate(['targets', name], true), hint: 'or mark it `virtual: true`' });
      }
      const commands = t.commands === undefined ? [] : typeof t.commands === 'string' ? [t.commands] : t.commands;
      targets[name] = { name, virtual, sources: t.sources ?? [], depends: t.depends ?? [], commands, file: parsed.display };
    }
    stack.pop();
  };
  await visit(resolve(mainFile));

  const names = Object.keys(targets);
  if (defaultTarget && !(defaultTarget.name in targets)) {
    diagnostics.push({
      message: `default target "${defaultTarget.name}" is not defined`,
      ...defaultTarget.in.locate(['default']),
      hint: didYouMean(defaultTarget.name, names) ?? `targets: ${names.join(', ') || '(none)'}`,
    });
  }
  // Child recipes may define what a parent depends on; their targets are the engine's to resolve.
  if (children.length === 0) {
    for (const [name, target] of Object.entries(targets)) {
      target.depends.forEach((dep, i) => {
        if (dep in targets) return;
        const hint = didYouMean(dep, names);
        diagnostics.push({
          message: `target "${name}" depends on "${dep}", which is not a target`,
          ...definedIn.get(name)!.locate(['targets', name, 'depends', i]),
          ...(hint ? { hint } : { hint: 'depends lists targets; put files in sources' }),
        });
      });
    }
  }
  if (diagnostics.length > 0) throw new ConfigError(sortDiagnostics(diagnostics.splice(0)));
  const recipe: Recipe = { variables, targets, children, files: filesRead };
  if (defaultTarget) recipe.default = defaultTarget.name;
  return recipe;
}
