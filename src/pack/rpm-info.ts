/** From the playbook's `package` and `rpm:` sections to the {@link RpmInfo} that writeRpm takes. */
import { isAbsolute, resolve } from 'node:path';
import type { InventoryConfig, RpmConfig } from '../playbook/schema.js';
import { AiopError, ConfigError } from '../core/errors.js';
import { checkInstallerName } from './deb-info.js';
import { checkRpmInfo, RPM_RELATIONS, rpmArchitecture, rpmFileName, type RpmInfo, type RpmRelation, type RpmScript } from './rpm.js';

/** Builds the RpmInfo of one package; `expand` is the engine's variable expansion, script paths are relative to the playbook root. */
export function rpmInfoFrom(
  pkg: InventoryConfig['package'],
  rpm: RpmConfig,
  opts: { playbookRoot: string; expand?: (text: string) => string },
): RpmInfo {
  const x = opts.expand ?? ((text: string) => text);
  const scripts: Partial<Record<RpmScript, string>> = {};
  for (const [name, file] of Object.entries(rpm.scripts ?? {})) {
    if (file === undefined) continue;
    const expanded = x(file);
    scripts[name as RpmScript] = isAbsolute(expanded) ? expanded : resolve(opts.playbookRoot, expanded);
  }
  const relations: Partial<Record<RpmRelation, string[]>> = {};
  for (const kind of Object.keys(RPM_RELATIONS) as RpmRelation[]) {
    const list = rpm[kind];
    if (list !== undefined) relations[kind] = list.map(x);
  }
  const url = rpm.url ?? pkg.homepage;
  return {
    name: x(pkg.name),
    version: x(String(pkg.version)),
    release: x(String(rpm.release)),
    description: x(pkg.description),
    license: x(rpm.license),
    architecture: rpmArchitecture(x(rpm.architecture)),
    packager: x(pkg.maintainer),
    ...(rpm.group !== undefined ? { group: x(rpm.group) } : {}),
    ...(url !== undefined ? { url: x(url) } : {}),
    installPrefix: x(rpm.install_prefix),
    ...(rpm.install_map ? { installMap: Object.fromEntries(Object.entries(rpm.install_map).map(([k, v]) => [x(k), x(v)])) } : {}),
    ...(Object.keys(relations).length > 0 ? { relations } : {}),
    ...(rpm.config_files ? { configFiles: rpm.config_files.map(x) } : {}),
    ...(Object.keys(scripts).length > 0 ? { scripts } : {}),
    compression: rpm.compression,
  };
}

/** The .rpm's file name: `--installer_name` (any .deb or .rpm ending replaced by .rpm), else the rpm default. */
export function rpmInstallerFileName(info: RpmInfo, installerName?: string): string {
  if (installerName === undefined || installerName === '') return rpmFileName(info);
  checkInstallerName(installerName);
  return `${installerName.replace(/\.(deb|rpm)$/, '')}.rpm`;
}

/**
 * The checked .rpm settings of one system target (variables expanded), or a ConfigError /
 * AiopError naming every problem before anything is built.
 */
export function checkedRpm(
  pkg: InventoryConfig['package'],
  settings: RpmConfig | undefined,
  where: { systemTarget: string; playbookRoot: string; expand: (text: string) => string },
  installerName?: string,
): { info: RpmInfo; installerName?: string } {
  if (!settings) {
    throw new AiopError('config', `--installer rpm: system target "${where.systemTarget}" has no \`rpm:\` settings in .aiop/inventory_config.yml`);
  }
  const info = rpmInfoFrom(pkg, settings, { playbookRoot: where.playbookRoot, expand: where.expand });
  const problems = checkRpmInfo(info);
  if (problems.length > 0) {
    throw new ConfigError(problems.map((message) => ({ message: `.aiop/inventory_config.yml: system_targets.${where.systemTarget}.rpm: ${message}` })));
  }
  rpmInstallerFileName(info, installerName);
  return { info, ...(installerName !== undefined ? { installerName } : {}) };
}
