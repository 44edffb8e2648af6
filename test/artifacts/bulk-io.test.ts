import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { tempDir } from '../util/run.js';
import { startFaultServer } from '../util/fault-server.js';
import { SequentialWriter, copyChunked, directIoAllowed, readChunks } from '../../src/artifacts/bulk-io.js';
import { fetchUrl, placeArtifacts, type ResolvedArtifact } from '../../src/artifacts/index.js';
import { cachedFile, scan, settingsFor, sri } from './helpers.js';

const MiB = 1 << 20;
/** Sizes around the block, the write chunk (1 MiB) and the read chunk (4 MiB). */
const sizes = fc.oneof(
  fc.constantFrom(0, 1, 4095, 4096, 4097, MiB - 1, MiB, MiB + 1, 3 * MiB + 17, 4 * MiB, 4 * MiB + 1, 9 * MiB + 4096),
  fc.integer({ min: 0, max: 6 * MiB }),
);

test('SequentialWriter writes exactly the bytes given, however they are split, direct or not', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  const pool = randomBytes(10 * MiB);
  let n = 0;
  await fc.assert(
    fc.asyncProperty(sizes, fc.array(fc.integer({ min: 1, max: 3 * MiB }), { minLength: 1, maxLength: 8 }), fc.boolean(), async (size, cuts, direct) => {
      const data = pool.subarray(0, size);
      const file = join(dir, `w${n++}`);
      const writer = await SequentialWriter.create(file, { direct, mode: 0o600 });
      for (let at = 0, i = 0; at < size; i++) {
        const len = Math.min(cuts[i % cuts.length]!, size - at);
        await writer.write(data.subarray(at, at + len));
        at += len;
      }
      assert.equal(await writer.close(), size);
      assert.ok((await readFile(file)).equals(data));
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    }),
    { numRuns: 25 },
  );
});

test('SequentialWriter refuses to overwrite an existing file', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  await writeFile(join(dir, 'there'), 'x');
  await assert.rejects(SequentialWriter.create(join(dir, 'there'), { direct: true }), { code: 'EEXIST' });
});

test('readChunks and copyChunked give back the file, hashing the very bytes they write', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  const pool = randomBytes(10 * MiB);
  let n = 0;
  await fc.assert(
    fc.asyncProperty(sizes, fc.boolean(), async (size, direct) => {
      const data = pool.subarray(0, size);
      const source = join(dir, `s${n}`);
      const target = join(dir, `t${n++}`);
      await writeFile(source, data);
      const pieces: Buffer[] = [];
      for await (const chunk of readChunks(source, direct)) pieces.push(Buffer.from(chunk));
      assert.ok(Buffer.concat(pieces).equals(data));
      const seen: Buffer[] = [];
      assert.equal(await copyChunked(source, target, { mode: 0o640, directRead: direct, onChunk: (c) => seen.push(Buffer.from(c)) }), size);
      assert.ok((await readFile(target)).equals(data));
      assert.ok(Buffer.concat(seen).equals(data));
    }),
    { numRuns: 20 },
  );
  await assert.rejects(copyChunked(join(dir, 's0'), join(dir, 's0'), { mode: 0o644, directRead: false }), { code: 'EEXIST' });
});

test('copies and writes at once, more than the buffers kept idle and again after them, each give back their own bytes', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  // Distinct contents of several chunks each, so that a buffer shared by two copies shows.
  const contents = Array.from({ length: 10 }, (_, i) => randomBytes(3 * MiB + 1000 * i));
  await Promise.all(contents.map((data, i) => writeFile(join(dir, `s${i}`), data)));
  for (const round of [0, 1, 2]) {
    await Promise.all(
      contents.map(async (data, i) => {
        if ((i + round) % 2 === 0) {
          const seen: Buffer[] = [];
          await copyChunked(join(dir, `s${i}`), join(dir, `c${round}-${i}`), { mode: 0o644, directRead: i % 3 === 0, onChunk: (c) => seen.push(Buffer.from(c)) });
          assert.ok(Buffer.concat(seen).equals(data));
        } else {
          const writer = await SequentialWriter.create(join(dir, `c${round}-${i}`), { direct: i % 3 === 0 });
          for (let at = 0; at < data.length; at += 300_000) await writer.write(data.subarray(at, at + 300_000));
          assert.equal(await writer.close(), data.length);
        }
      }),
    );
    for (const [i, data] of contents.entries()) assert.ok((await readFile(join(dir, `c${round}-${i}`))).equals(data), `round ${round}, file ${i}`);
  }
});

