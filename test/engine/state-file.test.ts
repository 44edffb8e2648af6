import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { StateFile, journalPath } from '../../src/store/state-file.js';
import { StateSearch } from '../../src/store/state-search.js';
import type { FileStamp, TargetRecord } from '../../src/engine/state.js';
import { tempDir } from '../util/run.js';

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
// Spread into plain objects: fast-check may make them without a prototype, and JSON gives one.
const stamp: fc.Arbitrary<FileStamp> = fc.record({ size: fc.nat(), mtimeMs: fc.double({ min: 0, max: 2e12, noNaN: true }), ctimeMs: fc.double({ min: 0, max: 2e12, noNaN: true }), ino: fc.nat(), mode: fc.nat(0o177777), hash: hex }).map((s) => ({ ...s }));
const record: fc.Arbitrary<TargetRecord> = fc.record({ cmd: hex, src: hex, deps: hex, sig: fc.oneof(hex, fc.constant('dir')) }).map((r) => ({ ...r }));
// Names with the characters a line format must survive: tabs, newlines, quotes, backslashes, non-ASCII.
const name = fc.string({ unit: fc.constantFrom('a', 'b', '/', '.', '\t', '\n', '"', '\\', 'é', '😀'), minLength: 1, maxLength: 8 });

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = await tempDir();
  try {
    return await body(dir);
  } finally {
    await cleanup();
  }
}

test('a state written and read back holds every record, by the full reading and by search', async () => {
  await fc.assert(
    fc.asyncProperty(fc.dictionary(name, record, { maxKeys: 6 }).map((d) => ({ ...d })), fc.dictionary(name, stamp, { maxKeys: 6 }).map((d) => ({ ...d })), async (targets, files) =>
      withDir(async (dir) => {
        const path = join(dir, 'signatures.json');
        const saved = await StateFile.load(path).save({ targets: new Map(Object.entries(targets)), files: new Map(Object.entries(files)) }, false);
        const full = StateFile.load(path);
        assert.equal(full.id, saved.snapshot);
        assert.deepEqual(full.targetKeys().sort(), Object.keys(targets).sort());
        const sigs = new Map(Object.entries(targets).map(([k, r]) => [k, r.sig]));
        const search = StateSearch.open(path, (key) => sigs.get(key))!;
        assert.deepEqual(search.current, saved);
        for (const [key, value] of Object.entries(targets)) {
          assert.deepEqual(full.target(key), value);
          assert.equal(full.signature(key), value.sig);
          assert.deepEqual(search.target(key), value, `search for target ${JSON.stringify(key)}`);
        }
        for (const [path2, value] of Object.entries(files)) {
          assert.deepEqual(full.file(path2), value);
          assert.deepEqual(search.file(path2), value, `search for file ${JSON.stringify(path2)}`);
        }
        // A target named like a file (and the other way round) is not found as the other kind.
        for (const key of Object.keys(files)) if (!(key in targets)) assert.equal(search.target(key), undefined);
        for (const key of Object.keys(targets)) if (!(key in files)) assert.equal(search.file(key), undefined);
      }),
    ),
    { numRuns: 40 },
  );
});

test('a large state is found by binary search: every record, none of the absent, whatever the names and line lengths', async () => {
  // Long names (up to 20,000 characters) make lines longer than the search's window.
  const longName = fc.oneof(
    { weight: 20, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', 'z', '/', '.', '\t', '"', '\\', 'é', '😀', '~'), minLength: 1, maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'é', '"'), minLength: 5000, maxLength: 20000 }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(longName, { minLength: 300, maxLength: 1500 }), fc.uniqueArray(longName, { minLength: 1, maxLength: 40 }), record, stamp, async (names, absent, r, st) =>
      withDir(async (dir) => {
        const path = join(dir, 'signatures.json');
        const targets = new Map(names.filter((_, i) => i % 2 === 0).map((n, i) => [n, { ...r, sig: `${i}` }]));
        const files = new Map(names.filter((_, i) => i % 2 === 1).map((n, i) => [n, { ...st, size: i }]));
        await StateFile.load(path).save({ targets, files }, false);
        const search = StateSearch.open(path, () => undefined)!;
        for (const [key, value] of targets) assert.deepEqual(search.target(key), value, `target ${JSON.stringify(key).slice(0, 40)}`);
        for (const [file, value] of files) assert.deepEqual(search.file(file), value, `file ${JSON.stringify(file).slice(0, 40)}`);
        for (const key of absent) {
          if (!targets.has(key)) assert.equal(search.target(key), undefined);
          if (!files.has(key)) assert.equal(search.file(key), undefined);
        }
      }),
    ),
    { numRuns: 6, seed: 20261122 },
  );
});

