/**
 * `.aiop/packages.yml` turned into the list of packages that `build_all` builds: list
 * entries and `matrix` entries expanded, every system target, parameter, value and option
 * checked against the inventory before anything runs, so that a mistake is reported with
 * its valid choices instead of failing in one CI job out of twenty.
 */
import type { InventoryConfig, PackagesConfig, SystemTargetConfig } from '../playbook/schema.js';
import { ConfigError, type Diagnostic, type SourceLocation } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { UPLOAD_URL_HINT, uploadUrlProblem } from '../core/url.js';
import { canonicalOptionName, checkOptionValue, optionArgs, KNOWN_BUILD_OPTIONS } from './build-options.js';
import { rpmArchitecture } from '../pack/rpm.js';

export { KNOWN_BUILD_OPTIONS } from './build-options.js';

/** One package to build: what `aiop build` needs, and the id its outputs are named after. */
export interface PackageSpec {
  systemTarget: string;
  /** Compatibility parameter names and values, in compatibility order. */
  compat: Array<[string, string]>;
  /** `aiop build` options by long name, as packages.yml gave them (checked). */
  options: Record<string, unknown>;
  /** `<name>-<version>-<system_target>-<value>...` */
  id: string;
  /**
   * File name of the .deb this package makes, when it makes one. A glob
   * (`<name>_<version>_*.deb`) when the architecture uses a variable that only the
   * recipe knows.
   */
  debFile?: string;
  /** File name of the .rpm this package makes, when it makes one; a glob as for {@link debFile}. */
  rpmFile?: string;
  /** Index of the packages.yml entry this package came from (0-based). */
  entry: number;
}

/** A path inside a configuration file, as keys and list indexes from its root. */
export type ConfigPath = ReadonlyArray<string | number>;

/**
 * Finds where a value sits in packages.yml, so diagnostics can say file:line:column.
 * The playbook loader, which kept the YAML document, provides it.
 */
export type Locate = (path: ConfigPath) => { location: SourceLocation; sourceLine?: string } | undefined;

/** Where packages.yml came from, for diagnostics. */
export interface ExpandOptions {
  locate?: Locate;
  /**
   * Entries left unchecked: those of a system target whose own definition is broken (`aiop
   * validate` reports that mistake, and what depends on it would only repeat it).
   */
  skipSystemTarget?: (name: string) => boolean;
}

/** More packages than this is surely a mistake (and would exhaust memory long before it built). */
export const MAX_PACKAGES = 10_000;

/** The package id: `<name>-<version>-<system_target>-<value>...` (values in compatibility order). */
export function packageId(inventory: InventoryConfig, systemTarget: string, values: string[]): string {
  return [inventory.package.name, inventory.package.version, systemTarget, ...values].join('-');
}

/** The `aiop build` argument list for one package: `[systemTarget, ...values, --zip_pack, --installer, deb, ...]`. */
export function buildArgs(spec: PackageSpec): string[] {
  return [spec.systemTarget, ...spec.compat.map(([, value]) => value), ...optionArgs(spec.options)];
}

/**
 * Expands list entries and `matrix` entries (the cartesian product, first compatibility
 * parameter outermost) into packages, in packages.yml order. Every problem found is
 * reported at once in one {@link ConfigError}: unknown system targets, parameters and
 * options (with did-you-mean), values outside a parameter's choices (with the valid
 * choices), missing parameters, options that contradict each other, and two entries that
 * would build the same package.
 */
