/**
 * Recipe variables: `$VAR`, `${VAR}` and `$(VAR)`; `$($)` is a literal `$`. Values may
 * refer to other variables and are expanded when used; a variable that refers to itself,
 * directly or through others, is an error, and so is an unset one.
 */
import { AiopError } from '../core/errors.js';

/** Layers of variables, weakest first; a later layer wins. */
export class Scope {
  readonly #layers: ReadonlyArray<Readonly<Record<string, string>>>;

  constructor(layers: ReadonlyArray<Readonly<Record<string, string>>>) {
    this.#layers = layers;
  }

  /** A scope with one more layer on top (stronger than every existing one)... */
  with(layer: Readonly<Record<string, string>>): Scope {
    return new Scope([...this.#layers, layer]);
  }

  /**
   * ...or underneath (weaker than every existing one), as the per-target built-ins are.
   * A `literal` layer holds values already expanded (`$target`, `$source`): they are used as
   * they are, so a `$` that `$($)` put in a target's name is not read as a variable again.
   */
  under(layer: Readonly<Record<string, string>>, literal = false): Scope {
    if (literal) literalLayers.add(layer);
    return new Scope([layer, ...this.#layers]);
  }

  /** The layers, weakest first (to record a scope and make it again with `new Scope(layers)`). */
  get layers(): ReadonlyArray<Readonly<Record<string, string>>> {
    return this.#layers;
  }

  get(name: string): string | undefined {
    return this.lookup(name)?.value;
  }

  /** The value of a variable and whether it is literal (already expanded, see {@link under}). */
  lookup(name: string): { value: string; literal: boolean } | undefined {
    for (let i = this.#layers.length - 1; i >= 0; i--) {
      const layer = this.#layers[i]!;
      const value = layer[name];
      if (value !== undefined && Object.prototype.hasOwnProperty.call(layer, name)) return { value, literal: literalLayers.has(layer) };
    }
    return undefined;
  }

  /** Every variable name that has a value. */
  names(): string[] {
    return [...new Set(this.#layers.flatMap((layer) => Object.keys(layer)))].sort();
  }
}

/** Layers whose values are used without expanding them again (see {@link Scope.under}). */
const literalLayers = new WeakSet<object>();

/** Thrown for unset and self-referencing variables; `where` names the target or file. */
export class VariableError extends AiopError {
  constructor(message: string) {
    super('config', message);
    this.name = 'VariableError';
  }
}

/**
 * The longest text an expansion may produce. Values that use other variables twice can
 * double at every level (`A: $B$B`, `B: $C$C`, ...): without a bound, forty such lines
 * would ask for a terabyte and crash instead of failing clearly.
 */
export const MAX_EXPANDED_LENGTH = 16 * 1024 * 1024;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * Expands every variable reference in `text`.
 * @param where what the text belongs to, for messages (e.g. `target "bin/hello"`).
 * @param onExpand called with each variable name and its expanded value (for `aap -d expand`).
 */
export function expand(
  text: string,
  scope: Scope,
  where: string,
  onExpand?: (name: string, value: string) => void,
): string {
  if (!text.includes('$')) return text;
  return expandWith(text, scope, where, [], new Map(), onExpand);
}

function expandWith(
  text: string,
  scope: Scope,
  where: string,
  stack: string[],
  memo: Map<string, string>,
  onExpand?: (name: string, value: string) => void,
): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    let name: string | undefined;
    let end = dollar + 1;
    if (next === '{' || next === '(') {
      const close = next === '{' ? '}' : ')';
      const closeAt = text.indexOf(close, dollar + 2);
      if (closeAt < 0) throw new VariableError(`${where}: unclosed "$${next}" in "${text}"`);
      name = text.slice(dollar + 2, closeAt);
      end = closeAt + 1;
      if (name === '$') {
        out += '$';
        i = end;
        continue;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new VariableError(`${where}: "$${next}${name}${close}" is not a variable reference (names use letters, digits and _)`);
      }
    } else if (next !== undefined && NAME_START.test(next)) {
      end = dollar + 2;
      while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
      name = text.slice(dollar + 1, end);
    } else {
      // A lone `$` (end of text, `$ `, `$1`, ...) stays as it is.
      out += '$';
      i = dollar + 1;
      continue;
    }
    const value = valueOf(name, scope, where, stack, memo, onExpand);
    if (out.length + value.length > MAX_EXPANDED_LENGTH) {
      throw new VariableError(`${where}: expanding "$${name}" gives more than ${MAX_EXPANDED_LENGTH / 1024 / 1024} MiB of text; do variables refer to each other too many times?`);
    }
    out += value;
    i = end;
  }
  return out;
}

function valueOf(
  name: string,
  scope: Scope,
  where: string,
  stack: string[],
  memo: Map<string, string>,
  onExpand?: (name: string, value: string) => void,
): string {
  const known = memo.get(name);
  if (known !== undefined) return known;
  if (stack.includes(name)) {
    const cycle = [...stack.slice(stack.indexOf(name)), name].map((n) => `$${n}`).join(' -> ');
    throw new VariableError(`${where}: variable "${name}" refers to itself: ${cycle}`);
  }
  const found = scope.lookup(name);
  const raw = found?.value;
  if (raw === undefined) {
    throw new VariableError(`${where}: variable "${name}" is not set (set it in the recipe or playbook \`variables\`, or on the command line as ${name}=value)`);
  }
  const value = !found!.literal && raw.includes('$') ? expandWith(raw, scope, where, [...stack, name], memo, onExpand) : raw;
  memo.set(name, value);
  onExpand?.(name, value);
  return value;
}
