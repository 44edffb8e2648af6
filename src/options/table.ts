/**
 * The one table of `aiop` options. The command-line parser (src/cli/aiop-args.ts), shell
 * completion (src/commands/completion.ts), the checks of `options:` in packages.yml and the
 * command lines of generated CI jobs (src/ci/build-options.ts), and the no-op record key
 * (src/store/noop.ts) all read their options from here, so an option exists everywhere or
 * nowhere. Kept free of heavy imports: the no-op fast path loads it.
 */
import { LEVELS } from '../core/events.js';
import type { BuildOptions } from './build-options.js';

/** A command that has options of its own (`repo apt` and `cache clean` are subcommands). */
export type OptionCommand = 'build' | 'build_all' | 'build_again' | 'validate' | 'init' | 'repo apt' | 'cache clean';

/** What follows an option on the command line, and what packages.yml may give it. */
export type OptionValue =
  /** Nothing: `--zip_pack`; `true` in packages.yml. */
  | { kind: 'flag' }
  /** One word of free text. */
  | { kind: 'text'; placeholder: string }
  /** One or more words of free text. */
  | { kind: 'texts'; placeholder: string }
  /** A whole number not below `min`. */
  | { kind: 'integer'; placeholder: string; min: number }
  /** A number of days, maybe with a fraction. */
  | { kind: 'days'; placeholder: string }
  /** A log level, in any case. */
  | { kind: 'level'; placeholder: string; choices: readonly string[] }
  /** One of `choices`. */
  | { kind: 'choice'; placeholder: string; choices: readonly string[] }
  /** One or more of `choices`. */
  | { kind: 'choices'; placeholder: string; choices: readonly string[] };

/** One option. */
export interface OptionSpec {
  /** The long name without its dashes, spelled as the seed spells it (`zip_pack`, `machine-readable`). */
  name: string;
  /** The short form with its dash: `-j`, or one of the seed's multi-letter ones (`-sll`). */
  short?: string;
  /** Other long names without dashes (`args` for `compat_args`). */
  aliases?: readonly string[];
  value: OptionValue;
  /** The `--help` line, in plain words. */
  help: string;
  /** What `--help` shows as the default, written as users type it. */
  default?: string;
  /** The value the parser gives the option when it is not on the command line (also shown by `--help`). */
  defaultValue?: string;
  commands: readonly OptionCommand[];
  /** The field of {@link BuildOptions} that holds it, for options of `aiop build`. */
  field?: keyof BuildOptions;
  /**
   * Changes how a build reports, not what it builds or records: the no-op record key leaves
   * it out, and a build answered from the record takes it from the command typed now.
   */
  reportOnly?: true;
  /** `options:` in packages.yml (and so the command line of a CI job) may set it. */
  packages?: true;
}

const REPORTING: readonly OptionCommand[] = ['build', 'build_all', 'build_again'];

/**
 * Every option, each command's in the order `--help` lists them; for `aiop build`, the seed's
 * order, which is also the order of the words of a generated CI job.
 */
