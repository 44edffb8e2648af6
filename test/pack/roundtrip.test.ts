import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeDeb, type DebInfo } from '../../src/pack/deb.js';
import { writeZip } from '../../src/pack/zip.js';
import { requireTools } from '../util/tools.js';
import { tempDir } from '../util/run.js';

type Node = { kind: 'file'; data: string; exec: boolean } | { kind: 'dir'; children: Record<string, Node> } | { kind: 'link'; target: string };

const segment = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}$/),
  fc.constantFrom('ü', 'Grüße', 'space name', 'x'.repeat(90), 'données'),
);
const tree: fc.Arbitrary<Record<string, Node>> = fc.letrec<{ dir: Record<string, Node>; node: Node }>((tie) => ({
  dir: fc.dictionary(segment, tie('node'), { maxKeys: 4 }),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('file' as const), data: fc.string({ maxLength: 3000 }), exec: fc.boolean() }),
    fc.record({ kind: fc.constant('link' as const), target: fc.stringMatching(/^[a-z./]{1,40}$/) }),
    fc.record({ kind: fc.constant('dir' as const), children: tie('dir') }),
  ),
})).dir;

async function materialise(dir: string, nodes: Record<string, Node>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, node] of Object.entries(nodes)) {
    const p = join(dir, name);
    if (node.kind === 'file') {
      await writeFile(p, node.data);
      await chmod(p, node.exec ? 0o750 : 0o600);
    } else if (node.kind === 'link') await symlink(node.target, p);
    else await materialise(p, node.children);
  }
}

/** path -> description (file content and normalised mode, link target, or folder), read from disk. */
async function describe(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const rel = prefix === '' ? name : `${prefix}/${name}`;
    const st = await lstat(p);
    if (st.isSymbolicLink()) out.set(rel, `link ${await readlink(p)}`);
    else if (st.isDirectory()) {
      out.set(rel, 'dir');
      for (const [k, v] of await describe(p, rel)) out.set(k, v);
    } else out.set(rel, `file ${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${(await readFile(p)).toString('base64')}`);
  }
  return out;
}

test('any package tree comes back unchanged from the zip and from the .deb', async (t) => {
  if (!requireTools(t, 'unzip', 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const info: DebInfo = { name: 'rt', version: '1', maintainer: 'T <t@example.com>', description: 'Round trip', architecture: 'all', installPrefix: '/opt/rt', compression: 'gzip' };
  let run = 0;
  await fc.assert(
    fc.asyncProperty(tree, async (nodes) => {
      const base = join(dir, String(run++));
      const pkg = join(base, 'pkg');
      await materialise(pkg, nodes);
      const want = await describe(pkg);
      await writeZip(pkg, join(base, 'p.zip'), { topFolder: 'top', mtime: new Date(0) });
      execFileSync('unzip', ['-q', join(base, 'p.zip'), '-d', join(base, 'z')]);
      assert.deepEqual(await describe(join(base, 'z', 'top')), want);
      await writeDeb(pkg, join(base, 'p.deb'), info, { mtime: new Date(0) });
      execFileSync('dpkg-deb', ['-x', join(base, 'p.deb'), join(base, 'd')]);
      assert.deepEqual(await describe(join(base, 'd', 'opt', 'rt')), want);
      await rm(base, { recursive: true, force: true });
    }),
    { numRuns: 15 },
  );
});
