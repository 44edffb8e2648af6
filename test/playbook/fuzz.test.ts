import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError } from '../../src/core/errors.js';
import { parseYamlText } from '../../src/playbook/yaml-file.js';
import { FILE_SCHEMAS } from '../../src/playbook/schema.js';
import { join } from 'node:path';
import { loadPlaybook } from '../../src/playbook/load.js';
import { loadUserConfig } from '../../src/playbook/user-config.js';
import { tempDir } from '../util/run.js';
import { INVENTORY, writeFiles } from './helpers.js';

/** Pieces that make YAML-ish text likely to hit parser and validator corners. */
const token = fc.constantFrom(
  'package:', 'name: x', 'version: 1.10', 'system_targets:', 'linux:', 'compatibility:', '- ', '  ', '    ', '\n', ': ', '{', '}', '[', ']', ',',
  '&a ', '*a', '*b', '&b [*a, *a]', '"', "'", '#', '|', '>', '---', '...', '? ', '!!str ', '!!map', 'targets:', 'choices: [a, b]', 'choises: [a]',
  'default: x', 'include: [y.yml]', 'commands: echo', 'virtual: true', 'depends: [z]', 'sha256: 00', 'when: { arch: amd64 }', 'priority: high',
  'null', '~', '0x1F', '1e3', '.inf', 'true', '<<: *a', '%YAML 1.2', '\t', 'é', '\u0000', '\r\n', 'download_retries: -1', 'packages:',
);
const yamlish = fc.oneof(fc.array(token, { maxLength: 40 }).map((t) => t.join('')), fc.string({ maxLength: 200 }));

test('any YAML-ish text gives a value or a ConfigError with a location, never another exception', () => {
  for (const [name, schema] of Object.entries(FILE_SCHEMAS)) {
    fc.assert(
      fc.property(yamlish, (text) => {
        try {
          parseYamlText(text, name, schema, name === 'user-config.schema.json' ? {} : null);
        } catch (error) {
          assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}\n${JSON.stringify(text)}`);
          assert.ok(error.diagnostics.length > 0);
          for (const d of error.diagnostics) {
            assert.ok(d.location, `no location: ${d.message}`);
            assert.equal(d.location.file, name);
            assert.ok(d.location.line >= 1 && d.location.column >= 1);
          }
        }
      }),
      { numRuns: 400 },
    );
  }
});

test('loadPlaybook and loadUserConfig on random files: a value or a ConfigError whose diagnostics are located', async () => {
  const { dir, cleanup } = await tempDir('aiop-fuzz-');
  try {
    await writeFiles(dir, { '.aiop/inventory_config.yml': INVENTORY });
    await fc.assert(
      fc.asyncProperty(yamlish, fc.boolean(), async (text, asInventory) => {
        await writeFiles(dir, asInventory ? { '.aiop/inventory_config.yml': text, '.aiop/recipe.yml': 'targets: {}\n' } : { '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': text, 'config.yml': text });
        for (const load of [() => loadPlaybook(dir), () => loadUserConfig({ AIOP_CONFIG: join(dir, 'config.yml') })]) {
          try {
            await load();
          } catch (error) {
            assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}\n${JSON.stringify(text)}`);
            for (const d of error.diagnostics) assert.ok(d.location && d.location.line >= 1, `no location: ${d.message}`);
          }
        }
      }),
      { numRuns: 60 },
    );
  } finally {
    await cleanup();
  }
});
