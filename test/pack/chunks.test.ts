import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { compareBytes } from '../../src/core/list-tree.js';
import { gatherChunks } from '../../src/pack/compress.js';
import { fileChunks, SMALL_FILE } from '../../src/pack/file-chunks.js';
import { tempDir } from '../util/run.js';

test('compareBytes orders names as their UTF-8 bytes do, characters beyond U+FFFF included (property)', () => {
  const name = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom('a', 'é', '\uffff', '\ue000', '😀', '𐀀', '/') }));
  fc.assert(
    fc.property(name, name, (a, b) => {
      assert.equal(Math.sign(compareBytes(a, b)), Buffer.compare(Buffer.from(a), Buffer.from(b)));
    }),
    { numRuns: 2000 },
  );
  // U+E000 is one UTF-16 unit above the surrogates, yet a smaller code point than U+10000.
  assert.ok(compareBytes('\ue000', '\u{10000}') < 0);
});

test('gatherChunks keeps every byte in order, in chunks of at least 64 KiB but the last (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(100_000), { maxLength: 40 }), async (sizes) => {
      let seed = 0;
      const input = sizes.map((size) => Buffer.alloc(size, seed++ % 251));
      async function* source(): AsyncGenerator<Buffer> {
        yield* input;
      }
      const out: Buffer[] = [];
      for await (const chunk of gatherChunks(source())) out.push(chunk);
      assert.deepEqual(Buffer.concat(out), Buffer.concat(input));
      for (const chunk of out.slice(0, -1)) assert.ok(chunk.length >= 64 * 1024, `a chunk of ${chunk.length} bytes before the last`);
      assert.ok(out.every((chunk) => chunk.length > 0));
    }),
    { numRuns: 200 },
  );
});

test('fileChunks gives exactly the listed bytes, and refuses a file that shrank or grew since it was listed', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const read = async (path: string, size: number): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const chunk of fileChunks(path, size)) parts.push(chunk);
    return Buffer.concat(parts);
  };
  for (const size of [0, 1, SMALL_FILE, SMALL_FILE + 1, 3 * 1024 * 1024 + 7]) {
    const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31) & 0xff));
    const file = join(dir, `f${size}`);
    await writeFile(file, bytes);
    assert.deepEqual(await read(file, size), bytes);
    if (size > 0) await assert.rejects(read(file, size - 1), new RegExp(`f${size} changed size while being packed \\(${size - 1} bytes listed, more read\\)`));
    await assert.rejects(read(file, size + 1), new RegExp(`f${size} changed size while being packed \\(${size + 1} bytes listed, ${size} read\\)`));
  }
});
