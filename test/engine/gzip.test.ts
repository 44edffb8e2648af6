import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import fc from 'fast-check';
import { runBuiltin } from '../../src/engine/builtins.js';
import { AiopError } from '../../src/core/errors.js';
import { tempDir } from '../util/run.js';

const ctx = (cwd: string) => ({ cwd, expandTemplate: (t: string) => t, print: () => undefined, shell: async () => undefined });

test(':gzip writes what gzip -9 -n writes: no name, no time, Unix, the same bytes every time, the source mode', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), async (bytes) => {
      await writeFile(join(dir, 'in'), bytes);
      await chmod(join(dir, 'in'), 0o640);
      await runBuiltin(':gzip in out/a.gz'.slice(1), ctx(dir));
      await runBuiltin(':gzip in out/b.gz'.slice(1), ctx(dir));
      const a = await readFile(join(dir, 'out/a.gz'));
      assert.deepEqual(a, await readFile(join(dir, 'out/b.gz')));
      assert.deepEqual(gunzipSync(a), Buffer.from(bytes));
      assert.equal(a[3], 0, 'no FNAME or other flags');
      assert.equal(a.readUInt32LE(4), 0, 'no time');
      assert.equal(a[8], 2, 'XFL says maximum compression');
      assert.equal(a[9], 3, 'OS is Unix');
      assert.equal((await stat(join(dir, 'out/a.gz'))).mode & 0o777, 0o640);
    }),
    { numRuns: 25 },
  );
  // The gzip program agrees it is a valid file.
  execFileSync('gzip', ['-t', join(dir, 'out/a.gz')]);
  await assert.rejects(runBuiltin('gzip missing out/c.gz', ctx(dir)), (e: unknown) => e instanceof AiopError && /no such file/.test(e.message));
  await assert.rejects(runBuiltin('gzip in', ctx(dir)), /usage: :gzip SOURCE DEST/);
  assert.deepEqual((await readdir(join(dir, 'out'))).sort(), ['a.gz', 'b.gz'], 'nothing half-written is left');
});
