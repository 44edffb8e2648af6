/**
 * Checks that zod cannot express: relations between parts of one file (or of one recipe and its
 * includes). Each returns every problem it finds, located in the file at fault.
 */
import type { Diagnostic } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { InventoryConfig } from './schema.js';
import type { ParsedYamlFile } from './yaml-file.js';
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

