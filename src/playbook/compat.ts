/**
 * Resolves a system target and its compatibility values from the command line: bare
 * values in compatibility order, or `name=value` in any order. Wrong input is a usage
 * error that lists the valid choices.
 */
import { UsageError } from '../core/errors.js';
import { didYouMean, editDistance } from '../core/suggest.js';
import type { InventoryConfig, SystemTargetConfig } from './schema.js';

export interface ResolvedTarget {
  systemTarget: string;
  config: SystemTargetConfig;
  /** Compatibility values in compatibility order. */
  values: Array<[string, string]>;
  /** `name=value` words that were not compatibility names: variable assignments. */
  assignments: Record<string, string>;
  /** `<name>-<version>-<system_target>-<value>...` */
  id: string;
}

/** The package id of SPEC section 2. */
export function packageIdOf(inventory: InventoryConfig, systemTarget: string, values: string[]): string {
  return [inventory.package.name, inventory.package.version, systemTarget, ...values].join('-');
}

/**
 * Whether `name` looks like a mistyped `param` (`dist` for `distro`, `arc` for `arch`); kept
 * tight so that a real variable such as `CC=gcc` is not taken for the parameter `cpu`.
 */
function nearMiss(name: string, param: string): boolean {
  const a = name.toLowerCase();
  const b = param.toLowerCase();
  if (a.length >= 3 && (b.startsWith(a) || a.startsWith(b))) return true;
  return editDistance(a, b) <= Math.max(1, Math.floor(b.length / 3));
}

/** Checks the system target name and the compatibility values. */
export function resolveTarget(inventory: InventoryConfig, systemTarget: string, args: string[]): ResolvedTarget {
  const targets = Object.keys(inventory.system_targets);
  const config = inventory.system_targets[systemTarget];
  if (!config) {
    const hint = didYouMean(systemTarget, targets);
    throw new UsageError(
      `unknown system target "${systemTarget}"`,
      `${hint ? `${hint} ` : ''}known system targets: ${targets.join(', ') || '(none in .aiop/inventory_config.yml)'}`,
    );
  }
  const params = config.compatibility;
  const names = params.map((p) => p.name);
  const given = new Map<string, string>();
  const assignments: Record<string, string> = {};
  const bare: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(arg.slice(0, eq))) {
      const name = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      if (names.includes(name)) {
        if (given.has(name)) throw new UsageError(`compatibility parameter "${name}" given twice`);
        given.set(name, value);
      } else assignments[name] = value;
    } else bare.push(arg);
  }
  const free = names.filter((n) => !given.has(n));
  if (bare.length > free.length) {
    throw new UsageError(
      `too many compatibility values for "${systemTarget}": ${bare.slice(free.length).join(' ')}`,
      `"${systemTarget}" takes ${names.length}: ${names.join(', ')}`,
    );
  }
  bare.forEach((value, i) => given.set(free[i]!, value));
  const values: Array<[string, string]> = [];
  for (const param of params) {
    const value = given.get(param.name);
    if (value === undefined) {
      // `dist=debian12` for `distro=debian12` reads as a variable assignment; with `distro`
      // missing, a close name is far more likely a typo than a variable.
      const typo = Object.keys(assignments).find((name) => nearMiss(name, param.name));
      if (typo !== undefined) {
        throw new UsageError(
          `"${typo}=${assignments[typo]}": "${typo}" is not a compatibility parameter of "${systemTarget}"`,
          `did you mean "${param.name}=${assignments[typo]}"? compatibility parameters of "${systemTarget}": ${names.join(', ')}`,
        );
      }
      throw new UsageError(
        `missing compatibility value "${param.name}" for "${systemTarget}"${param.help ? ` (${param.help})` : ''}`,
        `valid choices: ${param.choices.join(', ')}; usage: aiop build ${systemTarget} ${names.map((n) => `{${n}}`).join(' ')}`,
      );
    }
    if (!param.choices.includes(value)) {
      const hint = didYouMean(value, param.choices);
      throw new UsageError(
        `"${value}" is not a valid ${param.name} for "${systemTarget}"`,
        `${hint ? `${hint} ` : ''}valid choices: ${param.choices.join(', ')}`,
      );
    }
    values.push([param.name, value]);
  }
  return {
    systemTarget,
    config,
    values,
    assignments,
    id: packageIdOf(inventory, systemTarget, values.map(([, v]) => v)),
  };
}

/** `aiop build TARGET -h`: the target's parameters with their choices and help. */
export function targetHelp(inventory: InventoryConfig, systemTarget: string): string {
  const config = inventory.system_targets[systemTarget];
  if (!config) resolveTarget(inventory, systemTarget, []);
  const params = config!.compatibility;
  const lines = [
    `usage: aiop build ${systemTarget} ${params.map((p) => `{${p.name}}`).join(' ')} [options]`,
    '',
    `compatibility parameters of "${systemTarget}" (positional, in this order, or as name=value):`,
  ];
  const width = Math.max(...params.map((p) => p.name.length), 4);
  for (const p of params) {
    lines.push(`  ${p.name.padEnd(width)}  ${p.help ?? ''}`.trimEnd());
    lines.push(`  ${''.padEnd(width)}  choices: ${p.choices.join(', ')}`);
  }
  lines.push('', 'Run "aiop build -h" for the options.');
  return lines.join('\n');
}
