/**
 * The `aiop` command line, parsed into typed invocations. Pure: no command runs here.
 */
import type { RepoAptOptions } from '../commands/repo.js';
import { Argument, Command, CommanderError, Option } from 'commander';
import { LEVELS, type Level } from '../core/events.js';
import { VERSION } from '../core/version.js';
import { UsageError } from '../core/errors.js';
import { defaultBuildOptions, type BuildOptions } from '../options/build-options.js';
import type { BuildAllOptions, InitOptions } from '../options/command-options.js';

export type { BuildAllOptions, InitOptions } from '../options/command-options.js';


/** The seed's multi-letter short options, which commander cannot declare. */
const SHORT_ALIASES: Record<string, string> = {
  '-sll': '--stdout_log_level',
  '-fll': '--file_log_level',
  '-hp': '--hide_progress',
};

/** A long option's name with `-` and `_` made the same, so that either spelling finds it. */
function spellingKey(long: string): string {
  return long.replace(/_/g, '-');
}

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
  const upper = value.toUpperCase();
  if (!(LEVELS as readonly string[]).includes(upper)) {
    throw new UsageError(`"${value}" is not a log level`, `valid choices: ${LEVELS.join(', ')}`);
  }
  return upper as Level;
}

function days(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--older-than must be a number of days, not "${value}"`);
  return Number(value);
}

function integer(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number, not "${value}"`);
    return Number(value);
  };
}

/** Options shared by every command that reports (build, build_all, build_again). */
function reportingOptions(cmd: Command): Command {
  return cmd
    .option('-v, --verbose', 'Force the verbosity of the logs to DEBUG, overriding -sll and -fll')
    .addOption(new Option('--stdout_log_level <level>', '(-sll) Console log level: DEBUG INFO WARNING ERROR CRITICAL DISABLED').argParser(level))
    .addOption(new Option('--file_log_level <level>', '(-fll) Log file level: DEBUG INFO WARNING ERROR CRITICAL DISABLED').argParser(level))
    .option('--hide_progress', '(-hp) Hide the progress box')
    .option('--machine-readable', 'Packer-style machine-readable output on stdout');
}

interface RawBuildOptions {
  compat_args?: string[];
  args?: string[];
  destination_path?: string;
  force?: boolean;
  zip_pack?: boolean;
  goto_pack?: boolean;
  upload?: string[];
  upload_url?: string;
  installer?: Array<'deb' | 'rpm'>;
  installer_name?: string;
  no_verify?: boolean;
  retries?: number;
  no_caching?: boolean;
  verbose?: boolean;
  stdout_log_level?: Level;
  file_log_level?: Level;
  hide_progress?: boolean;
  machineReadable?: boolean;
  jobs?: number;
  help?: boolean;
}

/** Turns commander's parse of `aiop build` into {@link BuildOptions}. */
function toBuildOptions(systemTarget: string, params: string[], raw: RawBuildOptions): BuildOptions {
  const options = defaultBuildOptions(systemTarget, [...params, ...(raw.compat_args ?? []), ...(raw.args ?? [])]);
  const assignments: Record<string, string> = {};
  return {
    ...options,
    ...(raw.destination_path !== undefined ? { destinationPath: raw.destination_path } : {}),
    force: raw.force ?? false,
    zipPack: raw.zip_pack ?? false,
    gotoPack: raw.goto_pack ?? false,
    upload: raw.upload ?? [],
    ...(raw.upload_url !== undefined ? { uploadUrl: raw.upload_url } : {}),
    ...(raw.installer !== undefined ? { installer: raw.installer } : {}),
    ...(raw.installer_name !== undefined ? { installerName: raw.installer_name } : {}),
    noVerify: raw.no_verify ?? false,
    ...(raw.retries !== undefined ? { retries: raw.retries } : {}),
    noCaching: raw.no_caching ?? false,
    verbose: raw.verbose ?? false,
    ...(raw.stdout_log_level !== undefined ? { stdoutLogLevel: raw.stdout_log_level } : {}),
    ...(raw.file_log_level !== undefined ? { fileLogLevel: raw.file_log_level } : {}),
    hideProgress: raw.hide_progress ?? false,
    machineReadable: raw.machineReadable ?? false,
    ...(raw.jobs !== undefined ? { jobs: raw.jobs } : {}),
    assignments,
  };
}

