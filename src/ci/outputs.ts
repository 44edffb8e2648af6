/** Where `aiop build` puts one package's outputs (SPEC section 2), as paths relative to the playbook root. */
import { posix } from 'node:path';
import type { PackageSpec } from './packages.js';

/** The files and the folder that one package build leaves behind. */
export interface PackageOutputs {
  /** The package folder, with a trailing `/`. */
  folder: string;
  zip?: string;
  /** May be a glob (see {@link PackageSpec.debFile}). */
  deb?: string;
  /** May be a glob (see {@link PackageSpec.rpmFile}). */
  rpm?: string;
  /** `SHA256SUMS` of the zip and installers, when the package makes any. */
  sums?: string;
  manifest: string;
}

/** The default output folder, relative to the playbook root. */
export const DEFAULT_OUTPUT_DIR = '.build';

/**
 * The outputs of one package: all in the folder that holds the package folder, which is
 * `outputDir` (default `.build`) or the parent of `destination_path`.
 */
export function packageOutputs(spec: PackageSpec, outputDir: string = DEFAULT_OUTPUT_DIR): PackageOutputs {
  const destination = spec.options.destination_path;
  const folder = destination === undefined ? posix.join(outputDir, spec.id) : posix.normalize(String(destination)).replace(/\/+$/, '');
  const dir = posix.dirname(folder);
  const outputs: PackageOutputs = {
    folder: `${folder}/`,
    manifest: posix.join(dir, `${spec.id}.manifest.json`),
  };
  if (spec.options.zip_pack === true) outputs.zip = posix.join(dir, `${spec.id}.zip`);
  if (spec.debFile !== undefined) outputs.deb = posix.join(dir, spec.debFile);
  if (spec.rpmFile !== undefined) outputs.rpm = posix.join(dir, spec.rpmFile);
  // aiop build writes SHA256SUMS beside the files it checksums: the zip and the installers.
  if (outputs.zip !== undefined || outputs.deb !== undefined || outputs.rpm !== undefined) outputs.sums = posix.join(dir, 'SHA256SUMS');
  return outputs;
}

/** The outputs as a list, in a fixed order: folder, zip, deb, rpm, SHA256SUMS, manifest. */
export function outputPaths(outputs: PackageOutputs): string[] {
  return [outputs.folder, outputs.zip, outputs.deb, outputs.rpm, outputs.sums, outputs.manifest].filter((p): p is string => p !== undefined);
}
