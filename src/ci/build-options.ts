/**
 * The `aiop build` options that a package in `.aiop/packages.yml` may set under `options:`,
 * by their long names, as the seed (`aiop-build-commands.txt`) spells them, plus the SPEC's
 * additions. Each option's kind decides which YAML values it takes and how it becomes
 * command-line words, so a typo or a wrong value is caught when packages.yml is read, not
 * halfway through a CI pipeline.
 */
import { LEVELS } from '../core/events.js';

/** How an option's value is written in YAML and on the command line. */
export type BuildOptionKind =
  /** `true` gives `--name`; `false` gives nothing. */
  | { kind: 'flag' }
  /** Any non-empty text: `--name value`. */
  | { kind: 'text' }
  /** A whole number not below `min`: `--name 3`. */
  | { kind: 'integer'; min: number }
  /** One of `choices`: `--name value`. */
  | { kind: 'choice'; choices: readonly string[] }
  /** One or more of `choices`, a YAML list or a single value: `--name a b`. */
  | { kind: 'choices'; choices: readonly string[] };

/** The long option names in the seed's order (which is also the order of generated arguments). */
export const BUILD_OPTIONS: Readonly<Record<string, BuildOptionKind>> = {
  destination_path: { kind: 'text' },
  force: { kind: 'flag' },
  zip_pack: { kind: 'flag' },
  goto_pack: { kind: 'flag' },
  upload: { kind: 'choices', choices: ['zip', 'deb', 'rpm'] },
  upload_url: { kind: 'text' },
  installer: { kind: 'choices', choices: ['deb', 'rpm'] },
  installer_name: { kind: 'text' },
  no_verify: { kind: 'flag' },
  retries: { kind: 'integer', min: 0 },
  no_caching: { kind: 'flag' },
  verbose: { kind: 'flag' },
  stdout_log_level: { kind: 'choice', choices: LEVELS },
  file_log_level: { kind: 'choice', choices: LEVELS },
  hide_progress: { kind: 'flag' },
  // Additions of the SPEC (section 3): recipe parallelism and Packer-style output.
  jobs: { kind: 'integer', min: 1 },
  'machine-readable': { kind: 'flag' },
};

/** Every long option name that `options:` in packages.yml accepts. */
export const KNOWN_BUILD_OPTIONS: readonly string[] = Object.keys(BUILD_OPTIONS);

/** Names that people reach for but that packages.yml spells differently; the hint says how. */
const MISPLACED: Readonly<Record<string, string>> = {
  compat_args: 'compatibility values go in the entry\'s `compat_args` or `matrix`, not under `options`',
  args: 'compatibility values go in the entry\'s `compat_args` or `matrix`, not under `options`',
  help: '`help` only prints usage; it has no place in packages.yml',
  h: '`help` only prints usage; it has no place in packages.yml',
};

/** Why an option value is refused, with the hint to show; undefined when it is fine. */
export function checkOptionValue(name: string, value: unknown): { message: string; hint?: string } | undefined {
  const option = BUILD_OPTIONS[name];
  if (option === undefined) {
    const misplaced = MISPLACED[name];
    if (misplaced !== undefined) return { message: `option "${name}" is not allowed here`, hint: misplaced };
    return { message: `unknown \`aiop build\` option "${name}"` };
  }
  switch (option.kind) {
    case 'flag':
      return typeof value === 'boolean' ? undefined : { message: `option "${name}" takes true or false, not ${describe(value)}` };
    case 'text':
      return (typeof value === 'string' && value !== '') || typeof value === 'number'
        ? undefined
        : { message: `option "${name}" takes a non-empty text, not ${describe(value)}` };
    case 'integer':
      return Number.isInteger(value) && (value as number) >= option.min
        ? undefined
        : { message: `option "${name}" takes a whole number of at least ${option.min}, not ${describe(value)}` };
    case 'choice':
      return typeof value === 'string' && option.choices.includes(value)
        ? undefined
        : { message: `option "${name}" does not accept ${describe(value)}`, hint: `valid choices: ${option.choices.join(', ')}` };
    case 'choices': {
      const values = Array.isArray(value) ? value : [value];
      const wrong = values.find((v) => typeof v !== 'string' || !option.choices.includes(v));
      if (values.length === 0) return { message: `option "${name}" needs at least one value`, hint: `valid choices: ${option.choices.join(', ')}` };
      return wrong === undefined
        ? undefined
        : { message: `option "${name}" does not accept ${describe(wrong)}`, hint: `valid choices: ${option.choices.join(', ')}` };
    }
  }
}

/**
 * The command-line words for a package's options, in {@link KNOWN_BUILD_OPTIONS} order so
 * that the same options always give the same command line. The values must have passed
 * {@link checkOptionValue}.
 */
export function optionArgs(options: Record<string, unknown>): string[] {
  const words: string[] = [];
  for (const name of KNOWN_BUILD_OPTIONS) {
    if (!(name in options)) continue;
    const value = options[name];
    const option = BUILD_OPTIONS[name]!;
    switch (option.kind) {
      case 'flag':
        if (value === true) words.push(`--${name}`);
        break;
      case 'choices':
        words.push(`--${name}`, ...(Array.isArray(value) ? value : [value]).map(String));
        break;
      default:
        words.push(`--${name}`, String(value));
    }
  }
  return words;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}
