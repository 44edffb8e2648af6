/**
 * `aiop validate [-v] [--machine-readable]`: checks every file of the playbook without
 * building, and reports every problem at once (not only the first): each file is read on its
 * own, so a mistake in one does not hide the mistakes in the others. Beyond the checks of
 * loading, every system target is tried with its compatibility values the way `aiop build`
 * would use them: artifact URLs and destinations, `${...}` references, the .deb fields and the
 * recipe's expanded names and commands.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { AiopError, ConfigError, formatDiagnostic, type Diagnostic } from '../core/errors.js';
import { expandPackages, type PackageSpec } from '../ci/packages.js';
import { findPlaybookRoot, misnamedPlaybookFiles } from '../playbook/find-root.js';
import type { Playbook, Recipe } from '../playbook/load.js';
import { checkInventory, salvageInventoryFile, type SalvagedInventory } from '../playbook/checks.js';
import { inventorySchema, packagesSchema, recipeSchema, type InventoryConfig, type PackagesConfig, type SystemTargetConfig } from '../playbook/schema.js';
import { parseYamlFile, sortDiagnostics, type ParsedYamlFile } from '../playbook/yaml-file.js';
import { loadUserConfig } from '../playbook/user-config.js';
import { machineLine, unixNow } from '../report/machine-readable.js';
import { machineReadableFailures } from '../session/reporting.js';
import { DEB_RELATIONS } from '../pack/deb-relations.js';

/** What `aiop validate` read and tried, for `-v`. */
export interface ValidationSummary {
  files: string[];
  systemTargets: number;
  combinations: number;
  artifacts: number;
  packages: number;
  recipeTargets: number;
}

/** Every problem found in the playbook at `root`, sorted by file and line, and what was checked. */
export interface Validation {
  diagnostics: Diagnostic[];
  /** What works but may surprise (a .deb compression that lintian refuses); never changes the exit status. */
  warnings: Diagnostic[];
  summary: ValidationSummary;
}

/** Above this many combinations per system target, only those of packages.yml (and the first) are tried. */
const MAX_COMBINATIONS = 64;

type Located = Pick<Diagnostic, 'location' | 'sourceLine'>;

/** Collects diagnostics; a message said for several value combinations is kept once. */
class Collector {
  readonly list: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  /** @param files where the files read are listed; a file with problems counts as read. */
  constructor(readonly files: Set<string>) {}

