/**
 * The `aiop` command line, parsed into typed invocations. Pure: no command runs here.
 */
import type { RepoAptOptions } from '../commands/repo.js';
import { Argument, Command, CommanderError, Option } from 'commander';
import { LEVELS, type Level } from '../core/events.js';
import { parseLevel } from '../report/levels.js';
import { VERSION } from '../core/version.js';
import { UsageError } from '../core/errors.js';
import { defaultBuildOptions, type BuildOptions } from '../options/build-options.js';
import { OPTIONS, optionsOf, spellingKey, takesList, type OptionCommand, type OptionSpec } from '../options/table.js';
import type { BuildAllOptions, InitOptions } from '../options/command-options.js';

export type { BuildAllOptions, InitOptions } from '../options/command-options.js';


/** The seed's multi-letter short options (`-sll`), which commander cannot declare, by their long forms. */
const SHORT_ALIASES: Record<string, string> = Object.fromEntries(
  OPTIONS.filter((o) => o.short !== undefined && o.short.length > 2).map((o) => [o.short!, `--${o.name}`]),
);

/** Every long option that `program` and its subcommands declare, by {@link spellingKey}. */
function longOptions(program: Command): Map<string, string> {
  const byKey = new Map<string, string>();
  const visit = (cmd: Command): void => {
    for (const option of cmd.options) if (option.long) byKey.set(spellingKey(option.long), option.long);
    cmd.commands.forEach(visit);
  };
  visit(program);
  byKey.set('--help', '--help');
  return byKey;
}

/**
 * Rewrites the seed's `-sll`, `-fll`, `-hp` into their long forms, and a long option
 * spelled with `-` where it has `_` (or the other way round) into its declared spelling:
 * `--zip-pack` is `--zip_pack`, `--machine_readable` is `--machine-readable`.
 */
export function normalizeArgv(argv: string[], longs: ReadonlyMap<string, string> = new Map()): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg === '--') {
      out.push(...argv.slice(out.length));
      break;
    }
    const eq = arg.indexOf('=');
    const head = eq > 0 ? arg.slice(0, eq) : arg;
    const long = SHORT_ALIASES[head] ?? (head.startsWith('--') ? longs.get(spellingKey(head)) : undefined);
    out.push(long ? (eq > 0 ? `${long}${arg.slice(eq)}` : long) : arg);
  }
  return out;
}

function level(value: string): Level {
  const parsed = parseLevel(value);
  if (parsed === undefined) throw new UsageError(`"${value}" is not a log level`, `valid choices: ${LEVELS.join(', ')}`);
  return parsed;
}

function days(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--older-than must be a number of days, not "${value}"`);
  return Number(value);
}

function integer(name: string, min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, not "${value}"`);
    if (Number(value) < min) throw new UsageError(`${name} must be at least ${min}, not ${value}`);
    return Number(value);
  };
}

/** The commander option of a table entry (spelled `name`: the entry's own or an alias). */
function commanderOption(spec: OptionSpec, name = spec.name): Option {
  const value = spec.value;
  const short = name === spec.name && spec.short?.length === 2 ? `${spec.short}, ` : '';
  const words = value.kind === 'flag' ? '' : takesList(spec) ? ` <${value.placeholder}...>` : ` <${value.placeholder}>`;
  const help =
    name !== spec.name
      ? `Same as --${spec.name}`
      : [
          spec.short !== undefined && spec.short.length > 2 ? `(${spec.short}) ` : '',
          spec.help,
          value.kind === 'level' ? `: ${value.choices.join(' ')}` : '',
          spec.default !== undefined || spec.defaultValue !== undefined ? ` (default: ${spec.defaultValue ?? spec.default})` : '',
        ].join('');
  const option = new Option(`${short}--${name}${words}`, help);
  if (name === spec.name && spec.defaultValue !== undefined) option.default(spec.defaultValue);
  switch (value.kind) {
    case 'integer':
      return option.argParser(integer(`--${spec.name}`, value.min));
    case 'days':
      return option.argParser(days);
    case 'level':
      return option.argParser(level);
    case 'choice':
    case 'choices':
      return option.choices(value.choices);
    default:
      return option;
  }
}

/** Declares the table's options of `command` on `cmd`, in table order. */
function withOptions(cmd: Command, command: OptionCommand): Command {
  for (const spec of optionsOf(command)) {
    cmd.addOption(commanderOption(spec));
    for (const alias of spec.aliases ?? []) cmd.addOption(commanderOption(spec, alias));
  }
  return cmd;
}

/** What commander parsed, by attribute name (`zip_pack`, `machineReadable`). */
type Raw = Record<string, unknown>;

