/**
 * `aiop targets`: what this playbook can build: each system target with its compatibility
 * parameters (in order, with their help and choices), and the package ids that
 * `.aiop/packages.yml` expands to.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { expandPackages } from '../ci/packages.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { loadPlaybook } from '../playbook/load.js';
import { packagesSchema } from '../playbook/schema.js';
import { parseYamlFile } from '../playbook/yaml-file.js';

/** Runs `aiop targets`. */
export async function targetsCommand(io: { cwd: string; stdout: NodeJS.WritableStream }): Promise<number> {
  const root = await findPlaybookRoot(io.cwd);
  const playbook = await loadPlaybook(root);
  const { inventory } = playbook;
  const lines: string[] = [];
  const targets = Object.entries(inventory.system_targets);
  lines.push(`System targets of ${inventory.package.name} ${inventory.package.version}:`);
  for (const [name, target] of targets) {
    const params = target.compatibility;
    lines.push('', `  ${name}    aiop build ${name} ${params.map((p) => `{${p.name}}`).join(' ')}`.trimEnd());
    const width = Math.max(4, ...params.map((p) => p.name.length));
    for (const p of params) {
      lines.push(`    ${p.name.padEnd(width)}  ${p.choices.join(', ')}${p.help ? `    (${p.help})` : ''}`);
    }
    const extras = [target.artifacts?.length ? `${target.artifacts.length} artifact(s)` : '', target.deb ? '.deb settings' : ''].filter(Boolean);
    if (extras.length > 0) lines.push(`    has: ${extras.join(', ')}`);
  }
  const packagesFile = join(root, '.aiop', 'packages.yml');
  if (existsSync(packagesFile)) {
    const parsed = await parseYamlFile(packagesFile, packagesSchema, { displayRoot: root });
    const specs = expandPackages(parsed.value, inventory, {
      locate: (path) => {
        const where = parsed.locate(path);
        return where.location ? { location: where.location, ...(where.sourceLine !== undefined ? { sourceLine: where.sourceLine } : {}) } : undefined;
      },
    });
    lines.push('', `Packages of .aiop/packages.yml (${specs.length}, built by aiop build_all):`);
    for (const spec of specs) lines.push(`  ${spec.id}`);
  } else {
    lines.push('', 'No .aiop/packages.yml: aiop build_all has nothing to build.');
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
