import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from '../util/run.js';

/** Every source file under src/, relative to it, with the src/ files it imports (static or dynamic). */
async function importsOfSources(): Promise<Map<string, string[]>> {
  const src = join(REPO, 'src');
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  await walk(src);
  const imports = new Map<string, string[]>();
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const targets = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => relative(src, resolve(dirname(file), m[1]!)));
    imports.set(relative(src, file), targets);
  }
  return imports;
}

const topFolder = (path: string): string => path.split('/')[0]!;

test('cli/ is imported by nothing outside it, and commands/ only by cli/ (the core knows no terminal)', async () => {
  const imports = await importsOfSources();
  assert.ok(imports.size > 50, `read the sources (${imports.size} files)`);
  const wrong: string[] = [];
  for (const [file, targets] of imports) {
    const from = topFolder(file);
    for (const target of targets) {
      const to = topFolder(target);
      if (to === 'cli' && from !== 'cli') wrong.push(`${file} imports ${target}`);
      if (to === 'commands' && from !== 'cli' && from !== 'commands') wrong.push(`${file} imports ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});