/** The value commander parsed for a table entry (or one of its aliases), under commander's camel-cased name. */
function valueOf(raw: Raw, spec: OptionSpec, name = spec.name): unknown {
  return raw[name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())];
}

/** The {@link BuildOptions} fields that `command`'s options set, for the options given. */
function fields(command: OptionCommand, raw: Raw): Partial<BuildOptions> {
  const out: Record<string, unknown> = {};
  for (const spec of optionsOf(command)) {
    const value = valueOf(raw, spec);
    if (spec.field !== undefined && value !== undefined) out[spec.field] = value;
  }
  return out as Partial<BuildOptions>;
}

/** Turns commander's parse of `aiop build` into {@link BuildOptions}. */
function toBuildOptions(systemTarget: string, params: string[], raw: Raw): BuildOptions {
  const compat = OPTIONS.find((o) => o.name === 'compat_args')!;
  const given = [compat.name, ...(compat.aliases ?? [])].flatMap((name) => (valueOf(raw, compat, name) as string[] | undefined) ?? []);
  return { ...defaultBuildOptions(systemTarget, [...params, ...given]), ...fields('build', raw) };
}

/** The report options of `build`, `build_all` and `build_again`, with their defaults. */
function reportOptions(raw: Raw): ReportFields {
  const { verbose, stdoutLogLevel, fileLogLevel, hideProgress, machineReadable } = fields('build_again', raw);
  return {
    verbose: verbose ?? false,
    ...(stdoutLogLevel !== undefined ? { stdoutLogLevel } : {}),
    ...(fileLogLevel !== undefined ? { fileLogLevel } : {}),
    hideProgress: hideProgress ?? false,
    machineReadable: machineReadable ?? false,
  };
}

/** The options every reporting command has (the seed's -v, -sll, -fll, -hp, and --machine-readable). */
export type ReportFields = Pick<BuildOptions, 'verbose' | 'stdoutLogLevel' | 'fileLogLevel' | 'hideProgress' | 'machineReadable'>;

/** `aiop build_all` options. */
export type Invocation =
  | { command: 'build'; options: BuildOptions; argv: string[] }
  | { command: 'build_all'; options: BuildAllOptions }
  | { command: 'build-help'; systemTarget: string }
  | { command: 'build_again'; report: ReportFields }
  | { command: 'done' }
  /** The usage was printed because the command line named no command (exit 2). */
  | { command: 'usage' }
  | { command: 'init'; options: InitOptions }
  | { command: 'validate'; verbose: boolean; machineReadable: boolean }
  | { command: 'targets' }
  | { command: 'schema' }
  | { command: 'repo-apt'; options: RepoAptOptions }
  | { command: 'cache'; action: 'ls' | 'verify' | 'clean'; olderThanDays?: number }
  | { command: 'completion'; shell: 'bash' | 'zsh' | 'fish' }
  /** Hidden: the candidates for the last word of `words` (the completion scripts call it). */
  | { command: '__complete'; words: string[] };