export function expandPackages(config: PackagesConfig, inventory: InventoryConfig, opts: ExpandOptions = {}): PackageSpec[] {
  const problems = new Problems(opts.locate);
  const specs: PackageSpec[] = [];
  config.packages.forEach((entry, index) => {
    const at = (...rest: Array<string | number>): ConfigPath => ['packages', index, ...rest];
    const label = `package ${index + 1}`;
    if (opts.skipSystemTarget?.(entry.system_target)) return;
    const target = inventory.system_targets[entry.system_target];
    if (target === undefined) {
      const known = Object.keys(inventory.system_targets);
      problems.add(at('system_target'), `${label}: unknown system target "${entry.system_target}"`, hintFor(entry.system_target, known, 'valid system targets'));
      return;
    }
    const before = problems.count;
    const axes = compatAxes(entry, target, label, at, problems);
    const { options, given } = seedSpelling(entry.options ?? {}, label, at, problems);
    // Problems are located at the option as it is written.
    const atGiven = (...rest: Array<string | number>): ConfigPath =>
      rest[0] === 'options' && typeof rest[1] === 'string' ? at('options', given.get(rest[1]) ?? rest[1], ...rest.slice(2)) : at(...rest);
    checkOptions(options, target, entry.system_target, label, atGiven, problems);
    if (problems.count > before || axes === undefined) return;
    const count = axes.reduce((n, [, values]) => n * values.length, 1);
    if (specs.length + count > MAX_PACKAGES) {
      problems.add(at('matrix'), `${label}: packages.yml expands to more than ${MAX_PACKAGES} packages`, 'split the list or narrow the matrix');
      return;
    }
    for (const values of cartesian(axes.map(([, choices]) => choices))) {
      const compat = axes.map(([name], i): [string, string] => [name, values[i]!]);
      specs.push({
        systemTarget: entry.system_target,
        compat,
        options: { ...options },
        id: packageId(inventory, entry.system_target, values),
        ...debFileFor(inventory, target, compat, options),
        ...rpmFileFor(inventory, target, compat, options),
        entry: index,
      });
    }
  });
  checkCollisions(specs, problems);
  if (problems.count === 0) {
    nameInstallersApart(specs, inventory);
    checkOutputCollisions(specs, inventory, problems);
  }
  problems.throwIfAny();
  return specs;
}

/** The folder a package's outputs go to (beside its package folder), as packages.yml can tell it. */
function outputFolderOf(spec: PackageSpec): string {
  const destination = spec.options.destination_path;
  if (destination === undefined) return '.build';
  const trimmed = String(destination).replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : trimmed.slice(0, slash);
}

function installersOf(options: Record<string, unknown>): string[] {
  return options.installer === undefined ? [] : (Array.isArray(options.installer) ? options.installer : [options.installer]).map(String);
}

/**
 * The installer files a package writes (folder-relative to {@link outputFolderOf}); an
 * architecture only the recipe knows stays `*`.
 */
function installerFilesOf(spec: PackageSpec, inventory: InventoryConfig): string[] {
  const target = inventory.system_targets[spec.systemTarget]!;
  const installers = installersOf(spec.options);
  const named = spec.options.installer_name === undefined ? undefined : String(spec.options.installer_name);
  const files: string[] = [];
  const values = new Map<string, string>(Object.entries(inventory.variables ?? {}));
  for (const [name, value] of spec.compat) values.set(name, value);
  const { name, version } = inventory.package;
  if (installers.includes('deb') && target.deb !== undefined) {
    files.push(named !== undefined ? (named.endsWith('.deb') ? named : `${named}.deb`) : `${name}_${version}_${expandVariables(target.deb.architecture, values) ?? '*'}.deb`);
  }
  if (installers.includes('rpm') && target.rpm !== undefined) {
    const release = expandVariables(target.rpm.release, values) ?? '*';
    const arch = expandVariables(target.rpm.architecture, values);
    files.push(named !== undefined ? `${named.replace(/\.(deb|rpm)$/, '')}.rpm` : `${name}-${version}-${release}.${arch === undefined ? '*' : rpmArchitectureName(arch)}.rpm`);
  }
  return files;
}

/** rpm's names of Debian architectures (the same rule as the rpm writer's). */
function rpmArchitectureName(arch: string): string {
  return ({ amd64: 'x86_64', arm64: 'aarch64', all: 'noarch', i386: 'i686', armhf: 'armv7hl', ppc64el: 'ppc64le' } as Record<string, string>)[arch] ?? arch;
}

