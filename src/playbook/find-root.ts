/** Finding the playbook root: the folder that holds `.aiop/inventory_config.yml`. */
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AiopError } from '../core/errors.js';

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
