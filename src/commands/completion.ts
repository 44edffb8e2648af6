/**
 * Shell completion. `aiop completion bash|zsh|fish` prints a script that asks the hidden
 * `aiop __complete WORD...` for candidates, so the shells share one implementation that knows
 * the playbook in the current folder: its system targets and their compatibility values.
 * The playbook comes through loadPlaybook, whose cache answers without reading any YAML.
 */
import { choicesOf, optionsOf, spellingKey, takesList, takesValue, wordsOf, type OptionCommand, type OptionSpec } from '../options/table.js';
import { loadPlaybook } from '../playbook/load.js';

/** Subcommands offered after `aiop`. */
export const SUBCOMMANDS = ['build', 'build_all', 'build_again', 'init', 'validate', 'targets', 'schema', 'repo', 'cache', 'completion'] as const;

/** The table's commands by the word completion sees first (`repo apt` is completed after `repo`). */
const COMMAND_OF: Record<string, OptionCommand> = {
  build: 'build',
  build_all: 'build_all',
  build_again: 'build_again',
  init: 'init',
  validate: 'validate',
  repo: 'repo apt',
  cache: 'cache clean',
};

/** The option words offered after a subcommand (or none: `''`), from the table of options. */
function optionWords(sub: string): string[] {
  if (sub === '') return ['-h', '--help', '-V', '--version'];
  const command = COMMAND_OF[sub];
  const words = command === undefined ? [] : optionsOf(command).flatMap(wordsOf);
  return [...new Set(['-h', '--help', ...words])];
}

/** The option that a word names, among `sub`'s; undefined when it is none. */
function optionNamed(sub: string, word: string): OptionSpec | undefined {
  const command = COMMAND_OF[sub];
  if (command === undefined || !word.startsWith('-')) return undefined;
  const key = spellingKey(word);
  return optionsOf(command).find((o) => wordsOf(o).some((w) => spellingKey(w) === key));
}

/** The system targets of the playbook in `cwd` and their parameters; empty when there is none or it is broken. */
async function playbookTargets(cwd: string): Promise<Record<string, Array<{ name: string; choices: string[] }>>> {
  try {
    const playbook = await loadPlaybook(cwd);
    return Object.fromEntries(Object.entries(playbook.inventory.system_targets).map(([name, t]) => [name, t.compatibility]));
  } catch {
    return {};
  }
}

/** Candidates for `aiop build` positionals: system target, then each parameter's choices (or name=value forms). */
async function buildCandidates(cwd: string, positionals: string[], current: string): Promise<string[]> {
  const targets = await playbookTargets(cwd);
  if (positionals.length === 0) return Object.keys(targets);
  const params = targets[positionals[0]!];
  if (!params) return [];
  const given = new Set(positionals.slice(1).filter((p) => p.includes('=')).map((p) => p.slice(0, p.indexOf('='))));
  const bare = positionals.slice(1).filter((p) => !p.includes('='));
  const free = params.filter((p) => !given.has(p.name));
  if (current.includes('=')) {
    const name = current.slice(0, current.indexOf('='));
    const param = params.find((p) => p.name === name);
    return param ? param.choices.map((c) => `${name}=${c}`) : [];
  }
  const next = free[bare.length];
  return next ? next.choices : [];
}

/**
 * The completion candidates for the last of `words` (the words after `aiop`, the last one
 * being the word under the cursor, maybe empty), filtered by that word as a prefix.
 */