/**
 * Packages of one system target that differ only in values the installer's default name does not
 * show (a distro matrix: \`distro: [debian12, ubuntu22.04]\`, one arch) would write the same
 * \`<name>_<version>_<arch>.deb\`. Each of them is given Debian's backport-style name instead, the
 * values that tell them apart after a \`~\` in the version part: \`demo_1.0.0~debian12_amd64.deb\`
 * (and \`.rpm\`). A package named explicitly (\`installer_name\`) keeps its name.
 */
function nameInstallersApart(specs: PackageSpec[], inventory: InventoryConfig): void {
  const groups = new Map<string, PackageSpec[]>();
  for (const spec of specs) {
    if (spec.options.installer_name !== undefined) continue;
    for (const file of installerFilesOf(spec, inventory)) {
      const key = `${outputFolderOf(spec)}/${file}`;
      groups.set(key, [...(groups.get(key) ?? []), spec]);
    }
  }
  const renamed = new Set<PackageSpec>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const spec of group) {
      if (renamed.has(spec)) continue;
      // The values in which this package differs from the others of its group, in compatibility order.
      const differing = spec.compat.filter(([name], i) => group.some((other) => other.compat[i]?.[0] === name && other.compat[i]?.[1] !== spec.compat[i]![1]));
      const suffix = differing.map(([, value]) => value).join('+');
      const target = inventory.system_targets[spec.systemTarget]!;
      const values = new Map<string, string>(Object.entries(inventory.variables ?? {}));
      for (const [name, value] of spec.compat) values.set(name, value);
      const { name, version } = inventory.package;
      const installers = installersOf(spec.options);
      const arch = installers.includes('deb') && target.deb !== undefined
        ? expandVariables(target.deb.architecture, values)
        : target.rpm !== undefined ? expandVariables(target.rpm.architecture, values) : undefined;
      if (arch === undefined) continue; // only the recipe knows it: the check below reports what collides
      spec.options.installer_name = `${name}_${version}~${suffix}_${arch}`;
      if (spec.debFile !== undefined) spec.debFile = `${spec.options.installer_name}.deb`;
      renamed.add(spec);
    }
  }
}

/** Two packages that would write the same installer file: found before anything is built. */
function checkOutputCollisions(specs: PackageSpec[], inventory: InventoryConfig, problems: Problems): void {
  const writers = new Map<string, PackageSpec>();
  for (const spec of specs) {
    for (const file of installerFilesOf(spec, inventory)) {
      const path = `${outputFolderOf(spec)}/${file}`;
      const first = writers.get(path);
      if (first === undefined) {
        writers.set(path, spec);
        continue;
      }
      const where = spec.options.installer_name !== undefined ? ['packages', spec.entry, 'options', 'installer_name'] : ['packages', spec.entry];
      problems.add(
        where,
        `package ${spec.entry + 1}: "${spec.id}" and "${first.id}" (package ${first.entry + 1}) would both write ${path}`,
        'give each its own installer_name (or leave installer_name out for names that tell them apart)',
      );
    }
  }
}

/**
 * For each compatibility parameter in order, the values this entry builds it for: one from
 * `compat_args`, several from `matrix`. Undefined when the entry is wrong (problems added).
 */
