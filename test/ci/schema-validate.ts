/** Validates generated CI files against the published JSON Schemas (copies in test/ci/schemas/). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { REPO } from '../util/run.js';

/** The copies the tests use, committed so that they run in any clone. */
export const SCHEMA_DIR = join(REPO, 'test', 'ci', 'schemas');
/** The project's shared folder beside the clone, where the copies come from (when it is there). */
export const SHARED_SCHEMA_DIR = join(REPO, '..', 'shared', 'schemas');

// ajv-formats is CommonJS with `exports.default`; NodeNext types its default import as the whole module.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** A validator for one schema file; returns the list of errors (empty when valid). */
export function schemaValidator(file: string): (data: unknown) => string[] {
  const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
  // Both schemas are draft-07 (ajv's default draft) and use keywords that strict mode rejects
  // (markdownDescription and the like).
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return (data) =>
    validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