export const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'help',
    short: '-h',
    value: { kind: 'flag' },
    help: 'Show this help and exit; with a system target, list its compatibility parameters',
    commands: ['build'],
  },
  {
    name: 'compat_args',
    aliases: ['args'],
    value: { kind: 'texts', placeholder: 'args' },
    help: 'The compatibility values, in order or as name=value (--args is the same)',
    commands: ['build'],
  },
  {
    name: 'destination_path',
    value: { kind: 'text', placeholder: 'path' },
    help: 'Folder to build the package in',
    default: '.build/<package-id> in the playbook',
    commands: ['build'],
    field: 'destinationPath',
    packages: true,
  },
  {
    name: 'force',
    value: { kind: 'flag' },
    help: 'Use destination_path even if it is not empty (it is deleted first)',
    commands: ['build'],
    field: 'force',
    packages: true,
  },
  { name: 'zip_pack', value: { kind: 'flag' }, help: 'Zip the built package', commands: ['build'], field: 'zipPack', packages: true },
  {
    name: 'goto_pack',
    value: { kind: 'flag' },
    help: 'Open the newly created package in the file manager',
    commands: ['build'],
    field: 'gotoPack',
    packages: true,
  },
  {
    name: 'upload',
    value: { kind: 'choices', placeholder: 'kinds', choices: ['zip', 'deb', 'rpm'] },
    help: 'Upload the zipped package or the installers; needs --upload_url',
    commands: ['build'],
    field: 'upload',
    packages: true,
  },
  {
    name: 'upload_url',
    value: { kind: 'text', placeholder: 'url' },
    help: 'URL of the repository to upload to; needs --upload',
    commands: ['build'],
    field: 'uploadUrl',
    packages: true,
  },
  {
    name: 'installer',
    value: { kind: 'choices', placeholder: 'types', choices: ['deb', 'rpm'] },
    help: 'Installers to make, one file each: --installer deb rpm makes both',
    commands: ['build'],
    field: 'installer',
    packages: true,
  },
  {
    name: 'installer_name',
    value: { kind: 'text', placeholder: 'name' },
    help: 'File name of the installer',
    commands: ['build'],
    field: 'installerName',
    packages: true,
  },
  {
    // Not in packages.yml: a CI job gets its key from a secret, as AIOP_SIGNING_KEY.
    name: 'signing_key',
    value: { kind: 'text', placeholder: 'file' },
    help: 'Sign the .rpm with this armored OpenPGP private key (RSA or Ed25519); needs --installer rpm',
    default: 'the environment variable AIOP_SIGNING_KEY; unsigned without either',
    commands: ['build'],
    field: 'signingKey',
  },
  {
    name: 'no_verify',
    value: { kind: 'flag' },
    help: 'Do not verify an artifact taken from the cache (a fresh download is always verified)',
    commands: ['build'],
    field: 'noVerify',
    packages: true,
  },
  {
    name: 'retries',
    value: { kind: 'integer', placeholder: 'n', min: 0 },
    help: 'Download retries after the first try; overrides download_retries of the user config',
    default: '3',
    commands: ['build'],
    field: 'retries',
    packages: true,
  },
  {
    name: 'no_caching',
    value: { kind: 'flag' },
    help: 'Download artifacts again and copy them into the package instead of taking them from the cache',
    commands: ['build'],
    field: 'noCaching',
    packages: true,
  },
  {
    name: 'jobs',
    short: '-j',
    value: { kind: 'integer', placeholder: 'n', min: 1 },
    help: 'Recipe targets run at once; overrides jobs of the user config',
    default: 'the number of CPUs',
    commands: ['build'],
    field: 'jobs',
    packages: true,
  },
  {
    name: 'threads',
    short: '-t',
    value: { kind: 'integer', placeholder: 'n', min: 1 },
    help: 'Packages built at once; overrides threads of the user config',
    default: '4',
    commands: ['build_all'],
  },
  {
    name: 'ci',
    value: { kind: 'choice', placeholder: 'system', choices: ['gitlab', 'github'] },
    help: 'Write a CI pipeline instead of building: gitlab (child pipeline) or github (matrix)',
    commands: ['build_all'],
  },
  { name: 'local', value: { kind: 'flag' }, help: 'Build here even inside a CI pipeline', commands: ['build_all'] },
  {
    name: 'verbose',
    short: '-v',
    value: { kind: 'flag' },
    help: 'Log everything (DEBUG) on the console and in the log file, whatever -sll and -fll say',
    commands: [...REPORTING],
    field: 'verbose',
    packages: true,
  },
  {
    name: 'stdout_log_level',
    short: '-sll',
    value: { kind: 'level', placeholder: 'level', choices: LEVELS },
    help: 'Console log level',
    default: 'INFO',
    commands: [...REPORTING],
    field: 'stdoutLogLevel',
    packages: true,
  },
  {
    name: 'file_log_level',
    short: '-fll',
    value: { kind: 'level', placeholder: 'level', choices: LEVELS },
    help: 'Log file level',
    default: 'DEBUG',
    commands: [...REPORTING],
    field: 'fileLogLevel',
    packages: true,
  },
  {
    name: 'hide_progress',
    short: '-hp',
    value: { kind: 'flag' },
    help: 'Hide the progress box',
    commands: [...REPORTING],
    field: 'hideProgress',
    reportOnly: true,
    packages: true,
  },
  {
    name: 'machine-readable',
    value: { kind: 'flag' },
    help: 'Packer-style machine-readable output on stdout',
    commands: [...REPORTING],
    field: 'machineReadable',
    reportOnly: true,
    packages: true,
  },
  {
    name: 'verbose',
    short: '-v',
    value: { kind: 'flag' },
    help: 'Print a summary of what was checked',
    commands: ['validate'],
  },
  {
    name: 'machine-readable',
    value: { kind: 'flag' },
    help: 'One machine-readable error line per problem on stdout',
    commands: ['validate'],
  },
  {
    name: 'name',
    value: { kind: 'text', placeholder: 'name' },
    help: 'Package name, a Debian package name',
    default: 'from the folder name',
    commands: ['init'],
  },
  {
    name: 'target',
    value: { kind: 'text', placeholder: 'name' },
    help: 'Name of the system target',
    default: 'linux',
    commands: ['init'],
  },
  { name: 'suite', value: { kind: 'text', placeholder: 'name' }, help: 'Suite (dists/<suite>)', defaultValue: 'stable', commands: ['repo apt'] },
  { name: 'component', value: { kind: 'text', placeholder: 'name' }, help: 'Component', defaultValue: 'main', commands: ['repo apt'] },
  {
    name: 'deb',
    value: { kind: 'texts', placeholder: 'files' },
    help: 'The .deb files to add',
    default: "every .deb in the playbook's .build/",
    commands: ['repo apt'],
  },
  {
    name: 'signing_key',
    value: { kind: 'text', placeholder: 'file' },
    help: 'Armored OpenPGP private key',
    default: 'the environment variable AIOP_SIGNING_KEY',
    commands: ['repo apt'],
  },
  {
    name: 'upload_url',
    value: { kind: 'text', placeholder: 'url' },
    help: 'PUT the files that changed to URL, under the same paths (as --upload does: checksum headers, retries)',
    commands: ['repo apt'],
  },
  {
    name: 'retries',
    value: { kind: 'integer', placeholder: 'n', min: 0 },
    help: 'Upload retries after the first try; overrides download_retries of the user config',
    default: '3',
    commands: ['repo apt'],
  },
  {
    name: 'older-than',
    value: { kind: 'days', placeholder: 'days' },
    help: 'Only entries cached more than DAYS days ago (0: every entry)',
    commands: ['cache clean'],
  },
];

