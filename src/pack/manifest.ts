/** The JSON record of one package build: what machine-readable output and uploads draw on. */
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { sha256File } from './checksums.js';

/** One output file or folder of a build. */
export interface ManifestOutput {
  kind: 'folder' | 'zip' | 'deb' | 'rpm';
  path: string;
  size?: number;
  sha256?: string;
}

/** Everything a build produced and used. */
export interface BuildManifest {
  packageId: string;
  systemTarget: string;
  compat: Record<string, string>;
  version: string;
  tool: { name: 'aiop'; version: string };
  outputs: ManifestOutput[];
  artifacts: Array<{ name: string; url: string; integrity: string }>;
  uploads: Array<{ file: string; url: string }>;
}

/** Bumped when the manifest's shape changes incompatibly. */
export const MANIFEST_FORMAT = 1;

/** A manifest output for a file, with its size and sha256 read from disk (`path` as given). */
export async function describeOutput(kind: 'zip' | 'deb' | 'rpm', path: string, file: string = path): Promise<ManifestOutput> {
  const [st, sha256] = await Promise.all([stat(file), sha256File(file)]);
  return { kind, path, size: st.size, sha256 };
}

/** Writes the manifest as stable, pretty JSON (fixed key order), atomically. */
export async function writeManifest(file: string, manifest: BuildManifest): Promise<void> {
  const ordered = {
    format: MANIFEST_FORMAT,
    packageId: manifest.packageId,
    systemTarget: manifest.systemTarget,
    compat: manifest.compat,
    version: manifest.version,
    tool: { name: manifest.tool.name, version: manifest.tool.version },
    outputs: manifest.outputs.map((o) => ({
      kind: o.kind,
      path: o.path,
      ...(o.size !== undefined ? { size: o.size } : {}),
      ...(o.sha256 !== undefined ? { sha256: o.sha256 } : {}),
    })),
    artifacts: manifest.artifacts.map((a) => ({ name: a.name, url: a.url, integrity: a.integrity })),
    uploads: manifest.uploads.map((u) => ({ file: u.file, url: u.url })),
  };
  const text = `${JSON.stringify(ordered, null, 2)}\n`;
  // An unchanged manifest keeps its file (and its timestamp): a no-op build changes nothing.
  if ((await readFile(file, 'utf8').catch(() => undefined)) === text) return;
  await writeFileAtomic(file, text);
}
