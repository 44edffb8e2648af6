/** One call for the build command: zip, .deb and/or .rpm beside the package folder, then SHA256SUMS. */
import { basename, dirname, join } from 'node:path';
import { log, type Emit } from '../core/events.js';
import { updateSha256Sums } from './checksums.js';
import { debCompressionWarning, writeDeb, type DebInfo } from './deb.js';
import { installerFileName } from './deb-info.js';
import { describeOutput, type ManifestOutput } from './manifest.js';
import { writeZip } from './zip.js';
import { writeRpm, type RpmInfo } from './rpm.js';
import { rpmInstallerFileName } from './rpm-info.js';
import type { SigningKey } from './signing-key.js';

/** What to pack for one package. */
export interface PackRequest {
  /** The finished package folder; outputs go into its parent folder. */
  pkgDir: string;
  /** `<name>-<version>-<system_target>-<values>`: the zip's name and top folder. */
  packageId: string;
  /** From {@link sourceDate}. */
  mtime: Date;
  zip: boolean;
  deb?: { info: DebInfo; installerName?: string };
  rpm?: { info: RpmInfo; installerName?: string; signingKey?: SigningKey };
  emit: Emit;
}

/** Paths of what was written, and their manifest entries (with size and sha256). */
export interface PackResult {
  zip?: string;
  deb?: string;
  rpm?: string;
  outputs: ManifestOutput[];
}

/**
 * Writes `<package-id>.zip` and/or the .deb next to the package folder, then adds their lines
 * to `SHA256SUMS` there. Manifest paths are file names relative to that folder.
 */
export async function packOutputs(req: PackRequest): Promise<PackResult> {
  const outDir = dirname(req.pkgDir);
  const result: PackResult = { outputs: [{ kind: 'folder', path: basename(req.pkgDir) }] };
  const written: string[] = [];
  if (req.zip) {
    const file = join(outDir, `${req.packageId}.zip`);
    await writeZip(req.pkgDir, file, { topFolder: req.packageId, mtime: req.mtime });
    log(req.emit, 'DEBUG', 'pack', `Wrote ${file}`, req.packageId);
    result.zip = file;
    written.push(basename(file));
    result.outputs.push(await describeOutput('zip', basename(file), file));
  }
  if (req.deb) {
    const file = join(outDir, installerFileName(req.deb.info, req.deb.installerName));
    const warning = debCompressionWarning(req.deb.info.compression);
    if (warning) log(req.emit, 'WARNING', 'pack', `${basename(file)}: ${warning}`, req.packageId);
    await writeDeb(req.pkgDir, file, req.deb.info, { mtime: req.mtime });
    log(req.emit, 'DEBUG', 'pack', `Wrote ${file}`, req.packageId);
    result.deb = file;
    written.push(basename(file));
    result.outputs.push(await describeOutput('deb', basename(file), file));
  }
  if (req.rpm) {
    const file = join(outDir, rpmInstallerFileName(req.rpm.info, req.rpm.installerName));
    const { signingKey } = req.rpm;
    await writeRpm(req.pkgDir, file, req.rpm.info, { mtime: req.mtime, ...(signingKey ? { signingKey } : {}) });
    log(req.emit, 'DEBUG', 'pack', signingKey ? `Wrote ${file}, signed with key ${signingKey.fingerprint}` : `Wrote ${file}`, req.packageId);
    result.rpm = file;
    written.push(basename(file));
    result.outputs.push(await describeOutput('rpm', basename(file), file));
  }
  if (written.length > 0) await updateSha256Sums(outDir, written);
  return result;
}