export async function completeWords(words: string[], cwd: string): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const sub = before.find((w) => !w.startsWith('-'));
  const subIndex = sub === undefined ? -1 : before.indexOf(sub);
  const prefixed = (list: readonly string[]): string[] => list.filter((c) => c.startsWith(current));

  if (sub === undefined) return prefixed(current.startsWith('-') ? optionWords('') : SUBCOMMANDS);
  const args = before.slice(subIndex + 1);
  const previous = optionNamed(sub, args.at(-1) ?? '');
  if (previous !== undefined && takesValue(previous) && !takesList(previous)) return prefixed(choicesOf(previous));
  if (current.startsWith('-')) return prefixed(optionWords(sub));

  switch (sub) {
    case 'build': {
      // Words after an option of several values are its values: after one with choices
      // (--upload, --installer) those choices; after --compat_args, compatibility values.
      const positionals: string[] = [];
      let list: OptionSpec | undefined;
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a.startsWith('-')) {
          const option = optionNamed(sub, a);
          list = option !== undefined && takesList(option) ? option : undefined;
          if (option !== undefined && takesValue(option) && !takesList(option)) i++;
          continue;
        }
        if (list !== undefined && choicesOf(list).length > 0) continue;
        positionals.push(a);
      }
      if (list !== undefined && choicesOf(list).length > 0) return prefixed(choicesOf(list));
      return prefixed(await buildCandidates(cwd, positionals, current));
    }
    case 'repo':
      return args.some((a) => !a.startsWith('-')) ? [] : prefixed(['apt']);
    case 'cache': {
      const action = args.find((a) => !a.startsWith('-'));
      if (action === undefined) return prefixed(['ls', 'verify', 'clean']);
      return [];
    }
    case 'completion':
      return args.some((a) => !a.startsWith('-')) ? [] : prefixed(['bash', 'zsh', 'fish']);
    default:
      return [];
  }
}

/** Runs the hidden `aiop __complete WORD...`: one candidate per line. */
export async function completeCommand(words: string[], io: { cwd: string; stdout: NodeJS.WritableStream }): Promise<number> {
  const candidates = await completeWords(words.length === 0 ? [''] : words, io.cwd);
  if (candidates.length > 0) io.stdout.write(`${candidates.join('\n')}\n`);
  return 0;
}

const BASH = `# aiop completion for bash. Load it with:  source <(aiop completion bash)
# or install it:  aiop completion bash > ~/.local/share/bash-completion/completions/aiop
_aiop() {
    # Words up to the cursor, from the line itself: COMP_WORDS splits "name=value" at "=".
    local line="\${COMP_LINE:0:COMP_POINT}"
    local -a words
    IFS=$' \\t\\n' read -r -a words <<< "$line"
    local last=""
    if [[ "$line" != *[[:space:]] ]] && (( \${#words[@]} > 1 )); then
        last="\${words[\${#words[@]}-1]}"
        words=("\${words[@]:0:\${#words[@]}-1}")
    fi
    local cur="\${COMP_WORDS[COMP_CWORD]}"
    local IFS=$'\\n'
    local -a candidates
    candidates=($(command aiop __complete "\${words[@]:1}" "$last" 2>/dev/null))
    # After "name=", bash completes only the part behind the "=".
    if [[ "$last" == *=* && "$cur" != "$last" ]]; then
        local i
        for i in "\${!candidates[@]}"; do candidates[i]="\${candidates[i]#*=}"; done
    fi
    COMPREPLY=("\${candidates[@]}")
}
complete -o default -F _aiop aiop
`;

const ZSH = `#compdef aiop
# aiop completion for zsh. Load it after compinit with:  source <(aiop completion zsh)
# or save it as _aiop in a folder of $fpath.
_aiop() {
    local -a candidates
    candidates=(\${(f)"$(command aiop __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)"})
    if (( \${#candidates} )); then
        compadd -- "\${candidates[@]}"
    else
        _files
    fi
}
if [[ "\${funcstack[1]}" == "_aiop" ]]; then
    _aiop "$@"
else
    compdef _aiop aiop
fi
`;

const FISH = `# aiop completion for fish. Load it with:  aiop completion fish | source
# or install it:  aiop completion fish > ~/.config/fish/completions/aiop.fish
function __aiop_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    command aiop __complete $tokens[2..-1] "$current" 2>/dev/null
end
complete -c aiop -f -a '(__aiop_complete)'
`;

/** The completion script for a shell. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish'): string {
  return shell === 'bash' ? BASH : shell === 'zsh' ? ZSH : FISH;
}
