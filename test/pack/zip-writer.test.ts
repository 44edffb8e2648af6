import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32, crc32Table } from '../../src/core/crc32.js';
import { ZipWriter } from '../../src/pack/zip-writer.js';
import { SMALL_FILE } from '../../src/pack/file-chunks.js';
import { extractArchive } from '../../src/artifacts/extract/index.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';

const DOS = { date: (44 << 9) | (11 << 5) | 14, time: (22 << 11) | (13 << 5) | 10 };

test('crc32: the check value of "123456789", and the table agrees with zlib in any split', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, cut) => {
      const data = Buffer.from(bytes);
      const at = Math.min(cut, data.length);
      const whole = crc32Table(data);
      assert.equal(crc32Table(data.subarray(at), crc32Table(data.subarray(0, at))), whole);
      const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
      if (native !== undefined) assert.equal(native(data), whole);
    }),
  );
});

test('more than 65535 entries: a zip64 end record that unzip and our extractor read', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-zip64-');
  t.after(cleanup);
  const zip = join(dir, 'many.zip');
  const fh = await open(zip, 'wx');
  const count = 0x10000 + 5;
  try {
    const writer = new ZipWriter(fh, DOS);
    await writer.directory('d/', 0o40755);
    for (let i = 1; i < count - 1; i++) await writer.directory(`d/${i.toString(36)}/`, 0o40755);
    await writer.stored('d/last.txt', Buffer.from('the end\n'), 0o100644);
    await writer.finish();
  } finally {
    await fh.close();
  }
  const data = await readFile(zip);
  assert.ok(data.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06])), 'a zip64 end of central directory record');
  const eocd = data.subarray(data.length - 22);
  assert.equal(eocd.readUInt16LE(10), 0xffff, 'the classic record says: look at zip64');
  const out = join(dir, 'out');
  await mkdir(out);
  await extractArchive(zip, 'zip', out, { archive: 'many.zip', stripComponents: 0 });
  assert.equal((await readdir(join(out, 'd'))).length, count - 1);
  assert.equal(await readFile(join(out, 'd/last.txt'), 'utf8'), 'the end\n');
  if (requireTools(t, 'unzip')) assert.match(execFileSync('unzip', ['-tq', zip], { encoding: 'utf8' }), /No errors detected/);
});

test('a file that changes size while it is zipped is an error, not a different archive', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-zipw-');
  t.after(cleanup);
  await writeFile(join(dir, 'f'), 'twelve bytes');
  const fh = await open(join(dir, 'f.zip'), 'wx');
  try {
    const writer = new ZipWriter(fh, DOS);
    await assert.rejects(writer.file('f', join(dir, 'f'), 11, 0o100644, 6), /changed size while being packed \(11 bytes listed, more read\)/);
  } finally {
    await fh.close();
  }
});

test('a large file that changes size while it is zipped is an error too, grown or shrunk', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-zipw-');
  t.after(cleanup);
  const size = SMALL_FILE + 5000;
  await writeFile(join(dir, 'f'), Buffer.alloc(size, 7));
  for (const [listed, read] of [
    [size - 1, 'more'],
    [size + 1, String(size)],
  ] as const) {
    const fh = await open(join(dir, `f${listed}.zip`), 'wx');
    try {
      const writer = new ZipWriter(fh, DOS);
      await assert.rejects(writer.file('f', join(dir, 'f'), listed, 0o100644, 6), new RegExp(`changed size while being packed \\(${listed} bytes listed, ${read} read\\)`));
    } finally {
      await fh.close();
    }
  }
});

test('small and large files in one archive (read whole, or streamed) read back byte for byte; unzip -t agrees', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-zipw-');
  t.after(cleanup);
  const text = Buffer.from('a line of text that deflates well\n'.repeat(40_000));
  const contents = [
    Buffer.alloc(0),
    Buffer.from('small\n'),
    text.subarray(0, SMALL_FILE),
    text.subarray(0, SMALL_FILE + 1),
    Buffer.concat([text, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24))]),
  ];
  // More entries than one write of the writer collects, so the archive is written in several parts.
  for (let i = 0; i < 600; i++) contents.push(Buffer.from(`entry ${i}\n`.repeat(i % 17)));
  const zip = join(dir, 'mixed.zip');
  const fh = await open(zip, 'wx');
  try {
    const writer = new ZipWriter(fh, DOS);
    for (const [i, bytes] of contents.entries()) {
      await writeFile(join(dir, `in${i}`), bytes);
      await writer.file(`f${i}`, join(dir, `in${i}`), bytes.length, 0o100644, 6);
    }
    await writer.finish();
  } finally {
    await fh.close();
  }
  const out = join(dir, 'out');
  await mkdir(out);
  await extractArchive(zip, 'zip', out, { archive: 'mixed.zip', stripComponents: 0 });
  for (const [i, bytes] of contents.entries()) assert.deepEqual(await readFile(join(out, `f${i}`)), bytes, `f${i}`);
  if (requireTools(t, 'unzip')) assert.match(execFileSync('unzip', ['-tq', zip], { encoding: 'utf8' }), /No errors detected/);
});

test('deflated and stored entries, empty and not, read back byte for byte with their CRC checked (property)', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-zipw-');
  t.after(cleanup);
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 70_000 }), { minLength: 1, maxLength: 4 }), async (contents) => {
      const work = join(dir, String(n++));
      await mkdir(join(work, 'in'), { recursive: true });
      const zip = join(work, 'x.zip');
      const fh = await open(zip, 'wx');
      try {
        const writer = new ZipWriter(fh, DOS);
        for (const [i, bytes] of contents.entries()) {
          await writeFile(join(work, 'in', String(i)), bytes);
          if (i % 2 === 0) await writer.file(`f${i}`, join(work, 'in', String(i)), bytes.length, 0o100644, 6);
          else await writer.stored(`f${i}`, Buffer.from(bytes), 0o100755);
        }
        await writer.finish();
      } finally {
        await fh.close();
      }
      const out = join(work, 'out');
      await mkdir(out);
      await extractArchive(zip, 'zip', out, { archive: 'x.zip', stripComponents: 0 });
      for (const [i, bytes] of contents.entries()) assert.deepEqual(await readFile(join(out, `f${i}`)), Buffer.from(bytes));
    }),
    { numRuns: 15 },
  );
});