/** The options of one command, in `--help` order. */
export function optionsOf(command: OptionCommand): OptionSpec[] {
  return OPTIONS.filter((o) => o.commands.includes(command));
}

/** A long option's name with `-` and `_` made the same (`zip-pack`), so that either spelling finds it. */
export function spellingKey(name: string): string {
  return name.replace(/_/g, '-');
}

/** Every word that names `option` on the command line: `--name`, its aliases, its short form. */
export function wordsOf(option: OptionSpec): string[] {
  return [...(option.short ? [option.short] : []), `--${option.name}`, ...(option.aliases ?? []).map((a) => `--${a}`)];
}

/** Whether the option takes values (one or more words after it). */
export function takesValue(option: OptionSpec): boolean {
  return option.value.kind !== 'flag';
}

/** Whether the option takes one or more words (`--upload zip deb`). */
export function takesList(option: OptionSpec): boolean {
  return option.value.kind === 'texts' || option.value.kind === 'choices';
}

/** The choices offered for the option's values; empty for free text and numbers. */
export function choicesOf(option: OptionSpec): readonly string[] {
  return 'choices' in option.value ? option.value.choices : [];
}

/** The options of `aiop build` that packages.yml may set, in the seed's order. */
export const PACKAGE_OPTIONS: readonly OptionSpec[] = optionsOf('build').filter((o) => o.packages);

/** The report-only switches of `aiop build` (flags, each with its {@link BuildOptions} field). */
export const REPORT_ONLY: readonly OptionSpec[] = optionsOf('build').filter((o) => o.reportOnly);

/** The words of the {@link REPORT_ONLY} switches in every spelling the command line accepts, by {@link spellingKey}. */
export const REPORT_ONLY_WORDS: ReadonlySet<string> = new Set(REPORT_ONLY.flatMap(wordsOf).map(spellingKey));
