/**
 * What happens after the recipe: the outputs beside the package folder (zip, .deb,
 * manifest, SHA256SUMS), uploads and `--goto_pack`. Each finished output is announced
 * with an `output` event, which the machine-readable reporter turns into artifact lines.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ResolvedTarget } from './compat.js';
import type { BuildOptions } from './options.js';
import type { PackageBuildContext } from './package.js';

export interface OutputStepsResult {
  files: Array<{ kind: 'folder' | 'zip' | 'deb'; path: string }>;
  uploads: Array<{ file: string; url: string }>;
}

/** Every file (and, when asked, folder) under a folder, package-relative, sorted bytewise. */
export async function listFiles(dir: string, withFolders = false): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => withFolders || !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).split('\\').join('/'))
    .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

export async function runOutputSteps(step: {
  target: ResolvedTarget;
  options: BuildOptions;
  ctx: PackageBuildContext;
  packageDir: string;
  outputDir: string;
}): Promise<OutputStepsResult> {
  const { ctx, target, packageDir } = step;
  const files = await listFiles(packageDir);
  ctx.emit({
    type: 'output',
    pkg: target.id,
    kind: 'folder',
    id: packageDir,
    description: ctx.playbook.inventory.package.description.trim(),
    files: files.map((f) => join(packageDir, f)),
  });
  return { files: [{ kind: 'folder', path: packageDir }], uploads: [] };
}
