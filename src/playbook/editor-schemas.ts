/**
 * JSON Schemas for editors, inside the playbook: `.aiop/schema/<name>.schema.json`, with a
 * `# yaml-language-server: $schema=schema/<name>.schema.json` first line in each playbook
 * file. The path is relative to the file, so it works wherever the playbook is checked out
 * and however aiop was installed (globally, in a project, from a clone); the schemas are
 * meant to be committed with the playbook. `aiop init` writes them, `aiop schema` refreshes
 * them (after an upgrade of aiop, or in a playbook made before).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';

/** The folder of the schemas, relative to `.aiop/`. */
export const EDITOR_SCHEMA_FOLDER = 'schema';

/** Each playbook file of `.aiop/` and the schema that describes it. */
export const PLAYBOOK_SCHEMAS = {
  'inventory_config.yml': 'inventory_config.schema.json',
  'recipe.yml': 'recipe.schema.json',
  'packages.yml': 'packages.schema.json',
} as const;

/** A playbook file name of `.aiop/`. */
export type PlaybookFile = keyof typeof PLAYBOOK_SCHEMAS;

const MODELINE = /^#\s*yaml-language-server:\s*\$schema=\S*\s*$/;

/** The first line that makes the YAML language server check `file` against its schema. */
export function schemaModeline(file: PlaybookFile): string {
  return `# yaml-language-server: $schema=${EDITOR_SCHEMA_FOLDER}/${PLAYBOOK_SCHEMAS[file]}`;
}

/** What {@link writeEditorSchemas} did, as paths relative to the playbook root. */
export interface EditorSchemaResult {
  /** Schema files written (new or changed). */
  written: string[];
  /** Playbook files whose first line now points at their schema. */
  pointed: string[];
  /** Everything that was already as it should be. */
  unchanged: string[];
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Copies the playbook schemas from `sourceDir` (aiop's own `schema/` folder) into
 * `<root>/.aiop/schema/`, and, with `pointFiles`, makes the first line of each playbook file
 * that exists the schema comment: a schema comment already there is replaced, otherwise the
 * line is added. Each file is written atomically, and only when it changes.
 */
export async function writeEditorSchemas(root: string, sourceDir: string, opts: { pointFiles: boolean }): Promise<EditorSchemaResult> {
  const result: EditorSchemaResult = { written: [], pointed: [], unchanged: [] };
  for (const [file, schema] of Object.entries(PLAYBOOK_SCHEMAS) as Array<[PlaybookFile, string]>) {
    const rel = `.aiop/${EDITOR_SCHEMA_FOLDER}/${schema}`;
    const content = await readFile(join(sourceDir, schema), 'utf8');
    if ((await readOrUndefined(join(root, rel))) === content) result.unchanged.push(rel);
    else {
      await writeFileAtomic(join(root, rel), content);
      result.written.push(rel);
    }
    if (!opts.pointFiles) continue;
    const yml = join(root, '.aiop', file);
    const text = await readOrUndefined(yml);
    if (text === undefined) continue;
    const [first = '', ...rest] = text.split('\n');
    const modeline = schemaModeline(file);
    if (first === modeline) {
      result.unchanged.push(`.aiop/${file}`);
      continue;
    }
    const updated = MODELINE.test(first) ? [modeline, ...rest].join('\n') : `${modeline}\n${text}`;
    await writeFileAtomic(yml, updated, (await stat(yml)).mode & 0o777);
    result.pointed.push(`.aiop/${file}`);
  }
  return result;
}
