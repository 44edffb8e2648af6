import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { contentPath } from '../../src/artifacts/index.js';

const require = createRequire(import.meta.url);
const cacachePath = require('cacache/lib/content/path.js') as (cache: string, integrity: string) => string;

test('contentPath is where cacache itself puts the content, for every algorithm', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(['sha256', 32] as const, ['sha384', 48] as const, ['sha512', 64] as const),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      ([algorithm, length], bytes) => {
        const integrity = `${algorithm}-${Buffer.from(bytes.subarray(0, length)).toString('base64')}`;
        assert.equal(contentPath('/var/cache/aiop', integrity), cacachePath('/var/cache/aiop', integrity));
      },
    ),
  );
});
