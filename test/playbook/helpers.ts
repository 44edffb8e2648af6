/** Small helpers for the playbook tests: writing a playbook and catching ConfigErrors. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { ConfigError, formatDiagnostic } from '../../src/core/errors.js';

/** A valid inventory with one system target `linux` (distro, arch). */
export const INVENTORY = `# yaml-language-server: $schema=../schema/inventory_config.schema.json
package:
  name: hello
  version: 1.4.0
  maintainer: Hello Team <hello@example.com>
  description: |
    Says hello.
    A longer description.
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12, ubuntu22.04], help: Distribution release }
      - { name: arch, choices: [amd64, arm64], help: CPU architecture }
`;

/** A valid recipe. */
export const RECIPE = `default: package
variables: { GREETING: Hello }
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    sources: [files/hello.sh]
    commands: ":copy $source $target"
`;

/** Writes files (path relative to `root` to text). */
export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
}

/** Awaits `promise`, expecting a ConfigError; returns it and its formatted text. */
export async function configError(promise: Promise<unknown>): Promise<{ error: ConfigError; text: string }> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error, text: error.diagnostics.map(formatDiagnostic).join('\n') };
  }
  assert.fail('expected a ConfigError');
}
