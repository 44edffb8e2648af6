/**
 * `aiop schema`: writes the JSON Schemas of the playbook files into `.aiop/schema/` and points
 * the `yaml-language-server` comment of each playbook file at them, so that an editor
 * completes and checks the files wherever aiop is installed. For playbooks made before, or
 * after an upgrade of aiop.
 */
import { ownSchemaDir } from './init.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { writeEditorSchemas } from '../playbook/editor-schemas.js';

/** Runs `aiop schema`. */
export async function schemaCommand(io: { cwd: string; stdout: NodeJS.WritableStream }): Promise<number> {
  const root = await findPlaybookRoot(io.cwd);
  const result = await writeEditorSchemas(root, ownSchemaDir(), { pointFiles: true });
  const lines = [
    ...result.written.map((file) => `Wrote ${file}`),
    ...result.pointed.map((file) => `Pointed ${file} at its schema`),
  ];
  if (lines.length === 0) lines.push('The schemas in .aiop/schema/ and the files pointing at them are up to date');
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
