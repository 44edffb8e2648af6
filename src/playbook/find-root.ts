/** Finding the playbook root: the folder that holds `.aiop/inventory_config.yml`. */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AiopError, ConfigError, type Diagnostic } from '../core/errors.js';
import { nearMissFileName } from '../core/suggest.js';

/** The file whose presence makes a folder a playbook root. */
export const INVENTORY_PATH = join('.aiop', 'inventory_config.yml');

async function isPlaybookRoot(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, INVENTORY_PATH))).isFile();
  } catch {
    return false;
  }
}

/** Like {@link findPlaybookRoot} but searching upward from `cwd` (for `aap -u`); undefined when none. */
export async function searchPlaybookRootUpward(cwd: string): Promise<string | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    if (await isPlaybookRoot(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * `cwd` itself must hold `.aiop/inventory_config.yml` (the seed requires running from the
 * playbook root). Otherwise throws AiopError('not-playbook') naming the nearest playbook root
 * above `cwd`, or saying that none was found.
 */
export async function findPlaybookRoot(cwd: string): Promise<string> {
  const here = resolve(cwd);
  if (await isPlaybookRoot(here)) return here;
  // `.aiop/inventory_config.yaml` (or another case) is a playbook root misnamed, not no playbook.
  const misnamed = await misnamedPlaybookFiles(here, ['inventory_config.yml']);
  if (misnamed.length > 0) throw new ConfigError(misnamed);
  const parent = dirname(here);
  const above = parent === here ? undefined : await searchPlaybookRootUpward(parent);
  if (above !== undefined) {
    throw new AiopError(
      'not-playbook',
      `${here} is not a playbook root (it has no ${INVENTORY_PATH}); the nearest playbook root is ${above}: run aiop from there`,
    );
  }
  throw new AiopError(
    'not-playbook',
    `${here} is not a playbook root: no ${INVENTORY_PATH} here or in any folder above; run aiop from the folder that holds .aiop/`,
  );
}

/** The files aiop reads in `.aiop/`, by their exact names. */
export const PLAYBOOK_FILES = ['inventory_config.yml', 'recipe.yml', 'packages.yml'] as const;

/**
 * For each of `expected` (names in `.aiop/`) that does not exist, the file of `.aiop/` that is
 * probably it misnamed (`recipe.yaml`, `Recipe.yml`, `package.yml`), as a diagnostic at that file
 * with the name to give it. Without this, a misnamed recipe reads as no recipe (an empty
 * package) and a misnamed inventory as no playbook.
 */
export async function misnamedPlaybookFiles(root: string, expected: readonly string[] = PLAYBOOK_FILES): Promise<Diagnostic[]> {
  let entries: string[];
  try {
    entries = (await readdir(join(root, '.aiop'), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
  const present = new Set(entries);
  const others = entries.filter((name) => !(PLAYBOOK_FILES as readonly string[]).includes(name));
  const out: Diagnostic[] = [];
  for (const name of expected) {
    if (present.has(name)) continue;
    const near = nearMissFileName(name, others);
    if (near === undefined) continue;
    out.push({
      message: `aiop reads .aiop/${name}, which does not exist; this file is not read`,
      location: { file: `.aiop/${near}`, line: 1, column: 1 },
      hint: `did you mean "${name}"? rename it: mv .aiop/${near} .aiop/${name}`,
    });
  }
  return out;
}
