/**
 * How generated CI jobs run aiop when packages.yml's `ci.command` does not say: the way the
 * job that generates them found it. A bare `npx aiop` would be wrong in both cases that
 * matter: with no aiop in the project, npx downloads whatever the registry holds under that
 * name and runs it.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { delimiter, join, resolve, sep } from 'node:path';

/** Where the running aiop came from, and so how the generated jobs run it. */
export type AiopOrigin =
  /** A `node_modules` of the project (or above it): `npx --no-install aiop`. */
  | 'project'
  /** An `aiop` on PATH: `aiop`. */
  | 'path'
  /** Neither (for example `node <clone>/dist/src/cli/aiop.js`): `aiop`, with a warning. */
  | 'unknown';

/** The command generated jobs run, and why. */
export interface JobCommand {
  command: string;
  origin: AiopOrigin;
}

/** The command for each origin. */
export const JOB_COMMANDS: Readonly<Record<AiopOrigin, string>> = {
  project: 'npx --no-install aiop',
  path: 'aiop',
  unknown: 'aiop',
};

/** The folders that hold a `node_modules` on the way to `file`: `/p/node_modules/aiop/x.js` gives `/p`. */
function nodeModulesOwners(file: string): string[] {
  const parts = file.split(sep);
  const owners: string[] = [];
  parts.forEach((part, i) => {
    if (part === 'node_modules' && i > 0) owners.push(parts.slice(0, i).join(sep) || sep);
  });
  return owners;
}

function within(dir: string, root: string): boolean {
  return root === dir || root.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

async function executableOnPath(name: string, path: string | undefined): Promise<boolean> {
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      if ((await stat(file)).isFile()) {
        await access(file, constants.X_OK);
        return true;
      }
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Works out how the running aiop was started. `script` is the path the process was started
 * with (`process.argv[1]`), `root` the playbook folder (the project the jobs check out).
 * The project's `node_modules` wins over PATH: `npx` and `npm run` put
 * `node_modules/.bin` on PATH too, and the jobs should run the same aiop.
 */
export async function jobCommand(script: string | undefined, root: string, env: NodeJS.ProcessEnv): Promise<JobCommand> {
  if (script !== undefined && script !== '') {
    const paths = [resolve(script)];
    try {
      paths.push(await realpath(script));
    } catch {
      // a script that is gone: its given path is all there is
    }
    const projectRoot = resolve(root);
    if (paths.some((p) => nodeModulesOwners(p).some((owner) => within(owner, projectRoot)))) {
      return { command: JOB_COMMANDS.project, origin: 'project' };
    }
  }
  if (await executableOnPath('aiop', env.PATH)) return { command: JOB_COMMANDS.path, origin: 'path' };
  return { command: JOB_COMMANDS.unknown, origin: 'unknown' };
}
