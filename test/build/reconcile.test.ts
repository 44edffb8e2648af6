import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';
import { assertSameAsClean } from '../util/clean-build.js';
import { requireTools, which } from '../util/tools.js';

const PKG = 'demo-1.0.0-linux-debian12-amd64';
const BUILD = ['linux', 'debian12', 'amd64'];
const PACKED = [...BUILD, '--zip_pack', '--installer', 'deb'];

const RECIPE = `default: package
targets:
  package: { virtual: true, depends: [bin/hello, share/doc/README, share/data] }
  bin/hello:
    sources: [files/hello.sh]
    commands: [":copy $source $target", ":chmod 0755 $target"]
  share/doc/README:
    sources: [files/README]
    commands: [":copy $source $target"]
  share/data:
    commands: [":mkdir $target", "echo one > $target/one.txt", "echo two > $target/two.txt"]
`;

const FILES = { 'files/hello.sh': '!#!/bin/sh\necho hello\n', 'files/README': 'Read me.\n' };

/** Names of the entries of a zip (stored uncompressed in its central directory). */
function zipHolds(zip: Buffer, name: string): boolean {
  return zip.includes(Buffer.from(`${PKG}/${name}`));
}

/** The paths in a .deb's data, when dpkg-deb is there to list them. */
function debPaths(deb: string): string[] | undefined {
  if (!which('dpkg-deb')) return undefined;
  return execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.slice(line.indexOf('./') + 1).replace(/ -> .*$/, ''));
}

async function setup(t: import('node:test').TestContext, files: { inventory?: string; recipe?: string; files?: Record<string, string> } = {}) {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, ...files, files: { ...FILES, ...files.files } });
  const env = { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
  const build = async (args: string[] = PACKED): Promise<{ stdout: string; stderr: string }> => {
    const result = await aiop(['build', ...args, '-v'], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  return { dir, root, env, build, pkgDir: join(root, '.build', PKG) };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

test('a target dropped from the package, or renamed, leaves nothing in the folder, the zip or the .deb', async (t) => {
  const { root, env, build, pkgDir } = await setup(t);
  await build();
  assert.ok(await exists(join(pkgDir, 'share/doc/README')));

  await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replace('depends: [bin/hello, share/doc/README, share/data]', 'depends: [bin/hello, share/data]'));
  const dropped = await build();
  assert.equal(await exists(join(pkgDir, 'share/doc')), false, 'the dropped output and the folder it leaves empty are gone');
  assert.match(dropped.stdout + dropped.stderr, /removed .*share\/doc/);
  const zip = await readFile(join(root, '.build', `${PKG}.zip`));
  assert.equal(zipHolds(zip, 'share/doc/README'), false);
  const paths = debPaths(join(root, '.build/demo_1.0.0_amd64.deb'));
  if (paths) assert.ok(!paths.some((p) => p.includes('README')), paths.join('\n'));
  await assertSameAsClean(root, PACKED, env, PKG, 'target dropped');

  await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replaceAll('share/doc/README', 'share/doc/README.txt'));
  await build();
  await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replaceAll('bin/hello', 'bin/hi'));
  await build();
  assert.equal(await exists(join(pkgDir, 'bin/hello')), false, 'the old name is gone');
  assert.equal(await exists(join(pkgDir, 'share/doc/README.txt')), false);
  assert.ok(await exists(join(pkgDir, 'bin/hi')));
  assert.equal(zipHolds(await readFile(join(root, '.build', `${PKG}.zip`)), 'bin/hello'), false);
  await assertSameAsClean(root, PACKED, env, PKG, 'target renamed');
});

test('a file dropped into the package folder by hand is removed, not packed, on the full and the fast paths', async (t) => {
  const { root, env, build, pkgDir } = await setup(t);
  for (const args of [PACKED, BUILD]) {
    await build(args);
    await build(args);
    await writeFile(join(pkgDir, 'stray.txt'), 'not ours\n');
    await writeFile(join(pkgDir, 'share/doc/stray.txt'), 'not ours\n');
    await mkdir(join(pkgDir, 'extra/deep'), { recursive: true });
    await writeFile(join(pkgDir, 'extra/deep/file'), 'not ours\n');
    const result = await build(args);
    assert.match(result.stdout + result.stderr, /removed from the package folder .*extra, share\/doc\/stray\.txt, stray\.txt/);
    for (const gone of ['stray.txt', 'share/doc/stray.txt', 'extra']) assert.equal(await exists(join(pkgDir, gone)), false, `${gone} (${args.join(' ')})`);
    // Inside a declared folder output, everything is that target's.
    assert.ok(await exists(join(pkgDir, 'share/data/two.txt')));
    const log = await readFile(join(root, '.aiop/logs', (await import('node:fs')).readdirSync(join(root, '.aiop/logs')).sort().at(-1)!), 'utf8');
    assert.match(log, /removed share\/doc\/stray\.txt/, 'the log file names each removed entry');
    await assertSameAsClean(root, args, env, PKG, `stray files (${args.join(' ')})`);
  }
  await writeFile(join(pkgDir, 'stray.txt'), 'not ours\n');
  await build();
  assert.equal(zipHolds(await readFile(join(root, '.build', `${PKG}.zip`)), 'stray.txt'), false, 'never zipped');
  await assertSameAsClean(root, PACKED, env, PKG, 'stray file, then packed');
});

