import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { stampFile } from '../../src/engine/state.js';
import { tempDir } from '../util/run.js';

const triple = (path: string) => {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
};

test('stampFile trusts a stat of this run only when it matches the recorded stamp, and never for a symbolic link', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'one\n');
  const known = (await stampFile(file, undefined))!;
  const seen = triple(file);

  // Matching: the recorded stamp comes back without looking at the file (gone now, to prove it).
  await promisify(rm)(file);
  assert.equal(await stampFile(file, known, seen), known);
  // Without the earlier stat the file is looked at, and it is gone.
  assert.equal(await stampFile(file, known), undefined);

  // Not matching (the content changed since the record): the file is read again.
  writeFileSync(file, 'two, longer\n');
  const fresh = await stampFile(file, known, triple(file));
  assert.notEqual(fresh?.hash, known.hash);

  // A link: the earlier stat follows it, the stamp does not. They cannot match (two inodes), so
  // a link re-pointed elsewhere is always seen.
  const link = join(dir, 'link');
  writeFileSync(join(dir, 'b.txt'), 'two, longer\n');
  symlinkSync('a.txt', link);
  const linkStamp = (await stampFile(link, undefined))!;
  assert.notEqual(triple(link).ino, linkStamp.ino);
  await promisify(rm)(link);
  symlinkSync('b.txt', link);
  const moved = await stampFile(link, linkStamp, triple(link));
  assert.notEqual(moved?.hash, linkStamp.hash);
});
