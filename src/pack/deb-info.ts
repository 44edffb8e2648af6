/** From the playbook's `package` and `deb:` sections to the {@link DebInfo} that writeDeb takes. */
import { isAbsolute, resolve } from 'node:path';
import type { DebConfig, InventoryConfig } from '../playbook/schema.js';
import { UsageError } from '../core/errors.js';
import { debFileName, type DebInfo, type MaintainerScript } from './deb.js';
import { DEB_RELATIONS, type DebRelations } from './deb-relations.js';

/**
 * Builds the DebInfo of one package. `expand` is the engine's variable expansion (so
 * `architecture: ${arch}` becomes `amd64`); script paths are relative to the playbook root.
 */
export function debInfoFrom(
  pkg: InventoryConfig['package'],
  deb: DebConfig,
  opts: { playbookRoot: string; expand?: (text: string) => string },
): DebInfo {
  const x = opts.expand ?? ((text: string) => text);
  const scripts: Partial<Record<MaintainerScript, string>> = {};
  for (const [name, file] of Object.entries(deb.scripts ?? {})) {
    if (file === undefined) continue;
    const expanded = x(file);
    scripts[name as MaintainerScript] = isAbsolute(expanded) ? expanded : resolve(opts.playbookRoot, expanded);
  }
  const relations: DebRelations = {};
  for (const [key] of DEB_RELATIONS) {
    const list = deb[key];
    if (list !== undefined) relations[key] = list.map(x);
  }
  return {
    name: x(pkg.name),
    version: x(String(pkg.version)),
    maintainer: x(pkg.maintainer),
    description: x(pkg.description),
    ...(pkg.homepage !== undefined ? { homepage: x(pkg.homepage) } : {}),
    architecture: x(deb.architecture),
    installPrefix: x(deb.install_prefix),
    ...(deb.install_map ? { installMap: Object.fromEntries(Object.entries(deb.install_map).map(([k, v]) => [x(k), x(v)])) } : {}),
    ...(Object.keys(relations).length > 0 ? { relations } : {}),
    ...(deb.section !== undefined ? { section: x(deb.section) } : {}),
    ...(deb.priority !== undefined ? { priority: deb.priority } : {}),
    ...(deb.conffiles ? { conffiles: deb.conffiles.map(x) } : {}),
    ...(Object.keys(scripts).length > 0 ? { scripts } : {}),
    compression: deb.compression,
  };
}

/** Refuses an `--installer_name` that is not a plain file name: installers always land beside the package folder. */
export function checkInstallerName(installerName: string): void {
  if (/[/\\\0\n\r]/.test(installerName) || installerName === '.' || installerName === '..' || installerName.startsWith('-')) {
    throw new UsageError(`--installer_name must be a plain file name, got "${installerName}"`);
  }
}

/**
 * The .deb's file name: `--installer_name` when given (`.deb` added when missing; a plain
 * file name, since the .deb always lands beside the package folder), else the Debian default.
 */
export function installerFileName(info: DebInfo, installerName?: string): string {
  if (installerName === undefined || installerName === '') return debFileName(info);
  checkInstallerName(installerName);
  return installerName.endsWith('.deb') ? installerName : `${installerName}.deb`;
}
