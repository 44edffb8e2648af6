/**
 * The text of `aap -h`. Built from the option table so that an option added to the
 * parser cannot be missing here: every long name needs a line in {@link MEANINGS}, and
 * building the text fails loudly at load time if one is absent.
 */
import { AAP_DEBUG_FLAGS, AAP_OPTION_SPECS, type AapOptionSpec } from './aap-args.js';

/** One-line meaning of each option, by long name. */
const MEANINGS: Readonly<Record<string, string>> = {
  nocache: 'no cached copies of remote files: download once for this run',
  command: 'run built-in command CMD after reading the recipe (may repeat)',
  changed: 'consider FILE changed, and everything built from it, recursively',
  contents: 'only content changes count, not changed build commands',
  debug: `debug output for FLAGS, comma-separated: ${AAP_DEBUG_FLAGS.join(', ')}`,
  recipe: 'read recipe FILE (a path, an http(s) URL, or NONE for no recipe)',
  force: 'rebuild everything, even targets that are up to date',
  help: 'print this help and exit (no recipe is read)',
  include: 'also search DIR for included recipes (may repeat)',
  install: 'install the tool PACKAGE declared under tools: and exit',
  jobs: 'run at most N targets at once (default: the number of CPUs)',
  continue: 'keep going after an error (dependents of a failure are skipped)',
  local: 'do not recurse into child recipes',
  'machine-readable': 'print timestamp,target,type,data... lines on stdout',
  nobuild: 'only say what would be done; run nothing that writes',
  'nofetch-recipe': 'do not fetch recipes for the "fetch" and "update" targets',
  profile: 'write a Chrome trace-event profile of the run to FILE',
  'fetch-recipe': 'fetch the recipe and its child recipes again',
  stop: 'stop at the first error (the default)',
  silent: 'print less',
  touch: 'record targets as up to date without running their commands',
  up: 'search the folders upward for the recipe',
  version: 'print the version and exit (no recipe is read)',
  verbose: 'print more',
};

function usageColumn(spec: AapOptionSpec): string {
  const value = spec.value ? ` ${spec.value}` : '';
  return spec.short ? `-${spec.short}, --${spec.long}${value}` : `    --${spec.long}${value}`;
}

function buildHelp(): string {
  const rows = AAP_OPTION_SPECS.map((spec) => {
    const meaning = MEANINGS[spec.long];
    if (meaning === undefined) throw new Error(`aap-help: no help line for --${spec.long}`);
    return [usageColumn(spec), meaning] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    'Usage: aap [option]... [assignment]... [target]...',
    '',
    'Builds the targets of the recipe (.aiop/recipe.yml); with no target, the recipe\'s default.',
    'The order of arguments is irrelevant. An option may be given only once, except -c and -I.',
    '',
    'Options:',
    ...rows.map(([left, meaning]) => `  ${left.padEnd(width)}${meaning}`),
    `  ${'--'.padEnd(width)}end of options: only assignments and targets follow`,
    '',
    'Assignments:',
    `  ${'VAR=value'.padEnd(width)}set VAR as if at the top of the main recipe (a later one wins)`,
    '',
    'Targets:',
    `  ${'TARGET'.padEnd(width)}what to build; variables are expanded, $($) is a literal $`,
    '',
    'Short options may be bundled (-nF, -nj4). Exit status: 0 ok, 1 failed, 2 usage error.',
    '',
  ].join('\n');
}

/** The `aap -h` text: every option with a one-line meaning. Ends with a newline. */
export const AAP_HELP: string = buildHelp();