/** `aiop build_all` options. */
export type Invocation =
  | { command: 'build'; options: BuildOptions; argv: string[] }
  | { command: 'build_all'; options: BuildAllOptions }
  | { command: 'build-help'; systemTarget: string }
  | { command: 'build_again'; report: Pick<BuildOptions, 'machineReadable'> }
  | { command: 'done' }
  | { command: 'init'; options: InitOptions }
  | { command: 'validate'; verbose: boolean; machineReadable: boolean }
  | { command: 'targets' }
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
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const build = reportingOptions(
    program
      .command('build')
      .description(
        'Build a package from a playbook. The positional arguments are dynamic: they are the compatibility arguments ' +
          'of the system target, defined in .aiop/inventory_config.yml. Run it from the root folder of the playbook.',
      )
      .usage('{system_target} {params} [options]   (aiop build TARGET -h lists the target\'s parameters)')
      .helpOption(false)
      .argument('[system_target]', 'System target for which to create a package')
      .argument('[params...]', 'Its compatibility values, in order, or as name=value')
      .option('-h, --help', 'show this help message and exit (with a system target: its parameters)')
      .option('--compat_args <args...>', 'List of compatibility arguments')
      .option('--args <args...>', 'Same as --compat_args')
      .option('--destination_path <path>', 'Path to destination (default: .build/<package-id> in the playbook)')
      .option('--force', 'Use destination_path even if it is not empty (it is deleted first)')
      .option('--zip_pack', 'Zip the built package')
      .option('--goto_pack', 'Open the newly created package in the file manager')
      .option('--upload <kinds...>', 'Upload the generated installer or zipped package (zip, deb, rpm); needs --upload_url')
      .option('--upload_url <url>', 'Upload repository URL; needs --upload')
      .addOption(new Option('--installer <types...>', 'Types of installer to generate (deb, rpm; both: --installer deb rpm)').choices(['deb', 'rpm']))
      .option('--installer_name <name>', 'File name of the installer')
      .option('--no_verify', 'Do not verify an artifact taken from the cache (a fresh download is always verified)')
      .addOption(new Option('--retries <n>', 'Download retries after the first try (overrides download_retries; default 3)').argParser(integer('--retries')))
      .option('--no_caching', 'Download artifacts again and copy them into the package instead of taking them from the cache')
      .addOption(new Option('-j, --jobs <n>', 'Recipe targets run at once (default: number of CPUs)').argParser(integer('--jobs'))),
  ).action((systemTarget: string | undefined, params: string[], raw: RawBuildOptions) => {
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

  reportingOptions(
    program
      .command('build_all')
      .description('Build all the packages listed in .aiop/packages.yml, several at once; in CI, write a dynamic pipeline instead')
      .addOption(new Option('-t, --threads <n>', 'Number of packages built at once (default: 4, or `threads` in the user config)').argParser(integer('--threads')))
      .addOption(new Option('--ci <system>', 'Write a CI pipeline instead of building: gitlab (child pipeline) or github (matrix)').choices(['gitlab', 'github']))
      .option('--local', 'Build here even inside a CI pipeline'),
  ).action((raw: RawBuildOptions & { threads?: number; ci?: 'gitlab' | 'github'; local?: boolean }) => {
    if (raw.threads !== undefined && raw.threads < 1) throw new UsageError('--threads must be at least 1');
    invocation = {
      command: 'build_all',
      options: {
        ...(raw.threads !== undefined ? { threads: raw.threads } : {}),
        ...(raw.ci !== undefined ? { ci: raw.ci } : {}),
        local: raw.local ?? false,
        verbose: raw.verbose ?? false,
        ...(raw.stdout_log_level !== undefined ? { stdoutLogLevel: raw.stdout_log_level } : {}),
        ...(raw.file_log_level !== undefined ? { fileLogLevel: raw.file_log_level } : {}),
        hideProgress: raw.hide_progress ?? false,
        machineReadable: raw.machineReadable ?? false,
      },
    };
  });

  reportingOptions(program.command('build_again').description('Rebuild with the last build command')).action(
    (raw: RawBuildOptions) => {
      invocation = { command: 'build_again', report: { machineReadable: raw.machineReadable ?? false } };
    },
  );

  program
    .command('init')
    .description('Write a new, working playbook (three .aiop files, a files/ example, .aiop/.gitignore); never overwrites a file')
    .argument('[folder]', 'Folder to write it in (created when missing; default: the current folder)')
    .option('--name <name>', 'Package name, a Debian package name (default: from the folder name)')
    .option('--target <name>', 'Name of the system target (default: linux)')
    .action((folder: string | undefined, raw: { name?: string; target?: string }) => {
      invocation = {
        command: 'init',
        options: { ...(folder !== undefined ? { folder } : {}), ...(raw.name !== undefined ? { name: raw.name } : {}), ...(raw.target !== undefined ? { target: raw.target } : {}) },
      };
    });

  program
    .command('validate')
    .description('Check every playbook file without building; print every problem found (exit 0 when all is well, 2 otherwise)')
    .option('-v, --verbose', 'Print a summary of what was checked')
    .option('--machine-readable', 'One machine-readable `error` line per problem on stdout')
    .action((raw: { verbose?: boolean; machineReadable?: boolean }) => {
      invocation = { command: 'validate', verbose: raw.verbose ?? false, machineReadable: raw.machineReadable ?? false };
    });

  program
    .command('repo')
    .description('Publish the built packages as a repository')
    .command('apt')
    .description('Make or update a signed apt repository in OUTPUT_DIR from the .debs in .build/ (or --deb FILE...)')
    .argument('<output_dir>', 'Folder of the repository')
    .option('--suite <name>', 'Suite (dists/<suite>)', 'stable')
    .option('--component <name>', 'Component', 'main')
    .option('--deb <files...>', 'The .deb files to add (default: every .deb in the playbook\'s .build/)')
    .option('--signing_key <file>', 'Armored OpenPGP private key (default: the environment variable AIOP_SIGNING_KEY)')
    .option('--upload_url <url>', 'PUT the files that changed to URL, under the same paths (as --upload does: checksum headers, retries)')
    .addOption(new Option('--retries <n>', 'Upload retries after the first try (overrides download_retries; default 3)').argParser(integer('--retries')))
    .action((outputDir: string, raw: { suite: string; component: string; deb?: string[]; signing_key?: string; upload_url?: string; retries?: number }) => {
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
  cache
    .command('clean')
    .description('Remove cached artifacts: all of them, or those older than --older-than DAYS')
    .addOption(new Option('--older-than <days>', 'Only entries cached more than DAYS days ago (0: every entry)').argParser(days))
    .action((raw: { olderThan?: number }) => {
      invocation = { command: 'cache', action: 'clean', ...(raw.olderThan !== undefined ? { olderThanDays: raw.olderThan } : {}) };
    });

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
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        return { command: 'done' };
      }
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  return invocation;
}