test('a partial save goes to the journal and reads back as a full save would; a full save folds it in', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(name, record, { minKeys: 1, maxKeys: 5 }).map((d) => ({ ...d })),
      fc.array(fc.tuple(name, fc.option(record, { nil: null })), { maxLength: 4 }),
      fc.dictionary(name, stamp, { maxKeys: 3 }).map((d) => ({ ...d })),
      async (initial, edits, stamps) =>
        withDir(async (dir) => {
          const path = join(dir, 'signatures.json');
          await StateFile.load(path).save({ targets: new Map(Object.entries(initial)), files: new Map() }, false);
          const changes = { targets: new Map(edits), files: new Map(Object.entries(stamps)) };
          const saved = await StateFile.load(path).save(changes, true);
          assert.ok(saved.journalBytes > 0, 'written to the journal');
          assert.equal(readFileSync(journalPath(path)).length, saved.journalBytes);
          const expected = new Map(Object.entries(initial));
          for (const [key, value] of edits) {
            if (value === null) expected.delete(key);
            else expected.set(key, value);
          }
          const check = (state: StateFile): void => {
            assert.deepEqual(state.targetKeys().sort(), [...expected.keys()].sort());
            for (const [key, value] of expected) assert.deepEqual(state.target(key), value);
            for (const [file, value] of Object.entries(stamps)) assert.deepEqual(state.file(file), value);
          };
          check(StateFile.load(path));
          const search = StateSearch.open(path, () => undefined)!;
          for (const [key, value] of expected) assert.deepEqual(search.target(key), value);
          // A full save writes a new snapshot with everything, and no journal.
          const folded = await StateFile.load(path).save({ targets: new Map(), files: new Map(Object.entries(stamps)) }, false);
          assert.equal(folded.journalBytes, 0);
          check(StateFile.load(path));
        }),
    ),
    { numRuns: 30 },
  );
});

test('a journal line cut short, or written for another snapshot, is not applied (and nothing after it)', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'signatures.json');
    const a: TargetRecord = { cmd: 'c', src: 's', deps: 'd', sig: 'a1' };
    await StateFile.load(path).save({ targets: new Map([['a', a]]), files: new Map() }, false);
    await StateFile.load(path).save({ targets: new Map([['a', { ...a, sig: 'a2' }]]), files: new Map() }, true);
    assert.equal(StateFile.load(path).target('a')?.sig, 'a2');
    appendFileSync(journalPath(path), '{"snapshot":"cut');
    const state = StateFile.load(path);
    assert.equal(state.target('a')?.sig, 'a2', 'the whole lines before it still apply');
    assert.equal(StateSearch.open(path, () => undefined), undefined, 'the search reading refuses a damaged journal');
    // The next partial save cannot append after a damaged line: it writes a snapshot.
    const saved = await state.save({ targets: new Map([['b', { ...a, sig: 'b1' }]]), files: new Map() }, true);
    assert.equal(saved.journalBytes, 0);
    assert.deepEqual(StateFile.load(path).targetKeys().sort(), ['a', 'b']);

    writeFileSync(journalPath(path), `${JSON.stringify({ snapshot: 'another', targets: { a: { ...a, sig: 'zz' } }, files: {} })}\n`);
    assert.equal(StateFile.load(path).target('a')?.sig, 'a2', 'a journal of another snapshot is ignored');
  });
});

test('the JSON state of earlier versions is read; anything else unreadable means nothing was built', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'signatures.json');
    const rec: TargetRecord = { cmd: 'c', src: 's', deps: 'd', sig: 'x' };
    writeFileSync(path, JSON.stringify({ version: 1, targets: { 'a.txt': rec }, files: { '/f': { size: 1, mtimeMs: 2, ino: 3, hash: 'h' } } }));
    const old = StateFile.load(path);
    assert.deepEqual(old.target('a.txt'), rec);
    assert.equal(old.file('/f')?.hash, 'h');
    await old.save({ targets: new Map(), files: new Map() }, false);
    assert.match(readFileSync(path, 'utf8'), /^aiop-state 3\t[0-9a-f]{16}\n/);
    assert.deepEqual(StateFile.load(path).target('a.txt'), rec, 'kept when written in the new format');

    // The unsorted lines of format 2 are read whole (a search does not trust their order).
    const unsorted = `aiop-state 2\tabc\nt\tx\t"b.txt"\t${JSON.stringify(rec)}\nt\tx\t"a.txt"\t${JSON.stringify(rec)}\n`;
    writeFileSync(path, unsorted);
    assert.deepEqual(StateFile.load(path).targetKeys().sort(), ['a.txt', 'b.txt']);
    assert.equal(StateSearch.open(path, () => undefined), undefined);

    writeFileSync(path, 'aiop-state 2\tabc\nt\tbroken line without fields\n');
    assert.deepEqual(StateFile.load(path).targetKeys(), []);
    writeFileSync(path, 'garbage');
    assert.equal(StateFile.load(path).id, undefined);
  });
});
