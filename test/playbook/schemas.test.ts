import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../util/run.js';
import { renderGenerated, renderFormatsDoc } from '../../src/playbook/write-schemas.js';
import { parseYamlText } from '../../src/playbook/yaml-file.js';
import { FILE_SCHEMAS } from '../../src/playbook/schema.js';

test('committed schema/*.json and docs/formats.md match the zod definitions (else run `npm run schema`)', async () => {
  for (const [rel, text] of renderGenerated()) {
    const committed = await readFile(join(REPO, rel), 'utf8').catch(() => '(missing)');
    assert.ok(committed === text, `${rel} is out of date with src/playbook/schema.ts: run \`npm run schema\` and commit the result`);
  }
});

test('every schema is a draft 2020-12 schema with a title, closed objects and no $id', () => {
  for (const [rel, text] of renderGenerated()) {
    if (!rel.endsWith('.json')) continue;
    const schema = JSON.parse(text);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.title, 'string');
    assert.equal(schema.$id, undefined);
    assert.equal(schema.additionalProperties, false, rel);
  }
});

test('every example in docs/formats.md carries its schema comment and validates', () => {
  const doc = renderFormatsDoc();
  const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(examples.length, Object.keys(FILE_SCHEMAS).length);
  for (const example of examples) {
    // Playbook files point at the copies in .aiop/schema/; the user config at aiop's own schema/.
    const name = /^# yaml-language-server: \$schema=(?:\.\.\/)?schema\/(\S+)\n/.exec(example)?.[1];
    assert.ok(name && name in FILE_SCHEMAS, `example lacks its schema comment:\n${example}`);
    parseYamlText(example, name, FILE_SCHEMAS[name as keyof typeof FILE_SCHEMAS]);
  }
});
