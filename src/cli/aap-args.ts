/**
 * The `aap [option]... [assignment]... [target]...` grammar (SPEC section 3, seed
 * `aap-command-line.txt`). Hand-written rather than commander: commander cannot say
 * "order is irrelevant", "VAR=value is an assignment, anything else a target" or "this
 * option may appear only once, that one many times". One table drives everything.
 *
 * Settled points the seed leaves open (also in docs/aap.md):
 * - Short options may be bundled POSIX-style (`-nF`); an option that takes a value ends the
 *   bundle and takes the rest of the word or else the next word (`-nj4`, `-nj 4`, `-cCMD`).
 * - A value is the next word whatever it looks like (`-c -x` runs the command `-x`), as in
 *   getopt; a value may not be empty.
 * - Every option may appear once, except `-c` and `-I`. `--changed` may not repeat either
 *   (the seed does not note it as repeatable), so `changed` holds zero or one file.
 * - A single-dash word spelling a long option (`-force`) is refused with a hint instead of
 *   being read as `-f orce`.
 * - No abbreviated long options: `--forc` is unknown (with a suggestion), so adding an
 *   option later never changes what an existing command line means.
 */
import { UsageError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { AAP_DEBUG_FLAGS, URL_LIKE, type AapDebugFlag, type AapInvocation, type AapOptions } from '../options/aap-options.js';

export { AAP_DEBUG_FLAGS, recipeSource, URL_LIKE, type AapDebugFlag, type AapInvocation, type AapOptions, type RecipeSource } from '../options/aap-options.js';

/** One row of the option table. */
export interface AapOptionSpec {
  /** The one-letter form, if any (`v` for `-v`). */
  readonly short?: string;
  /** The long form without dashes; also the option's identity (for "given twice"). */
  readonly long: string;
  /** The name of the value in help and messages; absent for options that take none. */
  readonly value?: string;
  /** May appear more than once. */
  readonly repeatable: boolean;
  /** The field of {@link AapOptions} it sets. */
  readonly key: keyof AapOptions;
  /** Stores the option (and its value, already checked non-empty) into `options`. */
  readonly apply: (options: AapOptions, value: string, name: string) => void;
}

/** The fields of {@link AapOptions} that are on/off switches. */
type SwitchKey = { [K in keyof AapOptions]-?: AapOptions[K] extends boolean ? K : never }[keyof AapOptions];

const flag =
  (key: SwitchKey, to = true) =>
  (options: AapOptions): void => {
    options[key] = to;
  };

/** The option table, in the order of `aap -h`. */
export const AAP_OPTION_SPECS: readonly AapOptionSpec[] = [
  { short: 'a', long: 'nocache', repeatable: false, key: 'nocache', apply: flag('nocache') },
  { short: 'c', long: 'command', value: 'CMD', repeatable: true, key: 'commands', apply: (o, v) => void o.commands.push(v) },
  { long: 'changed', value: 'FILE', repeatable: false, key: 'changed', apply: (o, v) => void o.changed.push(v) },
  { short: 'C', long: 'contents', repeatable: false, key: 'contents', apply: flag('contents') },
  { short: 'd', long: 'debug', value: 'FLAGS', repeatable: false, key: 'debug', apply: (o, v, name) => (o.debug = parseDebugFlags(v, name)) },
  { short: 'f', long: 'recipe', value: 'FILE', repeatable: false, key: 'recipe', apply: (o, v, name) => (o.recipe = checkRecipe(v, name)) },
  { short: 'F', long: 'force', repeatable: false, key: 'force', apply: flag('force') },
  { short: 'h', long: 'help', repeatable: false, key: 'help', apply: flag('help') },
  { short: 'I', long: 'include', value: 'DIR', repeatable: true, key: 'include', apply: (o, v) => void o.include.push(v) },
  { long: 'install', value: 'PACKAGE', repeatable: false, key: 'install', apply: (o, v) => (o.install = v) },
  { short: 'j', long: 'jobs', value: 'N', repeatable: false, key: 'jobs', apply: (o, v, name) => (o.jobs = parseJobs(v, name)) },
  { short: 'k', long: 'continue', repeatable: false, key: 'continue', apply: flag('continue') },
  { short: 'l', long: 'local', repeatable: false, key: 'local', apply: flag('local') },
  { long: 'machine-readable', repeatable: false, key: 'machineReadable', apply: flag('machineReadable') },
  { short: 'n', long: 'nobuild', repeatable: false, key: 'nobuild', apply: flag('nobuild') },
  { short: 'N', long: 'nofetch-recipe', repeatable: false, key: 'nofetchRecipe', apply: flag('nofetchRecipe') },
  { long: 'profile', value: 'FILE', repeatable: false, key: 'profile', apply: (o, v) => (o.profile = v) },
  { short: 'R', long: 'fetch-recipe', repeatable: false, key: 'fetchRecipe', apply: flag('fetchRecipe') },
  // Stopping is the default, so -s only matters for the conflict with -k.
  { short: 's', long: 'stop', repeatable: false, key: 'continue', apply: flag('continue', false) },
  { short: 'S', long: 'silent', repeatable: false, key: 'silent', apply: flag('silent') },
  { short: 't', long: 'touch', repeatable: false, key: 'touch', apply: flag('touch') },
  { short: 'u', long: 'up', repeatable: false, key: 'up', apply: flag('up') },
  { short: 'V', long: 'version', repeatable: false, key: 'version', apply: flag('version') },
  { short: 'v', long: 'verbose', repeatable: false, key: 'verbose', apply: flag('verbose') },
];

const BY_SHORT = new Map(AAP_OPTION_SPECS.filter((s) => s.short).map((s) => [s.short!, s]));
/** Long options by name with `_` read as `-`: `--nofetch_recipe` is `--nofetch-recipe`. */
const BY_LONG = new Map(AAP_OPTION_SPECS.map((s) => [dashed(s.long), s]));

function dashed(long: string): string {
  return long.replace(/_/g, '-');
}

/** Pairs of options that contradict each other, checked in this order after parsing. */
const CONFLICTS: ReadonlyArray<readonly [string, string, string]> = [
  ['silent', 'verbose', 'they ask for less and for more output'],
  ['continue', 'stop', 'they ask to go on and to stop after an error'],
  ['fetch-recipe', 'nofetch-recipe', 'they ask to fetch and not to fetch the recipe'],
  ['nobuild', 'touch', '-n writes nothing while -t writes signatures'],
  ['up', 'recipe', '-u searches for the default recipe while -f names one'],
];

/** A variable name in `VAR=value`; a word whose part before `=` is not one is a target. */
export const AAP_VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `-s/--stop` or `--changed`: how messages name an option. */
export function optionLabel(spec: AapOptionSpec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

/** The options with their defaults. */
export function defaultAapOptions(): AapOptions {
  return {
    nocache: false,
    commands: [],
    changed: [],
    contents: false,
    debug: new Set(),
    force: false,
    help: false,
    include: [],
    continue: false,
    local: false,
    nobuild: false,
    nofetchRecipe: false,
    fetchRecipe: false,
    silent: false,
    touch: false,
    up: false,
    version: false,
    verbose: false,
    machineReadable: false,
  };
}

const HELP_HINT = 'run "aap -h" for the list of options';

/**
 * Parses argv (without node and script). Order of arguments is irrelevant; `--` ends
 * options (then only assignments and targets follow). Throws {@link UsageError} for an
 * unknown option (with a suggestion), a missing or bad value, an option given twice that
 * may not repeat, or two options that contradict each other. Never throws anything else.
 */
export function parseAapArgs(argv: readonly string[]): AapInvocation {
  const options = defaultAapOptions();
  const assignments: Array<[string, string]> = [];
  const targets: string[] = [];
  const given = new Set<string>();
  let optionsEnded = false;

  const use = (spec: AapOptionSpec, value: string | undefined): void => {
    const name = optionLabel(spec);
    if (given.has(spec.long) && !spec.repeatable) {
      throw new UsageError(`option ${name} may be given only once`, 'only -c/--command and -I/--include may repeat');
    }
    given.add(spec.long);
    if (spec.value !== undefined && !value) {
      throw new UsageError(`option ${name} needs a non-empty value (${spec.value})`, example(spec));
    }
    spec.apply(options, value ?? '', name);
  };

  let i = 0;
  while (i < argv.length) {
    const word = argv[i++]!;
    if (!optionsEnded && word === '--') {
      optionsEnded = true;
    } else if (!optionsEnded && word.startsWith('--')) {
      const eq = word.indexOf('=');
      const long = word.slice(2, eq < 0 ? undefined : eq);
      const spec = BY_LONG.get(dashed(long));
      if (!spec) throw unknownLong(`--${long}`);
      if (spec.value === undefined) {
        if (eq >= 0) throw new UsageError(`option ${optionLabel(spec)} takes no value (got "${word}")`);
        use(spec, undefined);
      } else if (eq >= 0) {
        use(spec, word.slice(eq + 1));
      } else {
        if (i >= argv.length) throw missingValue(spec);
        use(spec, argv[i++]);
      }
    } else if (!optionsEnded && word.startsWith('-') && word !== '-') {
      const long = word.slice(1).split('=')[0]!;
      if (long.length > 1 && BY_LONG.has(dashed(long))) {
        // getopt would read -force as -f orce: almost surely not what was meant.
        throw new UsageError(`unknown option ${word}: long options take two dashes`, `did you mean "--${word.slice(1)}"?`);
      }
      for (let at = 1; at < word.length; at++) {
        const letter = word[at]!;
        const spec = BY_SHORT.get(letter);
        if (!spec) {
          const within = word.length > 2 ? ` (in "${word}")` : '';
          throw new UsageError(`unknown option -${letter}${within}`, HELP_HINT);
        }
        if (spec.value === undefined) {
          use(spec, undefined);
          continue;
        }
        if (at + 1 < word.length) {
          use(spec, word.slice(at + 1));
        } else {
          if (i >= argv.length) throw missingValue(spec);
          use(spec, argv[i++]);
        }
        break;
      }
    } else {
      const eq = word.indexOf('=');
      const name = eq < 0 ? '' : word.slice(0, eq);
      if (eq > 0 && AAP_VARIABLE_NAME.test(name)) {
        assignments.push([name, word.slice(eq + 1)]);
      } else if (word === '') {
        throw new UsageError('an empty argument is not a target', 'remove the empty quotes from the command line');
      } else {
        targets.push(word);
      }
    }
  }

  for (const [a, b, why] of CONFLICTS) {
    if (given.has(a) && given.has(b)) {
      throw new UsageError(`options ${optionLabel(BY_LONG.get(a)!)} and ${optionLabel(BY_LONG.get(b)!)} cannot be used together: ${why}`);
    }
  }
  if (given.has('fetch-recipe') && options.recipe === 'NONE') {
    throw new UsageError('options -R/--fetch-recipe and -f NONE cannot be used together: there is no recipe to fetch');
  }
  return { options, assignments, targets };
}

/** The assignments as one map: for the same name a later assignment wins. */
export function assignmentMap(invocation: AapInvocation): Map<string, string> {
  return new Map(invocation.assignments);
}

function checkRecipe(value: string, name: string): string {
  if (!URL_LIKE.test(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`option ${name}: "${value}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`option ${name}: unsupported URL scheme "${url.protocol}"`, 'valid choices: http://, https://, a file path, or NONE');
  }
  return value;
}

function parseJobs(value: string, name: string): number {
  // Digits only: Number() would accept "0x10", " 4", "1e3".
  if (!/^[1-9][0-9]{0,5}$/.test(value)) {
    throw new UsageError(`option ${name} expects a positive whole number, got "${value}"`, `e.g. ${name.split('/')[0]} 4`);
  }
  return Number(value);
}

function parseDebugFlags(value: string, name: string): Set<AapDebugFlag> {
  const flags = new Set<AapDebugFlag>();
  const choices = `valid choices: ${AAP_DEBUG_FLAGS.join(', ')} (comma-separated)`;
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (!(AAP_DEBUG_FLAGS as readonly string[]).includes(item)) {
      const what = item === '' ? 'an empty debug flag' : `unknown debug flag "${item}"`;
      const suggestion = item === '' ? undefined : didYouMean(item, AAP_DEBUG_FLAGS);
      throw new UsageError(`option ${name}: ${what}`, suggestion ? `${suggestion} ${choices}` : choices);
    }
    flags.add(item as AapDebugFlag);
  }
  return flags;
}

function missingValue(spec: AapOptionSpec): UsageError {
  return new UsageError(`option ${optionLabel(spec)} needs a value (${spec.value})`, example(spec));
}

/** How to write the option with its value, for hints. */
function example(spec: AapOptionSpec): string {
  const long = `--${spec.long}=${spec.value}`;
  return spec.short ? `write -${spec.short} ${spec.value} or ${long}` : `write --${spec.long} ${spec.value} or ${long}`;
}

function unknownLong(word: string): UsageError {
  const suggestion = didYouMean(word, AAP_OPTION_SPECS.map((s) => `--${s.long}`));
  return new UsageError(`unknown option ${word}`, suggestion ?? HELP_HINT);
}
