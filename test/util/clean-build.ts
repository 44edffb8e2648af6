/**
 * Compares what an incremental build left with what a clean build of the same sources
 * leaves: the playbook is copied without its `.build/` and state into a fresh folder, built
 * there with the same arguments, and the package folders (modes and contents), zips and
 * .debs are compared byte for byte.
 */
import assert from 'node:assert/strict';
import { cp, lstat, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { aiop } from './run.js';
import { snapshot } from './playbook.js';

/** Everything `aiop build` left in an output folder (`.build/`): the package folder's entries, and each other file's bytes. */
export async function outputsOf(outputDir: string, pkgId: string): Promise<{ folder: Record<string, string>; files: Record<string, Buffer> }> {
  const folder = await snapshot(join(outputDir, pkgId));
  const files: Record<string, Buffer> = {};
  for (const name of (await readdir(outputDir)).sort()) {
    // The manifest and checksums name the folder they were written in; the package itself is compared above.
    if (name === pkgId || name.endsWith('.manifest.json') || name === 'SHA256SUMS' || name.startsWith('.')) continue;
    if (!(await lstat(join(outputDir, name))).isFile()) continue;
    files[name] = await readFile(join(outputDir, name));
  }
  return { folder, files };
}

/**
 * Builds a copy of `root` (without `.build/` and `.aiop/state`, `.aiop/logs`) with `args`
 * and asserts that its package folder and every file it wrote beside it (zip, .deb, .rpm)
 * are byte for byte those in `root/.build/`.
 */
export async function assertSameAsClean(root: string, args: string[], env: Record<string, string | undefined>, pkgId: string, message: string): Promise<void> {
  const copy = join(await mkdtemp(join(root, '..', 'clean-')), 'pb');
  await cp(root, copy, {
    recursive: true,
    filter: (src) => {
      const rel = relative(root, src);
      return rel !== '.build' && rel !== join('.aiop', 'state') && rel !== join('.aiop', 'logs');
    },
  });
  const clean = await aiop(['build', ...args], { cwd: copy, env });
  assert.equal(clean.code, 0, `clean build: ${clean.stderr}`);
  const expected = await outputsOf(join(copy, '.build'), pkgId);
  const actual = await outputsOf(join(root, '.build'), pkgId);
  assert.deepEqual(actual.folder, expected.folder, `${message}: the package folder differs from a clean build's`);
  // Outputs of earlier builds with other options (a zip not asked for this time) may stay beside it.
  for (const [name, bytes] of Object.entries(expected.files)) {
    assert.ok(actual.files[name]?.equals(bytes), `${message}: ${name} differs from a clean build's`);
  }
}
