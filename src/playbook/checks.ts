/**
 * Checks that zod cannot express: relations between parts of one file (or of one recipe and its
 * includes). Each returns every problem it finds, located in the file at fault.
 */
import type { Diagnostic } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { inventorySchema, type InventoryConfig } from './schema.js';
import { z } from 'zod';
import { parseYamlFile, type ParsedYamlFile } from './yaml-file.js';
import { badRelativePath, badSingleName, destProblem, printable } from './path-values.js';

/** Semantic checks of `.aiop/inventory_config.yml`. */
export function checkInventory(file: ParsedYamlFile<InventoryConfig>): Diagnostic[] {
  const out: Diagnostic[] = [];
  const inv = file.value;
  const version = badSingleName(inv.package.version);
  if (version) {
    out.push({ message: `package version "${printable(inv.package.version)}" ${version}`, ...file.locate(['package', 'version']), hint: 'the version is part of every output file name' });
  }
  for (const [targetName, target] of Object.entries(inv.system_targets)) {
    const base = ['system_targets', targetName];
    const first = new Map<string, number>();
    target.compatibility.forEach((param, i) => {
      const earlier = first.get(param.name);
      if (earlier !== undefined) {
        const where = file.locate([...base, 'compatibility', earlier, 'name']).location;
        out.push({
          message: `compatibility parameter "${param.name}" of system target "${targetName}" is defined twice`,
          ...file.locate([...base, 'compatibility', i, 'name']),
          ...(where ? { hint: `first defined at ${where.file}:${where.line}:${where.column}` } : {}),
        });
      } else first.set(param.name, i);
      const seen = new Set<string>();
      param.choices.forEach((choice, j) => {
        if (seen.has(choice)) {
          out.push({ message: `choice "${choice}" of parameter "${param.name}" is listed twice`, ...file.locate([...base, 'compatibility', i, 'choices', j]) });
        }
        seen.add(choice);
        const bad = badSingleName(choice);
        if (bad) {
          out.push({
            message: `choice "${printable(choice)}" of parameter "${param.name}" ${bad}`,
            ...file.locate([...base, 'compatibility', i, 'choices', j]),
            hint: 'compatibility values are part of the package folder name',
          });
        }
      });
    });
    const params = new Map<string, string[]>();
    for (const p of target.compatibility) if (!params.has(p.name)) params.set(p.name, p.choices);
    (target.artifacts ?? []).forEach((artifact, i) => {
      const dest = artifact.dest === undefined ? undefined : badRelativePath(artifact.dest);
      if (dest) out.push({ message: destProblem(artifact.name, artifact.dest!, dest), ...file.locate([...base, 'artifacts', i, 'dest']) });
      for (const [key, wanted] of Object.entries(artifact.when ?? {})) {
        const choices = params.get(key);
        if (choices === undefined) {
          const hint = didYouMean(key, params.keys()) ?? `compatibility parameters of "${targetName}": ${[...params.keys()].join(', ') || '(none)'}`;
          out.push({
            message: `artifact "${artifact.name}": "when" names "${key}", which is not a compatibility parameter of system target "${targetName}"`,
            ...file.locate([...base, 'artifacts', i, 'when', key], true),
            hint,
          });
          continue;
        }
        const values = Array.isArray(wanted) ? wanted : [wanted];
        values.forEach((value, j) => {
          if (!choices.includes(value)) {
            const path = Array.isArray(wanted) ? [...base, 'artifacts', i, 'when', key, j] : [...base, 'artifacts', i, 'when', key];
            const suggestion = didYouMean(value, choices);
            out.push({
              message: `artifact "${artifact.name}": "${value}" is not a choice of parameter "${key}"`,
              ...file.locate(path),
              hint: `valid choices: ${choices.join(', ')}${suggestion ? ` (${suggestion})` : ''}`,
            });
          }
        });
      }
    });
  }
  return out;
}

/** A file target's name must stay inside the package folder. */
export function badFileTargetName(name: string): string | undefined {
  if (name.startsWith('/')) return 'is an absolute path; file targets are relative to the package folder';
  if (name.split('/').includes('..')) return 'climbs out with ".."; file targets stay inside the package folder';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.startsWith('-')) return 'starts with "-", which tools would take for an option';
  return undefined;
}


/** What {@link salvageInventory} keeps of an inventory its schema refused. */
export interface SalvagedInventory {
  /** The right parts: the valid system targets; the package fields and variables when valid. */
  inventory: InventoryConfig;
  /** Whether the system target `name` is in the file but wrong (or the targets cannot be told apart). */
  broken: (name: string) => boolean;
  /** Whether the package fields and the variables are right: then the valid targets can be tried in full. */
  whole: boolean;
}

/**
 * The parts of an inventory that are right, from a file (as read) that its schema refused, so
 * that a mistake in one part hides only what depends on it: packages.yml entries of a valid
 * system target are still checked, and so are the recipe and the valid targets themselves.
 */
export function salvageInventory(data: unknown): SalvagedInventory | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const raw = data as Record<string, unknown>;
  const shape = inventorySchema.shape;
  const pkg = shape.package.safeParse(raw.package);
  const variables = shape.variables.safeParse(raw.variables);
  const rawTargets = raw.system_targets;
  const targets: InventoryConfig['system_targets'] = {};
  const broken = new Set<string>();
  const readable = rawTargets !== null && typeof rawTargets === 'object' && !Array.isArray(rawTargets);
  if (readable) {
    for (const [name, target] of Object.entries(rawTargets as Record<string, unknown>)) {
      const one = shape.system_targets.safeParse({ [name]: target });
      if (one.success) Object.assign(targets, one.data);
      else broken.add(name);
    }
  }
  const rawPkg = (raw.package ?? {}) as Record<string, unknown>;
  const text = (value: unknown, otherwise: string): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : otherwise);
  const inventory: InventoryConfig = {
    package: pkg.success
      ? pkg.data
      : { name: text(rawPkg.name, 'package'), version: text(rawPkg.version, '0'), maintainer: text(rawPkg.maintainer, ''), description: text(rawPkg.description, '') },
    ...(variables.success && variables.data !== undefined ? { variables: variables.data } : {}),
    system_targets: targets,
  };
  return { inventory, broken: (name) => !readable || broken.has(name), whole: pkg.success && variables.success };
}

/**
 * {@link salvageInventory} of the inventory file at `file`, with the means to locate its parts;
 * undefined when it is not even valid YAML (then nothing in it can be trusted).
 */
export async function salvageInventoryFile(file: string, displayRoot: string): Promise<(SalvagedInventory & { file: ParsedYamlFile<InventoryConfig> }) | undefined> {
  let raw: ParsedYamlFile<unknown>;
  try {
    // Read again with no schema: the YAML checks (syntax, nesting, duplicate keys) still apply.
    raw = await parseYamlFile(file, z.unknown(), { displayRoot });
  } catch {
    return undefined;
  }
  const kept = salvageInventory(raw.value);
  return kept && { ...kept, file: { ...raw, value: kept.inventory } };
}
