import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { stampFile } from '../../src/engine/state.js';
import { RACY_MS, stampOf } from '../../src/store/stamp.js';
import { tempDir } from '../util/run.js';

const triple = (path: string) => stampOf(statSync(path));
/** A stamp proves nothing while its file's times are within the racy window (src/store/stamp.ts). */
const outOfRacyWindow = () => new Promise((resolve) => setTimeout(resolve, RACY_MS + 50));

test('stampFile trusts a stat of this run only when it matches the recorded stamp, and never for a symbolic link', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'one\n');
  await outOfRacyWindow();
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
  await outOfRacyWindow();
  const linkStamp = (await stampFile(link, undefined))!;
  assert.notEqual(triple(link).ino, linkStamp.ino);
  await promisify(rm)(link);
  symlinkSync('b.txt', link);
  const moved = await stampFile(link, linkStamp, triple(link));
  assert.notEqual(moved?.hash, linkStamp.hash);
});

test('a stamp taken within the racy window is never trusted: the file is hashed again even when the stat matches', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'one\n');
  const fresh = (await stampFile(file, undefined))!;
  assert.equal(fresh.racy, true, 'a file written just now is stamped racy');
  // A recorded hash that is not the content's: trusting the stat would give it back.
  const stat = stampOf(statSync(file));
  const wrong = { ...stat, hash: 'recorded-before-a-same-tick-rewrite' };
  assert.equal((await stampFile(file, { ...wrong, racy: true }, stat))!.hash, fresh.hash);
  assert.equal((await stampFile(file, { ...wrong, racy: true }))!.hash, fresh.hash);
  // The same stamp not marked racy is trusted as it is (which is why the mark matters).
  assert.equal((await stampFile(file, wrong, stat))!.hash, wrong.hash);
});

test('a file edited in place with its size kept and its mtime restored shows by its ctime', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'one\n');
  utimesSync(file, new Date(2020, 0, 1), new Date(2020, 0, 1));
  await outOfRacyWindow();
  const known = (await stampFile(file, undefined))!;
  assert.equal(known.racy, undefined);
  assert.equal(await stampFile(file, known), known);
  writeFileSync(file, 'two\n');
  utimesSync(file, new Date(2020, 0, 1), new Date(2020, 0, 1));
  const after = (await stampFile(file, known))!;
  assert.equal(after.mtimeMs, known.mtimeMs);
  assert.equal(after.size, known.size);
  assert.notEqual(after.hash, known.hash);
});
