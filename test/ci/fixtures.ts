/** Playbook fragments shared by the CI tests. */
import { parse } from 'yaml';
import { inventorySchema, packagesSchema, type InventoryConfig, type PackagesConfig } from '../../src/playbook/schema.js';

/** Two system targets: linux (distro, arch; a deb section) and windows (arch only, no deb). */
export const INVENTORY_YAML = `
package:
  name: hello
  version: 1.4.0
  maintainer: Hello Team <hello@example.com>
  description: |
    Says hello.
    A longer description.
variables: { DEB_ARCH: "\${arch}" }
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12, ubuntu22.04], help: Distribution release }
      - { name: arch, choices: [amd64, arm64], help: CPU architecture }
    deb:
      architecture: "\${DEB_ARCH}"
  windows:
    compatibility:
      - { name: arch, choices: [x64, arm64] }
  any:
    compatibility: []
`;

/** A parsed inventory_config.yml (the two-target fixture by default). */
export function inventory(text = INVENTORY_YAML): InventoryConfig {
  return inventorySchema.parse(parse(text));
}

/** A parsed packages.yml. */
export function packages(text: string): PackagesConfig {
  return packagesSchema.parse(parse(text));
}