/** Parses the whole command line. Commander's own messages go to stderr. */
export function parseAiop(argv: string[]): Invocation {
  // Completion must stay quick and must not trip over half-typed options: no commander here.
  if (argv[0] === '__complete') return { command: '__complete', words: argv.slice(1) };
  let invocation: Invocation = { command: 'done' };
  const program = new Command('aiop')
    .description('Build distributable packages for many system targets from one declarative playbook')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    // Help goes to stderr; commander's error messages are not written here but thrown, and
    // src/cli/run.ts prints each once, as every other usage error.
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => undefined });

  const build = withOptions(
    program
      .command('build')
      .description(
        'Build a package from a playbook. The positional arguments are dynamic: they are the compatibility arguments ' +
          'of the system target, defined in .aiop/inventory_config.yml. Run it from the root folder of the playbook.',
      )
      .usage('{system_target} {params} [options]   (aiop build TARGET -h lists the target\'s parameters)')
      .helpOption(false)
      .argument('[system_target]', 'System target for which to create a package')
      .argument('[params...]', 'Its compatibility values, in order, or as name=value'),
    'build',
  ).action((systemTarget: string | undefined, params: string[], raw: Raw) => {
    if (raw.help) {
      if (systemTarget) invocation = { command: 'build-help', systemTarget };
      else {
        build.outputHelp();
        invocation = { command: 'done' };
      }
      return;
    }
    if (!systemTarget) throw new UsageError('missing {system_target}', 'usage: aiop build {system_target} {params} [options]; aiop build TARGET -h lists its parameters');
    invocation = { command: 'build', options: toBuildOptions(systemTarget, params, raw), argv: argv.slice(argv.indexOf('build') + 1) };
  });

  withOptions(
    program.command('build_all').description('Build all the packages listed in .aiop/packages.yml, several at once; in CI, write a dynamic pipeline instead'),
    'build_all',
  ).action((raw: Raw & { threads?: number; ci?: 'gitlab' | 'github'; local?: boolean }) => {
    invocation = {
      command: 'build_all',
      options: {
        ...(raw.threads !== undefined ? { threads: raw.threads } : {}),
        ...(raw.ci !== undefined ? { ci: raw.ci } : {}),
        local: raw.local ?? false,
        ...reportOptions(raw),
      },
    };
  });

  withOptions(program.command('build_again').description('Rebuild with the last build command'), 'build_again').action((raw: Raw) => {
    invocation = { command: 'build_again', report: reportOptions(raw) };
  });

  withOptions(
    program
      .command('init')
      .description('Write a new, working playbook (three .aiop files, a files/ example, .aiop/.gitignore); never overwrites a file')
      .argument('[folder]', 'Folder to write it in (created when missing; default: the current folder)'),
    'init',
  ).action((folder: string | undefined, raw: { name?: string; target?: string }) => {
    invocation = {
      command: 'init',
      options: { ...(folder !== undefined ? { folder } : {}), ...(raw.name !== undefined ? { name: raw.name } : {}), ...(raw.target !== undefined ? { target: raw.target } : {}) },
    };
  });

  withOptions(
    program.command('validate').description('Check every playbook file without building; print every problem found (exit 0 when all is well, 2 otherwise)'),
    'validate',
  ).action((raw: { verbose?: boolean; machineReadable?: boolean }) => {
    invocation = { command: 'validate', verbose: raw.verbose ?? false, machineReadable: raw.machineReadable ?? false };
  });

  withOptions(
    program
      .command('repo')
      .description('Publish the built packages as a repository')
      .command('apt')
      .description('Make or update a signed apt repository in OUTPUT_DIR from the .debs in .build/ (or --deb FILE...)')
      .argument('<output_dir>', 'Folder of the repository'),
    'repo apt',
  ).action((outputDir: string, raw: { suite: string; component: string; deb?: string[]; signing_key?: string; upload_url?: string; retries?: number }) => {
    invocation = {
      command: 'repo-apt',
      options: {
        outputDir,
        suite: raw.suite,
        component: raw.component,
        debs: raw.deb ?? [],
        ...(raw.signing_key !== undefined ? { signingKeyFile: raw.signing_key } : {}),
        ...(raw.upload_url !== undefined ? { uploadUrl: raw.upload_url } : {}),
        ...(raw.retries !== undefined ? { retries: raw.retries } : {}),
      },
    };
  });

  program
    .command('targets')
    .description('List the system targets, their compatibility parameters and choices, and the packages of packages.yml')
    .action(() => {
      invocation = { command: 'targets' };
    });

  program
    .command('schema')
    .description('Write the JSON Schemas into .aiop/schema/ and point the playbook files at them, for completion in editors')
    .action(() => {
      invocation = { command: 'schema' };
    });

  const cache = program
    .command('cache')
    .description('Inspect and clean the artifact cache (user config cache_dir, else $XDG_CACHE_HOME/aiop)')
    .argument('[action]', 'ls, verify or clean')
    .action((action: string | undefined) => {
      const hint = 'usage: aiop cache ls | verify | clean [--older-than DAYS]';
      throw new UsageError(action === undefined ? 'missing cache action' : `unknown cache action "${action}"`, hint);
    });
  cache
    .command('ls')
    .description('List cached artifacts: URL, size, age, integrity')
    .action(() => {
      invocation = { command: 'cache', action: 'ls' };
    });
  cache
    .command('verify')
    .description('Check the integrity of every cached artifact; remove the bad ones')
    .action(() => {
      invocation = { command: 'cache', action: 'verify' };
    });
  withOptions(cache.command('clean').description('Remove cached artifacts: all of them, or those older than --older-than DAYS'), 'cache clean').action(
    (raw: { olderThan?: number }) => {
      invocation = { command: 'cache', action: 'clean', ...(raw.olderThan !== undefined ? { olderThanDays: raw.olderThan } : {}) };
    },
  );

  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish (its first lines say how to load it)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .action((shell: 'bash' | 'zsh' | 'fish') => {
      invocation = { command: 'completion', shell };
    });

  try {
    program.parse(normalizeArgv(argv, longOptions(program)), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help shown in place of a missing command (`aiop`, `aiop repo`) is a usage error.
      if (error.code === 'commander.help' && error.exitCode !== 0) return { command: 'usage' };
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        return { command: 'done' };
      }
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  return invocation;
}