function compatAxes(
  entry: PackagesConfig['packages'][number],
  target: SystemTargetConfig,
  label: string,
  at: (...rest: Array<string | number>) => ConfigPath,
  problems: Problems,
): Array<[string, string[]]> | undefined {
  const parameters = target.compatibility;
  const names = parameters.map((p) => p.name);
  const given = new Map<string, { values: string[]; path: ConfigPath }>();
  const before = problems.count;

  if (Array.isArray(entry.compat_args)) {
    if (entry.matrix !== undefined) {
      problems.add(at('compat_args'), `${label}: a list of compat_args cannot be combined with a matrix`, 'give compat_args as a mapping (name: value) for the parameters the matrix does not vary');
      return undefined;
    }
    if (entry.compat_args.length !== parameters.length) {
      problems.add(
        at('compat_args'),
        `${label}: system target "${entry.system_target}" takes ${parameters.length} compatibility value(s), got ${entry.compat_args.length}`,
        `in this order: ${names.join(', ') || '(none)'}`,
      );
      return undefined;
    }
    entry.compat_args.forEach((value, i) => given.set(names[i]!, { values: [value], path: at('compat_args', i) }));
  } else {
    for (const [name, value] of Object.entries(entry.compat_args ?? {})) {
      if (!names.includes(name)) {
        problems.add(at('compat_args', name), `${label}: system target "${entry.system_target}" has no compatibility parameter "${name}"`, hintFor(name, names, 'its parameters'));
        continue;
      }
      given.set(name, { values: [value], path: at('compat_args', name) });
    }
  }
  for (const [name, values] of Object.entries(entry.matrix ?? {})) {
    if (!names.includes(name)) {
      problems.add(at('matrix', name), `${label}: system target "${entry.system_target}" has no compatibility parameter "${name}"`, hintFor(name, names, 'its parameters'));
      continue;
    }
    if (given.has(name)) {
      problems.add(at('matrix', name), `${label}: "${name}" is given both in compat_args and in the matrix`);
      continue;
    }
    const duplicate = values.find((v, i) => values.indexOf(v) !== i);
    if (duplicate !== undefined) {
      problems.add(at('matrix', name), `${label}: matrix value "${duplicate}" of "${name}" is listed twice`);
    }
    given.set(name, { values, path: at('matrix', name) });
  }

  const axes: Array<[string, string[]]> = [];
  for (const parameter of parameters) {
    const got = given.get(parameter.name);
    if (got === undefined) {
      problems.add(
        at(),
        `${label}: missing compatibility parameter "${parameter.name}" of system target "${entry.system_target}"`,
        `valid choices: ${parameter.choices.join(', ')}`,
      );
      continue;
    }
    got.values.forEach((value, i) => {
      if (parameter.choices.includes(value)) return;
      const path = got.values.length > 1 || entry.matrix?.[parameter.name] !== undefined ? [...got.path, i] : got.path;
      problems.add(path, `${label}: "${value}" is not a valid ${parameter.name}`, hintFor(value, parameter.choices, 'valid choices'));
    });
    axes.push([parameter.name, got.values]);
  }
  return problems.count > before ? undefined : axes;
}

/**
 * The options with their names as the seed spells them (`zip-pack: true` is `zip_pack`), as
 * on the command line; one option given in both spellings is a problem.
 */
function seedSpelling(
  options: Record<string, unknown>,
  label: string,
  at: (...rest: Array<string | number>) => ConfigPath,
  problems: Problems,
): { options: Record<string, unknown>; given: Map<string, string> } {
  const out: Record<string, unknown> = {};
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(options)) {
    const seed = canonicalOptionName(name) ?? name;
    const earlier = given.get(seed);
    if (earlier !== undefined) problems.add(at('options', name), `${label}: option "${seed}" is given twice, as "${earlier}" and "${name}"`, 'keep one of them');
    given.set(seed, name);
    out[seed] = value;
  }
  return { options: out, given };
}