  add(d: Diagnostic): void {
    const key = `${d.location?.file}:${d.location?.line}:${d.location?.column}:${d.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    if (d.location) this.files.add(d.location.file);
    this.list.push(d);
  }

  /** Notes a warning, once per place and message. */
  warn(d: Diagnostic): void {
    const key = `W:${d.location?.file}:${d.location?.line}:${d.location?.column}:${d.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.warnings.push(d);
  }

  /** Takes what an expected failure says; anything else is a bug and goes on. */
  take(error: unknown, where?: Located, hint?: string): void {
    if (error instanceof ConfigError) {
      for (const d of error.diagnostics) this.add(d.location || !where ? d : { ...d, ...where });
    } else if (error instanceof AiopError) {
      this.add({ message: error.message, ...(where ?? {}), ...(hint ? { hint } : {}) });
    } else throw error;
  }
}

function cartesian(lists: string[][]): string[][] {
  return lists.reduce<string[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

/** The value combinations to try for one system target. */
function combinationsFor(name: string, target: SystemTargetConfig, specs: PackageSpec[]): string[][] {
  const all = target.compatibility.map((p) => p.choices);
  const count = all.reduce((n, c) => n * c.length, 1);
  if (count <= MAX_COMBINATIONS) return cartesian(all);
  const picked = new Map<string, string[]>();
  const first = all.map((c) => c[0]!);
  picked.set(JSON.stringify(first), first);
  for (const spec of specs) if (spec.systemTarget === name) picked.set(JSON.stringify(spec.compat.map(([, v]) => v)), spec.compat.map(([, v]) => v));
  return [...picked.values()];
}

/** Which field of the inventory a message of checkDebInfo is about. */
function debFieldOf(message: string, target: string): Array<string | number> {
  const deb = ['system_targets', target, 'deb'];
  const rules: Array<[RegExp, Array<string | number>]> = [
    [/^package name/, ['package', 'name']],
    [/^version/, ['package', 'version']],
    [/^maintainer "/, ['package', 'maintainer']],
    [/^description/, ['package', 'description']],
    [/^homepage/, ['package', 'homepage']],
    [/^architecture/, [...deb, 'architecture']],
    [/^dependency/, [...deb, 'depends']],
    ...DEB_RELATIONS.map(([key]): [RegExp, Array<string | number>] => [new RegExp(`^${key} relation`), [...deb, key]]),
    [/^section/, [...deb, 'section']],
    [/^priority/, [...deb, 'priority']],
    [/^install prefix/, [...deb, 'install_prefix']],
    [/^install_map/, [...deb, 'install_map']],
    [/^conffile/, [...deb, 'conffiles']],
    [/maintainer script/, [...deb, 'scripts']],
    [/^compression/, [...deb, 'compression']],
  ];
  return rules.find(([re]) => re.test(message))?.[1] ?? deb;
}

/** Which field of the inventory a message of checkRpmInfo is about. */
function rpmFieldOf(message: string, target: string): Array<string | number> {
  const rpm = ['system_targets', target, 'rpm'];
  const rules: Array<[RegExp, Array<string | number>]> = [
    [/^package name/, ['package', 'name']],
    [/^version/, ['package', 'version']],
    [/^description/, ['package', 'description']],
    [/^release/, [...rpm, 'release']],
    [/^architecture/, [...rpm, 'architecture']],
    [/^license/, [...rpm, 'license']],
    [/^url/, [...rpm, 'url']],
    [/^install prefix/, [...rpm, 'install_prefix']],
    [/^install_map/, [...rpm, 'install_map']],
    [/^config file/, [...rpm, 'config_files']],
    ...['requires', 'provides', 'conflicts', 'obsoletes', 'recommends', 'suggests'].map((k): [RegExp, Array<string | number>] => [new RegExp(`^${k} relation`), [...rpm, k]]),
  ];
  return rules.find(([re]) => re.test(message))?.[1] ?? rpm;
}

/**
 * The path of the one list item a message quotes (`requires relation "x"`, `conffile "x"`),
 * so that the error points at that item's line rather than at the start of the list; the
 * field's path when the item is not found (a value made by variables).
 */
function itemPath(field: Array<string | number>, message: string, section: Record<string, unknown>, expand: (text: string) => string): Array<string | number> {
  const quoted = /^(?:[a-z_]+ relation|dependency|conffile|config file) "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  const list = section[String(field[field.length - 1])];
  if (quoted === undefined || !Array.isArray(list)) return field;
  const same = (item: unknown): boolean => {
    if (typeof item !== 'string') return false;
    try {
      return item === quoted || expand(item) === quoted;
    } catch {
      return false;
    }
  };
  const index = list.findIndex(same);
  return index < 0 ? field : [...field, index];
}

/** Reads every recipe file: the main one with its includes, then each child recipe, recursively. */
async function checkRecipes(root: string, found: Collector, files: Set<string>, parsed: Map<string, ParsedYamlFile<unknown>>): Promise<Recipe | undefined> {
  const { loadRecipe } = await import('../playbook/load-fresh.js');
  const record = (file: string, p: ParsedYamlFile<unknown>): void => {
    files.add(relative(root, file));
    parsed.set(p.display, p);
  };
  const main = join(root, '.aiop', 'recipe.yml');
  if (!existsSync(main)) return undefined;
  let recipe: Recipe | undefined;
  try {
    recipe = await loadRecipe(root, main, [], record, [], []);
  } catch (error) {
    found.take(error);
    files.add(relative(root, main));
  }
  let children = recipe?.children ?? [];
  if (recipe === undefined) {
    // The mistake may be in an include: the main file alone still names the children to check.
    try {
      const alone = await parseYamlFile(main, recipeSchema, { displayRoot: root });
      children = (alone.value.children ?? []).map((c) => resolve(root, c));
    } catch {
      // Its own problems are already reported.
    }
  }
  const seen = new Set<string>();
  children = [...children];
  while (children.length > 0) {
    const folder = children.shift()!;
    if (seen.has(folder)) continue;
    seen.add(folder);
    const file = join(folder, 'recipe.yml');
    if (!existsSync(file)) {
      found.add({ message: `child recipe ${relative(root, file)} not found`, hint: '`children:` lists folders that each hold a recipe.yml' });
      continue;
    }
    try {
      const child = await loadRecipe(root, file, [], record, [], []);
      children.push(...child.children);
    } catch (error) {
      found.take(error);
    }
  }
  return recipe;
}

/** Tries one system target with one combination of values, the way `aiop build` would. */
async function tryCombination(
  playbook: Playbook,
  inventory: ParsedYamlFile<InventoryConfig>,
  recipeFiles: Map<string, ParsedYamlFile<unknown>>,
  name: string,
  target: SystemTargetConfig,
  values: string[],
  found: Collector,
  recipeUsable: boolean,
): Promise<void> {
  const [{ packageScope, defaultGoals }, { expand }, { resolveArtifacts }, { debInfoFrom }, { checkDebInfo, debCompressionWarning }, { buildGraph, checkMissingSources }, { planCommands }, { packageIdOf }] =
    await Promise.all([
      import('../session/full-build.js'),
      import('../engine/variables.js'),
      import('../artifacts/resolve.js'),
      import('../pack/deb-info.js'),
      import('../pack/deb.js'),
      import('../engine/graph.js'),
      import('../engine/run.js'),
      import('../playbook/compat.js'),
    ]);
  const root = playbook.root;
  const compat = Object.fromEntries(target.compatibility.map((p, i) => [p.name, values[i]!]));
  const id = packageIdOf(playbook.inventory, name, values);
  const pkgDir = join(root, '.build', id);
  const builtins = { PKGDIR: pkgDir, PLAYBOOK: root, name: playbook.inventory.package.name, version: playbook.inventory.package.version, system_target: name };
  const scope = packageScope(playbook, builtins, compat, {});
  const hint = `found with: aiop build ${name} ${values.join(' ')}`.trimEnd();
  const base = ['system_targets', name];

  (target.artifacts ?? []).forEach((artifact, i) => {
    const at = (field: string): Located => inventory.locate([...base, 'artifacts', i, field]);
    let resolved;
    try {
      resolved = resolveArtifacts([artifact], compat, (text) => expand(text, scope, `artifact "${artifact.name}" of "${name}"`));
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      found.take(error, at(/\bdest\b/.test(message) ? 'dest' : /sha256|integrity/.test(message) ? 'name' : 'url'), hint);
      return;
    }
    for (const r of resolved) {
      let url: URL | undefined;
      try {
        url = new URL(r.url);
      } catch {
        found.add({ message: `artifact "${artifact.name}": "${r.url}" is not a URL`, ...at('url'), hint: 'write an absolute https://, http:// or file:// URL' });
        continue;
      }
      if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
        found.add({ message: `artifact "${artifact.name}": ${url.protocol.slice(0, -1)} URLs are not supported`, ...at('url'), hint: 'use https://, http:// or file://' });
      } else if (url.protocol !== 'file:' && url.hostname === '') {
        found.add({ message: `artifact "${artifact.name}": URL "${r.url}" has no host`, ...at('url') });
      }
    }
  });

  if (target.deb) {
    const deb = target.deb;
    try {
      const info = debInfoFrom(playbook.inventory.package, deb, { playbookRoot: root, expand: (text) => expand(text, scope, `deb settings of "${name}"`) });
      const expandDeb = (text: string): string => expand(text, scope, `deb settings of "${name}"`);
      for (const message of checkDebInfo(info)) {
        found.add({ message: `deb settings of "${name}": ${message}`, ...inventory.locate(itemPath(debFieldOf(message, name), message, deb, expandDeb)), hint });
      }
      const warning = debCompressionWarning(info.compression);
      if (warning) found.warn({ message: `deb settings of "${name}": ${warning}`, ...inventory.locate([...base, 'deb', 'compression']) });
      for (const [script, file] of Object.entries(info.scripts ?? {})) {
        if (file !== undefined && !existsSync(file)) {
          found.add({ message: `deb settings of "${name}": maintainer script ${script} "${relative(root, file)}" not found`, ...inventory.locate([...base, 'deb', 'scripts', script]) });
        }
      }
    } catch (error) {
      found.take(error, inventory.locate([...base, 'deb']), hint);
    }
  }

  if (target.rpm) {
    const rpm = target.rpm;
    try {
      const [{ rpmInfoFrom }, { checkRpmInfo }] = await Promise.all([import('../pack/rpm-info.js'), import('../pack/rpm.js')]);
      const info = rpmInfoFrom(playbook.inventory.package, rpm, { playbookRoot: root, expand: (text) => expand(text, scope, `rpm settings of "${name}"`) });
      const expandRpm = (text: string): string => expand(text, scope, `rpm settings of "${name}"`);
      for (const message of checkRpmInfo(info)) {
        found.add({ message: `rpm settings of "${name}": ${message}`, ...inventory.locate(itemPath(rpmFieldOf(message, name), message, rpm, expandRpm)), hint });
      }
      for (const [script, file] of Object.entries(info.scripts ?? {})) {
        if (file !== undefined && !existsSync(file)) {
          found.add({ message: `rpm settings of "${name}": script ${script} "${relative(root, file)}" not found`, ...inventory.locate([...base, 'rpm', 'scripts', script]) });
        }
      }
    } catch (error) {
      found.take(error, inventory.locate([...base, 'rpm']), hint);
    }
  }

  const targets = playbook.recipe.targets;
  if (recipeUsable && Object.keys(targets).length > 0) {
    try {
      const graph = buildGraph({ defs: targets, scope, pkgDir, playbookRoot: root, goals: defaultGoals(playbook.recipe), deferMissingSources: true });
      planCommands({ graph, scope, pkgDir, emit: () => undefined });
      // Without artifacts nothing else can provide a missing source.
      if ((target.artifacts ?? []).length === 0) checkMissingSources(graph, root);
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      const named = /target "([^"]+)"/.exec(message)?.[1];
      const def = Object.values(targets).find((t) => t.name === named) ?? Object.values(targets).find((t) => named !== undefined && named.endsWith(t.name.replace(/^\$\{?[A-Za-z_]+\}?\/?/, '')));
      const where = def ? recipeFiles.get(def.file)?.locate(['targets', def.name], true) : undefined;
      found.take(error, where, hint);
    }
  }
}

/** Checks the playbook at `root` and returns every problem found. Never throws for a bad playbook. */
export async function validatePlaybook(root: string, env: NodeJS.ProcessEnv = process.env): Promise<Validation> {
  const absRoot = resolve(root);
  const files = new Set<string>();
  const found = new Collector(files);
  const summary: ValidationSummary = { files: [], systemTargets: 0, combinations: 0, artifacts: 0, packages: 0, recipeTargets: 0 };

  try {
    await loadUserConfig(env);
  } catch (error) {
    found.take(error);
  }

  // A misnamed recipe.yml or packages.yml would otherwise pass as an absent one.
  for (const d of await misnamedPlaybookFiles(absRoot)) found.add(d);

  const inventoryFile = join(absRoot, '.aiop', 'inventory_config.yml');
  files.add(relative(absRoot, inventoryFile));
  let inventory: ParsedYamlFile<InventoryConfig> | undefined;
  /** The right parts of an inventory with mistakes: what does not depend on them is still checked. */
  let salvaged: (SalvagedInventory & { file: ParsedYamlFile<InventoryConfig> }) | undefined;
  try {
    inventory = await parseYamlFile(inventoryFile, inventorySchema, { displayRoot: absRoot });
    // Its own cross-checks (duplicate names, `when`) do not stop the checks that follow.
    checkInventory(inventory).forEach((d) => found.add(d));
  } catch (error) {
    found.take(error);
    if (error instanceof ConfigError) salvaged = await salvageInventoryFile(inventoryFile, absRoot);
    if (salvaged) checkInventory(salvaged.file).forEach((d) => found.add(d));
  }
  /** The inventory the other checks use: the file, or its right parts. */
  const usable = inventory ?? salvaged?.file;

  const recipeFiles = new Map<string, ParsedYamlFile<unknown>>();
  const recipe = await checkRecipes(absRoot, found, files, recipeFiles);
  const recipeBroken = existsSync(join(absRoot, '.aiop', 'recipe.yml')) && recipe === undefined;

  let specs: PackageSpec[] = [];
  const packagesFile = join(absRoot, '.aiop', 'packages.yml');
  if (existsSync(packagesFile)) {
    files.add(relative(absRoot, packagesFile));
    let packages: ParsedYamlFile<PackagesConfig> | undefined;
    try {
      packages = await parseYamlFile(packagesFile, packagesSchema, { displayRoot: absRoot });
    } catch (error) {
      found.take(error);
    }
    if (packages && usable) {
      try {
        const parsed = packages;
        specs = expandPackages(parsed.value, usable.value, {
          ...(salvaged ? { skipSystemTarget: salvaged.broken } : {}),
          locate: (path) => {
            const where = parsed.locate(path);
            return where.location ? { location: where.location, ...(where.sourceLine !== undefined ? { sourceLine: where.sourceLine } : {}) } : undefined;
          },
        });
      } catch (error) {
        found.take(error);
      }
    }
  }

  // With mistakes in the package fields or variables, every target depends on them: only their own mistakes are known.
  const tried = inventory ?? (salvaged?.whole ? salvaged.file : undefined);
  if (tried) {
    const playbook: Playbook = { root: absRoot, inventory: tried.value, recipe: recipe ?? { variables: {}, targets: {}, children: [], files: [] } };
    summary.recipeTargets = Object.keys(playbook.recipe.targets).length;
    for (const [name, target] of Object.entries(tried.value.system_targets)) {
      summary.systemTargets++;
      summary.artifacts += target.artifacts?.length ?? 0;
      for (const values of combinationsFor(name, target, specs)) {
        summary.combinations++;
        await tryCombination(playbook, tried, recipeFiles, name, target, values, found, !recipeBroken);
      }
    }
  }
  summary.packages = specs.length;
  summary.files = [...files];
  // Files in the order they were read (inventory, recipes, packages.yml), each in line order.
  const order = [...files];
  const rank = (d: Diagnostic): number => (d.location ? order.indexOf(d.location.file) : -1);
  const diagnostics = sortDiagnostics(found.list).sort((a, b) => rank(a) - rank(b));
  return { diagnostics, warnings: sortDiagnostics(found.warnings), summary };
}

/** Runs `aiop validate`: exit 0 and silent (a summary with -v) when all is well, 2 otherwise. */
export async function validateCommand(
  options: { verbose: boolean; machineReadable: boolean },
  io: { cwd: string; env: NodeJS.ProcessEnv; stdout: NodeJS.WritableStream; stderr?: NodeJS.WritableStream },
): Promise<number> {
  machineReadableFailures('aiop', options.machineReadable);
  const root = await findPlaybookRoot(io.cwd);
  const { diagnostics, warnings, summary } = await validatePlaybook(root, io.env);
  const stderr = io.stderr ?? process.stderr;
  if (options.machineReadable) {
    const now = unixNow();
    let out = machineLine(now, '', 'error-count', String(diagnostics.length));
    for (const d of diagnostics) {
      const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
      out += machineLine(now, d.location?.file ?? '', 'error', `${where}${d.message}${d.hint ? ` (${d.hint})` : ''}`);
    }
    for (const d of warnings) {
      const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
      out += machineLine(now, d.location?.file ?? '', 'warning', `${where}${d.message}`);
    }
    io.stdout.write(out);
  } else if (warnings.length > 0) {
    stderr.write(`${warnings.map((d) => `aiop: warning: ${formatDiagnostic(d)}`).join('\n')}\n`);
  }
  if (!options.machineReadable && diagnostics.length > 0) {
    stderr.write(`${diagnostics.map((d) => `aiop: error: ${formatDiagnostic(d)}`).join('\n')}\n`);
    stderr.write(`aiop: ${diagnostics.length} problem${diagnostics.length === 1 ? '' : 's'} found\n`);
  }
  if (options.verbose && !options.machineReadable) {
    const lines = [
      `Checked ${summary.files.join(', ')}:`,
      `  ${summary.systemTargets} system target(s), ${summary.combinations} combination(s) of compatibility values tried`,
      `  ${summary.artifacts} artifact(s), ${summary.recipeTargets} recipe target(s), ${summary.packages} package(s) in packages.yml`,
      diagnostics.length === 0 ? 'No problems found.' : `${diagnostics.length} problem(s) found.`,
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  return diagnostics.length === 0 ? 0 : 2;
}