test('a removed output is made again on the fast path, and a stray file beside it is removed', async (t) => {
  const { root, env, build, pkgDir } = await setup(t);
  await build(BUILD);
  await build(BUILD);
  await rm(join(pkgDir, 'share/doc/README'));
  await writeFile(join(pkgDir, 'bin/stray'), 'x');
  const result = await build(BUILD);
  assert.match(result.stdout + result.stderr, /share\/doc\/README/);
  assert.equal(await readFile(join(pkgDir, 'share/doc/README'), 'utf8'), 'Read me.\n');
  assert.equal(await exists(join(pkgDir, 'bin/stray')), false);
  await assertSameAsClean(root, BUILD, env, PKG, 'removed output');
});

/** An inventory with the artifacts given as YAML list items (already indented). */
function inventoryWith(artifacts: string): string {
  return SIMPLE_INVENTORY.replace('    deb:\n', `    artifacts:\n${artifacts}    deb:\n`);
}

async function archive(dir: string, name: string, files: Record<string, string>): Promise<{ url: string; sha: string }> {
  const src = join(dir, `${name}-src`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  const file = join(dir, `${name}.tar.gz`);
  execFileSync('tar', ['czf', file, '-C', src, ...Object.keys(files)]);
  return { url: `file://${file}`, sha: createHash('sha256').update(await readFile(file)).digest('hex') };
}

test('an artifact removed from the inventory, or replaced by an archive with other files, leaves none of its old files', async (t) => {
  if (!requireTools(t, 'tar')) return;
  const { dir, root, env, build, pkgDir } = await setup(t);
  const one = await archive(dir, 'tool-1', { 'bin/tool': 'tool 1\n', 'lib/tool/old.so': 'old\n', 'lib/tool/same.so': 'same\n' });
  const two = await archive(dir, 'tool-2', { 'bin/tool': 'tool 2\n', 'lib/tool/same.so': 'same\n', 'lib/tool/new.so': 'new\n' });
  const note = join(dir, 'NOTE.txt');
  await writeFile(note, 'a note\n');
  const noteSha = createHash('sha256').update('a note\n').digest('hex');
  const tool = (a: { url: string; sha: string }): string => `      - { name: tool, url: "${a.url}", sha256: ${a.sha}, extract: true, dest: opt/ }\n`;
  const noteArtifact = `      - { name: note, url: "file://${note}", sha256: ${noteSha}, dest: share/NOTE.txt }\n`;
  const inventory = join(root, '.aiop/inventory_config.yml');

  await writeFile(inventory, inventoryWith(tool(one) + noteArtifact));
  await build();
  assert.ok(await exists(join(pkgDir, 'opt/lib/tool/old.so')));

  await writeFile(inventory, inventoryWith(tool(two) + noteArtifact));
  await build();
  assert.equal(await exists(join(pkgDir, 'opt/lib/tool/old.so')), false, "the old archive's file is gone");
  assert.equal(await readFile(join(pkgDir, 'opt/bin/tool'), 'utf8'), 'tool 2\n');
  assert.ok(await exists(join(pkgDir, 'opt/lib/tool/new.so')));
  assert.equal(zipHolds(await readFile(join(root, '.build', `${PKG}.zip`)), 'opt/lib/tool/old.so'), false);
  await assertSameAsClean(root, PACKED, env, PKG, 'artifact replaced');

  // Where the old archive had a file the new one has a folder, and the other way round.
  const three = await archive(dir, 'tool-3', { 'bin/tool/run': 'run\n', 'lib/tool': 'a file now\n' });
  await writeFile(inventory, inventoryWith(tool(three) + noteArtifact));
  await build();
  assert.equal(await readFile(join(pkgDir, 'opt/bin/tool/run'), 'utf8'), 'run\n');
  assert.equal(await readFile(join(pkgDir, 'opt/lib/tool'), 'utf8'), 'a file now\n');
  await assertSameAsClean(root, PACKED, env, PKG, 'artifact files and folders swapped');
  await writeFile(inventory, inventoryWith(tool(two) + noteArtifact));
  await build();
  await assertSameAsClean(root, PACKED, env, PKG, 'artifact folders and files swapped back');

  await writeFile(inventory, inventoryWith(tool(two)));
  await build();
  assert.equal(await exists(join(pkgDir, 'share/NOTE.txt')), false, 'a removed artifact leaves nothing');
  await assertSameAsClean(root, PACKED, env, PKG, 'artifact removed');

  await writeFile(inventory, SIMPLE_INVENTORY);
  await build();
  assert.equal(await exists(join(pkgDir, 'opt')), false);
  await assertSameAsClean(root, PACKED, env, PKG, 'every artifact removed');
});

test('a file a command writes beside its declared output is removed on the full and the incremental path alike', async (t) => {
  const recipe = RECIPE.replace('commands: [":copy $source $target"]', 'commands: [":copy $source $target", "echo side > $PKGDIR/share/side.txt"]');
  const { root, env, build, pkgDir } = await setup(t, { recipe });
  await build(BUILD);
  assert.equal(await exists(join(pkgDir, 'share/side.txt')), false, 'not declared: not kept, even by a first build');
  // A stamp taken within a second of its file's change proves nothing: the record that the
  // incremental path builds from is written by a build a quiet second after the first.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await build(BUILD);
  await writeFile(join(root, 'files/README'), 'Read me again.\n');
  const result = await build(BUILD);
  assert.match(result.stdout + result.stderr, /incremental fast path/);
  assert.match(result.stdout + result.stderr, /removed from the package folder .*share\/side\.txt/);
  assert.equal(await exists(join(pkgDir, 'share/side.txt')), false);
  await assertSameAsClean(root, BUILD, env, PKG, 'side file on the incremental path');
  const again = await build(BUILD);
  assert.doesNotMatch(again.stdout + again.stderr, /removed|Making/, 'the record written after the removal describes the folder as it is');
});