/** Option names and values, and the rules between options that `aiop build` enforces too. */
function checkOptions(
  options: Record<string, unknown>,
  target: SystemTargetConfig,
  systemTarget: string,
  label: string,
  at: (...rest: Array<string | number>) => ConfigPath,
  problems: Problems,
): void {
  for (const [name, value] of Object.entries(options)) {
    const wrong = checkOptionValue(name, value);
    if (wrong === undefined) continue;
    const hint = wrong.hint ?? (KNOWN_BUILD_OPTIONS.includes(name) ? undefined : hintFor(name, KNOWN_BUILD_OPTIONS, 'known options'));
    problems.add(at('options', name), `${label}: ${wrong.message}`, hint);
  }
  const uploads = options.upload === undefined ? [] : Array.isArray(options.upload) ? options.upload : [options.upload];
  if (uploads.length > 0 && options.upload_url === undefined) {
    problems.add(at('options', 'upload'), `${label}: option "upload" requires "upload_url"`);
  }
  if (options.upload_url !== undefined && uploads.length === 0) {
    problems.add(at('options', 'upload_url'), `${label}: option "upload_url" requires "upload"`);
  }
  const badUrl = options.upload_url === undefined ? undefined : uploadUrlProblem(String(options.upload_url));
  if (badUrl !== undefined) problems.add(at('options', 'upload_url'), `${label}: upload_url ${badUrl}`, UPLOAD_URL_HINT);
  if (uploads.includes('zip') && options.zip_pack !== true) {
    problems.add(at('options', 'upload'), `${label}: uploads a zip that it does not make`, 'add zip_pack: true');
  }
  const installers = options.installer === undefined ? [] : Array.isArray(options.installer) ? options.installer : [options.installer];
  for (const kind of ['deb', 'rpm']) {
    if (uploads.includes(kind) && !installers.includes(kind)) problems.add(at('options', 'upload'), `${label}: uploads a .${kind} that it does not make`, `add installer: ${kind}`);
  }
  const installerName = options.installer_name;
  if (installerName !== undefined && /^\.{1,2}$|\/|^-|\0/.test(String(installerName))) {
    problems.add(at('options', 'installer_name'), `${label}: installer_name "${String(installerName)}" must be a file name, not a path`, 'the .deb is always written beside the package folder');
  }
  for (const kind of ['deb', 'rpm'] as const) {
    if (installers.includes(kind) && (kind === 'deb' ? target.deb : target.rpm) === undefined) {
      problems.add(at('options', 'installer'), `${label}: installer ${kind} needs a \`${kind}:\` section in system target "${systemTarget}" of inventory_config.yml`);
    }
  }
}

/** Two packages that would write the same outputs can never both be right. */
function checkCollisions(specs: PackageSpec[], problems: Problems): void {
  const byId = new Map<string, PackageSpec>();
  const byDestination = new Map<string, PackageSpec>();
  for (const spec of specs) {
    const first = byId.get(spec.id);
    if (first !== undefined) {
      problems.add(['packages', spec.entry], `package ${spec.entry + 1}: builds "${spec.id}", which package ${first.entry + 1} already builds`);
      continue;
    }
    byId.set(spec.id, spec);
    const destination = spec.options.destination_path;
    if (destination === undefined) continue;
    const key = String(destination).replace(/\/+$/, '');
    const other = byDestination.get(key);
    if (other !== undefined) {
      problems.add(
        ['packages', spec.entry, 'options', 'destination_path'],
        `package ${spec.entry + 1}: "${spec.id}" and "${other.id}" would both be built into destination_path "${key}"`,
        'leave destination_path out so that each package gets .build/<package-id>/',
      );
    } else byDestination.set(key, spec);
  }
}

/**
 * The .deb name (`<name>_<version>_<architecture>.deb`, or `--installer_name`), with the
 * architecture's `${var}` expanded from the compatibility values and playbook variables.
 */
function debFileFor(
  inventory: InventoryConfig,
  target: SystemTargetConfig,
  compat: Array<[string, string]>,
  options: Record<string, unknown>,
): { debFile?: string } {
  const installers = Array.isArray(options.installer) ? options.installer : [options.installer];
  if (!installers.includes('deb') || target.deb === undefined) return {};
  if (options.installer_name !== undefined) {
    const name = String(options.installer_name);
    return { debFile: name.endsWith('.deb') ? name : `${name}.deb` };
  }
  const values = new Map<string, string>(Object.entries(inventory.variables ?? {}));
  for (const [name, value] of compat) values.set(name, value);
  const architecture = expandVariables(target.deb.architecture, values);
  const { name, version } = inventory.package;
  return { debFile: `${name}_${version}_${architecture ?? '*'}.deb` };
}

