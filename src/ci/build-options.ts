/**
 * The `aiop build` options that a package in `.aiop/packages.yml` may set under `options:`,
 * by their long names, as the seed (`aiop-build-commands.txt`) spells them, plus the SPEC's
 * additions. Each option's kind decides which YAML values it takes and how it becomes
 * command-line words, so a typo or a wrong value is caught when packages.yml is read, not
 * halfway through a CI pipeline.
 */
import { PACKAGE_OPTIONS, spellingKey, type OptionSpec } from '../options/table.js';

/** The options packages.yml may set, by {@link spellingKey} (`zip-pack` finds `zip_pack`). */
const BY_KEY = new Map(PACKAGE_OPTIONS.map((o) => [spellingKey(o.name), o]));

/** Every long option name that `options:` in packages.yml accepts, as the seed spells it, in the seed's order. */
export const KNOWN_BUILD_OPTIONS: readonly string[] = PACKAGE_OPTIONS.map((o) => o.name);

/** The seed's spelling of an option name given in either spelling; undefined for an unknown one. */
export function canonicalOptionName(name: string): string | undefined {
  return BY_KEY.get(spellingKey(name))?.name;
}

/** Names that people reach for but that packages.yml spells differently; the hint says how. */
const MISPLACED: Readonly<Record<string, string>> = {
  compat_args: 'compatibility values go in the entry\'s `compat_args` or `matrix`, not under `options`',
  args: 'compatibility values go in the entry\'s `compat_args` or `matrix`, not under `options`',
  help: '`help` only prints usage; it has no place in packages.yml',
  h: '`help` only prints usage; it has no place in packages.yml',
  signing_key: 'a CI job signs the .rpm with the key in its secret environment variable AIOP_SIGNING_KEY; the key stays out of packages.yml',
};

/** Why an option value is refused, with the hint to show; undefined when it is fine. */
export function checkOptionValue(name: string, value: unknown): { message: string; hint?: string } | undefined {
  const option = BY_KEY.get(spellingKey(name))?.value;
  if (option === undefined) {
    const misplaced = MISPLACED[name];
    if (misplaced !== undefined) return { message: `option "${name}" is not allowed here`, hint: misplaced };
    return { message: `unknown \`aiop build\` option "${name}"` };
  }
  switch (option.kind) {
    case 'flag':
      return typeof value === 'boolean' ? undefined : { message: `option "${name}" takes true or false, not ${describe(value)}` };
    case 'text':
    case 'texts':
      return (typeof value === 'string' && value !== '') || typeof value === 'number'
        ? undefined
        : { message: `option "${name}" takes a non-empty text, not ${describe(value)}` };
    case 'integer':
    case 'days': {
      const min = option.kind === 'integer' ? option.min : 0;
      return Number.isInteger(value) && (value as number) >= min
        ? undefined
        : { message: `option "${name}" takes a whole number of at least ${min}, not ${describe(value)}` };
    }
    case 'level':
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
  const byName = new Map(Object.entries(options).map(([name, value]) => [canonicalOptionName(name) ?? name, value]));
  return PACKAGE_OPTIONS.flatMap((option) => (byName.has(option.name) ? words(option, byName.get(option.name)) : []));
}

/** One option's words, spelled as the seed spells it. */
function words(option: OptionSpec, value: unknown): string[] {
  switch (option.value.kind) {
    case 'flag':
      return value === true ? [`--${option.name}`] : [];
    case 'texts':
    case 'choices':
      return [`--${option.name}`, ...(Array.isArray(value) ? value : [value]).map(String)];
    default:
      return [`--${option.name}`, String(value)];
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}
