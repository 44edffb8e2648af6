import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile, utimes } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { fastStatInUse, statter } from '../../src/core/fast-stat.js';
import { tempDir } from '../util/run.js';

function expected(path: string): { size: number; mtimeMs: number; ino: number } | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s === undefined ? undefined : { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  } catch {
    return undefined;
  }
}

test('statter gives exactly what fs.statSync gives, for files, folders, links and missing paths', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'file'), 'x'.repeat(1234));
  await symlink('file', join(dir, 'link'));
  await symlink('nowhere', join(dir, 'dangling'));
  const stat = statter(join(dir, 'file'));
  // On the Node.js this project supports, the fast way must be the one taken (else this test proves nothing about it).
  if (process.versions.node.startsWith('20.')) assert.equal(fastStatInUse(), true, 'the fs binding was not trusted on Node 20');
  for (const name of ['file', 'sub', 'link', 'dangling', 'missing', 'file/below', 'sub/missing']) {
    assert.deepEqual(stat(join(dir, name)), expected(join(dir, name)), name);
  }
  // Every sub-millisecond timestamp must compare equal with what a record written from Stats holds.
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 999_999_999 }), fc.nat(5000), async (sec, nsec, size) => {
      const path = join(dir, 'timed');
      await writeFile(path, Buffer.alloc(size));
      await utimes(path, sec + nsec / 1e9, sec + nsec / 1e9);
      assert.deepEqual(stat(path), expected(path));
    }),
    { numRuns: 100 },
  );
});
