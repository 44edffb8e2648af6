import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lstat, mkdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../util/run.js';
import { placeArtifacts } from '../../src/artifacts/index.js';
import { AiopError } from '../../src/core/errors.js';
import { makeTarGz, makeZip, type RawEntry } from './archives.js';
import { scan, settingsFor, sri } from './helpers.js';

const segment = fc.constantFrom('a', 'b', 'c', '..', '.');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => p.join('/'));
const anyPath = fc.oneof({ weight: 5, arbitrary: relPath }, { weight: 1, arbitrary: relPath.map((p) => `/${p}`) });
const entry: fc.Arbitrary<RawEntry> = fc.oneof(
  fc.record({ type: fc.constant('file' as const), name: anyPath, content: fc.constant('x') }),
  fc.record({ type: fc.constant('dir' as const), name: anyPath }),
  fc.record({ type: fc.constant('symlink' as const), name: anyPath, link: anyPath }),
  fc.record({ type: fc.constant('hardlink' as const), name: anyPath, link: anyPath }),
);

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** Where a path really leads: the real path of its deepest existing ancestor, plus the rest. */
async function leadsTo(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch {
      rest.push(existing.slice(dirname(existing).length + 1));
      existing = dirname(existing);
    }
  }
}

test('property: whatever the entries, extraction either refuses or keeps everything inside the package', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-prop-');
  t.after(cleanup);
  await writeFile(join(dir, 'secret'), 'secret');
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 6 }), fc.constantFrom('tar.gz' as const, 'zip' as const), fc.nat(1), async (entries, format, strip) => {
      const work = join(dir, `run-${run++}`);
      await mkdir(join(work, 'src'), { recursive: true });
      const data = format === 'zip' ? makeZip(entries.filter((e) => e.type !== 'hardlink')) : makeTarGz(entries);
      const file = join(work, 'src', `x.${format}`);
      await writeFile(file, data);
      const pkg = join(work, 'pkg');
      const before = await scan(dir);
      try {
        await placeArtifacts(
          [{ name: 'x', url: pathToFileURL(file).href, integrity: sri(data), extract: true, stripComponents: strip, dest: 'd/' }],
          pkg,
          settingsFor(join(work, 'cache'), []),
        );
      } catch (error) {
        assert.ok(error instanceof AiopError && error.reason === 'extract', String(error));
      }
      const added = (await scan(dir)).filter((p) => !before.includes(p));
      const pkgRel = `run-${run - 1}/pkg`;
      for (const p of added) {
        assert.ok(p === pkgRel || p.startsWith(`${pkgRel}/`) || p.startsWith(`run-${run - 1}/cache`), `${p} written outside, entries ${JSON.stringify(entries)}`);
      }
      const realPkg = await realpath(pkg).catch(() => pkg);
      for (const p of added.filter((q) => q.startsWith(`${pkgRel}/`))) {
        const full = join(dir, p);
        if (!(await lstat(full)).isSymbolicLink()) continue;
        const target = await leadsTo(resolve(dirname(full), await readlink(full)));
        assert.ok(inside(realPkg, target), `${p} -> ${target}, entries ${JSON.stringify(entries)}`);
      }
      assert.ok(!added.some((p) => p.includes('.aiop-extract-')), 'temp folder left behind');
      await rm(work, { recursive: true, force: true });
    }),
    { numRuns: 150 },
  );
});
