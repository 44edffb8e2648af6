/** Writes small playbooks for tests, and snapshots folders to prove what changed. */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, readlink, lstat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export interface PlaybookFiles {
  inventory?: string;
  recipe?: string;
  packages?: string;
  /** Other files, by path relative to the playbook root; a leading "!" in the content makes it executable. */
  files?: Record<string, string>;
}

/** A minimal valid inventory with one system target `linux` (distro: debian12|ubuntu22.04, arch: amd64|arm64). */
export const SIMPLE_INVENTORY = `package:
  name: demo
  version: 1.0.0
  maintainer: Demo Team <demo@example.com>
  description: |
    Demo package.
    Used by the tests.
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12, ubuntu22.04], help: Distribution release }
      - { name: arch, choices: [amd64, arm64], help: CPU architecture }
    deb:
      architecture: \${arch}
`;

/** Writes a playbook under `dir` and returns `dir`. */
export async function writePlaybook(dir: string, files: PlaybookFiles): Promise<string> {
  await mkdir(join(dir, '.aiop'), { recursive: true });
  await writeFile(join(dir, '.aiop/inventory_config.yml'), files.inventory ?? SIMPLE_INVENTORY);
  if (files.recipe !== undefined) await writeFile(join(dir, '.aiop/recipe.yml'), files.recipe);
  if (files.packages !== undefined) await writeFile(join(dir, '.aiop/packages.yml'), files.packages);
  for (const [path, content] of Object.entries(files.files ?? {})) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    const executable = content.startsWith('!');
    await writeFile(file, executable ? content.slice(1) : content);
    if (executable) await chmod(file, 0o755);
  }
  return dir;
}

/** Path -> "mode sha256" (or "-> link target", or "dir") of everything under `dir`. */
export async function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const path = join(d, name);
      const rel = relative(dir, path);
      if (skip(rel)) continue;
      const info = await lstat(path);
      if (info.isSymbolicLink()) out[rel] = `-> ${await readlink(path)}`;
      else if (info.isDirectory()) {
        out[rel] = 'dir';
        await walk(path);
      } else out[rel] = `${(info.mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
    }
  };
  await walk(dir);
  return out;
}

/** Lines of a file, or [] when it does not exist. */
export async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
}