test('fetchUrl through the cache writes the destination while downloading; failed tries leave nothing beside it', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  const body = randomBytes(3 * MiB + 5);
  const server = await startFaultServer({
    '/big.bin': [
      { kind: 'drop', body, after: MiB + 3 },
      { kind: 'ok', body: randomBytes(body.length) },
      { kind: 'ok', body },
    ],
  });
  t.after(() => server.stop());
  const cache = join(dir, 'cache');
  const dest = join(dir, 'out/sub/big.bin');
  await fetchUrl(`${server.url}/big.bin`, dest, settingsFor(cache, [], { retries: 3 }), sri(body));
  assert.equal(server.count('/big.bin'), 3);
  assert.ok((await readFile(dest)).equals(body));
  assert.ok((await readFile(await cachedFile(cache, `${server.url}/big.bin`))).equals(body));
  // No temp file of a failed try (dropped, wrong bytes) or of the final one is left.
  assert.deepEqual(await readdir(join(dir, 'out/sub')), ['big.bin']);
  assert.deepEqual((await scan(cache)).filter((p) => p.startsWith('tmp/')), []);

  // A second fetch is a cache hit: no request, same bytes.
  await fetchUrl(`${server.url}/big.bin`, join(dir, 'again.bin'), settingsFor(cache, []), sri(body));
  assert.equal(server.count('/big.bin'), 3);
  assert.ok((await readFile(join(dir, 'again.bin'))).equals(body));
});

test('without the cache, one download shared by two places of the same package is moved once and copied once', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-bulk-');
  t.after(cleanup);
  const body = randomBytes(2 * MiB + 1);
  const server = await startFaultServer({ '/same.bin': [{ kind: 'ok', body }] });
  t.after(() => server.stop());
  const url = `${server.url}/same.bin`;
  const artifacts: ResolvedArtifact[] = [
    { name: 'one', url, integrity: sri(body), extract: false, stripComponents: 0, dest: 'a/one.bin' },
    { name: 'two', url, integrity: sri(body), extract: false, stripComponents: 0, dest: 'b/two.bin' },
  ];
  const cache = join(dir, 'cache');
  const pkg = join(dir, 'pkg');
  const placed = await placeArtifacts(artifacts, pkg, settingsFor(cache, [], { noCaching: true }));
  assert.deepEqual(placed.map((p) => p.files), [['a/one.bin'], ['b/two.bin']]);
  assert.equal(server.count('/same.bin'), 1);
  assert.ok((await readFile(join(pkg, 'a/one.bin'))).equals(body));
  assert.ok((await readFile(join(pkg, 'b/two.bin'))).equals(body));
  assert.deepEqual(await scan(pkg), ['a', 'a/one.bin', 'b', 'b/two.bin']);
  // Nothing was kept: no content, no temp file.
  assert.deepEqual((await scan(cache)).filter((p) => p !== 'tmp'), []);
});

test('AIOP_DIRECT_IO=0 is the switch that turns O_DIRECT off; anything else leaves it on where the file system takes it', () => {
  assert.equal(directIoAllowed({ AIOP_DIRECT_IO: '0' }), false);
  assert.equal(directIoAllowed({}), true);
  assert.equal(directIoAllowed({ AIOP_DIRECT_IO: '1' }), true);
});
