/**
 * The typed options of one `aap` invocation (seed aap-command-line.txt), as src/cli/aap-args.ts
 * parses them and src/commands/aap.ts runs them.
 */

/** The `-d` debug flags: why each target ran or not, variable expansion, signatures. */
export const AAP_DEBUG_FLAGS = ['explain', 'expand', 'sign'] as const;
export type AapDebugFlag = (typeof AAP_DEBUG_FLAGS)[number];

/** Every option of one `aap` invocation, with its default when not given. */
export interface AapOptions {
  /** `-a --nocache`: no cached copy of remote files, download once for this run. */
  nocache: boolean;
  /** `-c --command CMD` (repeatable), in the order given. */
  commands: string[];
  /** `--changed FILE`: zero or one file (the option may not repeat). */
  changed: string[];
  /** `-C --contents`: only content changes count. */
  contents: boolean;
  /** `-d --debug FLAGS`. */
  debug: Set<AapDebugFlag>;
  /** `-f --recipe FILE|URL|NONE`; see {@link recipeSource}. */
  recipe?: string;
  /** `-F --force`. */
  force: boolean;
  /** `-h --help`. */
  help: boolean;
  /** `-I --include DIR` (repeatable), in the order given. */
  include: string[];
  /** `--install PACKAGE`. */
  install?: string;
  /** `-j --jobs N`, a positive whole number; undefined means the default. */
  jobs?: number;
  /** `-k --continue` sets true, `-s --stop` (the default) leaves it false. */
  continue: boolean;
  /** `-l --local`: do not recurse into child recipes. */
  local: boolean;
  /** `-n --nobuild`: dry run. */
  nobuild: boolean;
  /** `-N --nofetch-recipe`. */
  nofetchRecipe: boolean;
  /** `-R --fetch-recipe`. */
  fetchRecipe: boolean;
  /** `--profile FILE`: Chrome trace-event JSON. */
  profile?: string;
  /** `-S --silent`. */
  silent: boolean;
  /** `-t --touch`. */
  touch: boolean;
  /** `-u --up`: search upward for the recipe. */
  up: boolean;
  /** `-V --version`. */
  version: boolean;
  /** `-v --verbose`. */
  verbose: boolean;
  /** `--machine-readable` (SPEC section 4). */
  machineReadable: boolean;
}

/** A parsed command line. */
export interface AapInvocation {
  options: AapOptions;
  /** `VAR=value` words in the order given; for the same name a later one wins. */
  assignments: Array<[string, string]>;
  /** Targets in the order given, not yet expanded (`$BDIR/foo.o` stays as written). */
  targets: string[];
}

/** Where the main recipe comes from, from `-f`. */
export type RecipeSource =
  | { kind: 'default' }
  | { kind: 'none' }
  | { kind: 'url'; url: URL }
  | { kind: 'file'; path: string };

/** A word that reads as a URL (`scheme://...`). */
export const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Classifies the `-f` value: absent, `NONE`, an http(s) URL, or a file path. */
export function recipeSource(recipe: string | undefined): RecipeSource {
  if (recipe === undefined) return { kind: 'default' };
  if (recipe === 'NONE') return { kind: 'none' };
  if (URL_LIKE.test(recipe)) return { kind: 'url', url: new URL(recipe) };
  return { kind: 'file', path: recipe };
}