/**
 * The .rpm name (`<name>-<version>-<release>.<arch>.rpm` with rpm's architecture names, or
 * `--installer_name` with `.rpm`), expanded as {@link debFileFor} does; a `*` stands for what
 * only the recipe knows.
 */
function rpmFileFor(
  inventory: InventoryConfig,
  target: SystemTargetConfig,
  compat: Array<[string, string]>,
  options: Record<string, unknown>,
): { rpmFile?: string } {
  const installers = Array.isArray(options.installer) ? options.installer : [options.installer];
  if (!installers.includes('rpm') || target.rpm === undefined) return {};
  if (options.installer_name !== undefined) return { rpmFile: `${String(options.installer_name).replace(/\.(deb|rpm)$/, '')}.rpm` };
  const values = new Map<string, string>(Object.entries(inventory.variables ?? {}));
  for (const [name, value] of compat) values.set(name, value);
  const part = (text: string): string => expandVariables(text, values) ?? '*';
  const architecture = part(target.rpm.architecture);
  const { name, version } = inventory.package;
  return { rpmFile: `${part(name)}-${part(String(version))}-${part(String(target.rpm.release))}.${architecture === '*' ? '*' : rpmArchitecture(architecture)}.rpm` };
}

/**
 * `$VAR`, `${VAR}` and `$(VAR)` (and `$($)` for `$`) expanded from `values`, recursively;
 * undefined when a name is unknown here or refers to itself (the recipe engine reports
 * those properly when it builds).
 */
export function expandVariables(text: string, values: ReadonlyMap<string, string>, seen: ReadonlySet<string> = new Set()): string | undefined {
  let failed = false;
  const result = text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|\(([A-Za-z_][A-Za-z0-9_]*|\$)\)|([A-Za-z_][A-Za-z0-9_]*))/g, (_, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (name === '$') return '$';
    const value = values.get(name);
    if (value === undefined || seen.has(name)) {
      failed = true;
      return '';
    }
    const expanded = expandVariables(value, values, new Set([...seen, name]));
    if (expanded === undefined) failed = true;
    return expanded ?? '';
  });
  return failed ? undefined : result;
}

/** The cartesian product, first list outermost. One empty combination when there are no lists. */
function cartesian(lists: string[][]): string[][] {
  return lists.reduce<string[][]>((acc, list) => acc.flatMap((prefix) => list.map((v) => [...prefix, v])), [[]]);
}

/** `did you mean "x"? valid ...: a, b` */
function hintFor(word: string, candidates: readonly string[], what: string): string {
  const list = `${what}: ${candidates.length > 0 ? candidates.join(', ') : '(none)'}`;
  const guess = didYouMean(word, candidates);
  return guess === undefined ? list : `${guess} ${list}`;
}

/** Collects diagnostics so that one run reports every mistake. */
class Problems {
  readonly #list: Diagnostic[] = [];
  constructor(readonly locate?: Locate) {}

  get count(): number {
    return this.#list.length;
  }

  add(path: ConfigPath, message: string, hint?: string): void {
    const diagnostic: Diagnostic = { message };
    if (hint !== undefined) diagnostic.hint = hint;
    const where = this.locate?.(path);
    if (where !== undefined) {
      diagnostic.location = where.location;
      if (where.sourceLine !== undefined) diagnostic.sourceLine = where.sourceLine;
    } else {
      diagnostic.message = `.aiop/packages.yml: ${formatPath(path)}: ${message}`;
    }
    this.#list.push(diagnostic);
  }

  throwIfAny(): void {
    if (this.#list.length > 0) throw new ConfigError(this.#list);
  }
}

/** `packages[1].compat_args.distro` */
function formatPath(path: ConfigPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
