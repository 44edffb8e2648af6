/**
 * The examples of issue 20, one test each: after the edit, an incremental build gives
 * exactly what a clean build of the same sources gives (package folder with modes, zip,
 * .deb), and its report calls no target up to date whose output changed. The comparison and
 * the report check are in Rig.check (test/incremental/rig.ts).
 *
 * An example whose fix has not landed yet is a todo: it runs and is reported, and does not
 * fail the suite.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AIOP, aiop, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { aapCheck, buildEnv, changedFiles, cleanBuild, collect, destinations, lastLog, OLD_TIME, PKG, Rig, same, upToDateClaims } from './rig.js';
import { snapshot } from '../util/playbook.js';
import { assertSameAsClean } from '../util/clean-build.js';

const run = promisify(execFile);

/** A playbook built once (with the zip and the .deb unless `pack` is false). */
async function built(t: TestContext, pack = true): Promise<Rig> {
  const { dir, cleanup } = await tempDir('aiop-accept-');
  t.after(cleanup);
  const rig = new Rig(dir);
  await rig.write();
  await rig.check(pack, 'the first build');
  return rig;
}

async function packageFile(rig: Rig, path: string): Promise<string | undefined> {
  return readFile(join(destinations(rig.root, rig.model).folder, path), 'utf8').catch(() => undefined);
}


test('a variable used only in a :template file (GREETING: Hello -> Bonjour)', async (t) => {
  const rig = await built(t);
  rig.model.vars.GREETING = 'Bonjour';
  await rig.write();
  await rig.check(true, 'after GREETING: Bonjour');
  assert.equal(await packageFile(rig, 'readme.txt'), 'Bonjour from demo on amd64\n');
  // The same on the folder-only builds, which may take the fast paths.
  await rig.check(false, 'folder only, after Bonjour');
  rig.model.vars.GREETING = 'Hallo';
  await rig.write();
  await rig.check(false, 'folder only, after GREETING: Hallo');
});

test('aap GREETING=one, then aap GREETING=two: the rendered file follows', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-accept-');
  t.after(cleanup);
  const rig = new Rig(dir);
  await rig.write();
  const compat = ['distro=debian12', 'arch=amd64'];
  await aapCheck(rig, [...compat, 'GREETING=one'], 'aap GREETING=one');
  await aapCheck(rig, [...compat, 'GREETING=two'], 'aap GREETING=two');
  assert.equal(await readFile(join(rig.root, '.build/aap/readme.txt'), 'utf8'), 'two from demo on amd64\n');
  // And a change in the recipe's own variables.
  await aapCheck(rig, compat, 'aap with the recipe value');
  rig.model.vars.GREETING = 'Bonjour';
  await rig.write();
  await aapCheck(rig, compat, 'aap after GREETING: Bonjour in recipe.yml');
});

test('a target dropped from the package depends leaves the folder, the zip and the .deb', async (t) => {
  const rig = await built(t);
  assert.equal(await packageFile(rig, 'extra/x0.txt'), 'w0\n');
  rig.model.extras[0]!.inDepends = false;
  await rig.write();
  await rig.check(true, 'after dropping extra/x0.txt from depends');
  assert.equal(await packageFile(rig, 'extra/x0.txt'), undefined);
});

test('a renamed target leaves no file under its old name', async (t) => {
  const rig = await built(t);
  rig.model.extras[0]!.name = 'renamed';
  await rig.write();
  await rig.check(true, 'after renaming extra/x0.txt to extra/renamed.txt');
  assert.equal(await packageFile(rig, 'extra/x0.txt'), undefined);
  assert.equal(await packageFile(rig, 'extra/renamed.txt'), 'w0\n');
});

test('an artifact removed from the inventory leaves the package', async (t) => {
  const rig = await built(t);
  rig.model.artifacts.push({ name: 'tool', archive: false, files: { '': 'tool v1\n' } });
  await rig.write();
  await rig.check(true, 'with the artifact');
  assert.equal(await packageFile(rig, 'share/tool.txt'), 'tool v1\n');
  rig.model.artifacts = [];
  await rig.write();
  await rig.check(true, 'after removing the artifact');
});

test('an artifact replaced by an archive with other files leaves none of the old files', async (t) => {
  const rig = await built(t);
  rig.model.artifacts.push({ name: 'bundle', archive: true, files: { 'old.txt': 'old\n', 'sub/kept.txt': 'v1\n' } });
  await rig.write();
  await rig.check(true, 'with the first archive');
  assert.equal(await packageFile(rig, 'share/bundle/old.txt'), 'old\n');
  rig.model.artifacts[0]!.files = { 'new.txt': 'new\n', 'sub/kept.txt': 'v2\n' };
  await rig.write();
  await rig.check(true, 'after replacing the archive');
  assert.equal(await packageFile(rig, 'share/bundle/old.txt'), undefined);
});

test('a file dropped by hand into .build/<package-id>/ goes into neither the zip nor the .deb', async (t) => {
  const rig = await built(t);
  await writeFile(join(rig.root, '.build', PKG, 'stray.txt'), 'dropped by hand\n');
  const result = await rig.check(true, 'after dropping stray.txt into the package folder');
  assert.equal(result.built.folder['stray.txt'], undefined);
});

test('a source edited in place with its size kept and its mtime restored is rebuilt', async (t) => {
  const rig = await built(t, false);
  // Old enough that its stat alone would be trusted, however fast the test runs.
  assert.equal((await stat(join(rig.root, 'files/a.in'))).mtimeMs, OLD_TIME.getTime());
  // A quiet second, so that the next build records settled stamps (a racy one proves nothing).
  await sleep(1100);
  await rig.check(false, 'the same again');
  rig.model.a = 'aaaa-11\n';
  await rig.write();
  assert.equal((await stat(join(rig.root, 'files/a.in'))).mtimeMs, OLD_TIME.getTime());
  await rig.check(false, 'folder only, after the same-size edit');
  assert.equal(await packageFile(rig, 'a.txt'), 'aaaa-11\n');
  rig.model.a = 'aaaa-22\n';
  await rig.write();
  await rig.check(true, 'packed, after another same-size edit');
});

test('a folder as a source: a file edited inside it (size and mtime kept), added to a subfolder or removed is seen, by the folder output and by what reads it', async (t) => {
  const rig = await built(t, false);
  // Settled stamps first, so that the edits below can only be seen by looking inside the folder.
  await sleep(1100);
  await rig.check(false, 'the same again');
  await rig.check(false, 'the no-op');
  await rig.edit({ kind: 'asset', op: 'edit', n: 2 });
  await rig.check(false, 'a file edited in place inside the folder');
  assert.equal(await packageFile(rig, 'site/a.txt'), '2222222\n');
  assert.match((await packageFile(rig, 'site.txt')) ?? '', /2222222/, 'the target that reads the folder output is made again');
  await sleep(1100);
  await rig.check(false, 'settled');
  await rig.edit({ kind: 'asset', op: 'add', n: 4 });
  await rig.check(true, 'a file added to a subfolder (packed)');
  assert.equal(await packageFile(rig, 'site/sub/new1.txt'), 'new asset 4\n');
  await rig.edit({ kind: 'asset', op: 'remove', n: 0 });
  await rig.check(false, 'a file removed from the folder');
  assert.equal(await packageFile(rig, 'site/a.txt'), undefined);
  // A file added at the top of the folder (the folder's own stat changes), then, on settled
  // stamps, edited in place: the records after the first build must know the new file.
  await sleep(1100);
  await rig.check(false, 'settled again');
  rig.model.assets['top.txt'] = 'top one\n';
  await rig.write();
  await rig.check(false, 'a file added at the top of the folder');
  await sleep(1100);
  await rig.check(false, 'settled, with the new file');
  await rig.check(false, 'the no-op, with the new file');
  await rig.edit({ kind: 'asset', op: 'edit', n: 2 });
  assert.equal(rig.model.assets['top.txt'], '2222222\n', 'the edit hit the new file');
  await rig.check(false, 'the new file edited in place');
  assert.equal(await packageFile(rig, 'site/top.txt'), '2222222\n');
});

test('a folder as a source: a subfolder emptied in place is kept as the empty folder a clean build copies, and leaves with it', async (t) => {
  const rig = await built(t, false);
  await sleep(1100);
  await rig.check(false, 'settled');
  const args = rig.args(false).slice(1);
  const env = buildEnv(join(rig.dir, 'inc'));
  // By hand, not through the model: the clean build copies the playbook as it is, empty folder and all.
  await rm(join(rig.root, 'files/assets/sub/b.txt'));
  await rig.build(false, 'the last file of a subfolder removed');
  assert.deepEqual(await readdir(join(destinations(rig.root, rig.model).folder, 'site/sub')), [], 'an empty folder, as in the source');
  await assertSameAsClean(rig.root, args, env, PKG, 'a subfolder emptied in place');
  await rm(join(rig.root, 'files/assets/sub'), { recursive: true });
  await rig.build(false, 'the empty subfolder removed');
  await assert.rejects(stat(join(destinations(rig.root, rig.model).folder, 'site/sub')), 'the folder leaves the package with its source');
  await assertSameAsClean(rig.root, args, env, PKG, 'the empty subfolder removed');
});

test('a placed artifact edited in place in the package folder (size and mtime kept) is placed again', async (t) => {
  const rig = await built(t, false);
  await rig.edit({ kind: 'addArtifact', archive: false, files: ['a.txt'] });
  await rig.check(false, 'with an artifact');
  // Settled stamps: only the ctime can tell the edit below.
  await sleep(1100);
  await rig.check(false, 'settled');
  const placed = join(destinations(rig.root, rig.model).folder, 'share/art1.txt');
  const before = await readFile(placed, 'utf8');
  // The modification time to the nanosecond, put back with touch: only the ctime differs then.
  const mtime = (await run('stat', ['-c', '%.9Y', placed])).stdout.trim();
  const { size, ino } = await stat(placed);
  await writeFile(placed, 'x'.repeat(before.length - 1) + '\n');
  await run('touch', ['-m', '-d', `@${mtime}`, placed]);
  const now = await stat(placed);
  assert.deepEqual([now.size, now.ino, (await run('stat', ['-c', '%.9Y', placed])).stdout.trim()], [size, ino, mtime], 'size, inode and mtime as they were');
  await rig.check(false, 'after the placed file was edited in place');
  assert.equal(await readFile(placed, 'utf8'), before);
});

test('a build with --destination_path elsewhere, then the plain build', async (t) => {
  const rig = await built(t);
  rig.model.alt = true;
  await rig.check(true, 'with --destination_path out/pkg');
  rig.model.alt = false;
  rig.model.vars.WORD = 'two';
  await rig.write();
  await rig.check(true, 'the plain build again');
  rig.model.alt = true;
  await rig.check(true, 'back to out/pkg');
});

test('rm -rf .aiop/state: the next build is a full one, not a refusal', async (t) => {
  const rig = await built(t);
  await rm(join(rig.root, '.aiop/state'), { recursive: true, force: true });
  await rig.check(true, 'after rm -rf .aiop/state');
  await rm(join(rig.root, '.aiop/state'), { recursive: true, force: true });
  rig.model.vars.WORD = 'two';
  await rig.write();
  await rig.check(false, 'after rm -rf .aiop/state and an edit');
});

test('a truncated signatures.json means a full rebuild, not exit 70', async (t) => {
  const rig = await built(t);
  const damage = async (): Promise<void> => {
    const files = (await readdir(join(rig.root, '.aiop/state'), { recursive: true })).filter((f) => f.endsWith('signatures.json'));
    assert.ok(files.length > 0, 'the build keeps a signatures.json');
    for (const file of files) {
      const path = join(rig.root, '.aiop/state', file);
      await truncate(path, Math.floor((await stat(path)).size / 2));
    }
  };
  await damage();
  await rig.check(true, 'after truncating signatures.json');
  await damage();
  rig.model.b = 'b changed\n';
  await rig.write();
  await rig.check(false, 'after truncating it again and editing a source');
});

test('a command killed part way leaves no half output, and the next build makes it again', async (t) => {
  const rig = await built(t, false);
  rig.model.vars.SLOW = 's1';
  await rig.write();
  await rig.killedBuild(false, 'the build whose command is killed');
  await rig.check(false, 'the build after');
  assert.equal(await packageFile(rig, 'slow.txt'), 'half of s1\nall of s1\n');
});

test('an interrupted build (SIGINT) leaves no half output, and the next build makes it again', async (t) => {
  const rig = await built(t, false);
  rig.model.vars.SLOW = 's2';
  await rig.write();
  const marker = join(rig.dir, 'waiting');
  const env = { ...process.env, ...buildEnv(join(rig.dir, 'inc'), { DIFF_WAIT: marker }) };
  const child = spawn(process.execPath, [AIOP, ...rig.args(false)], { cwd: rig.root, env, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let waiting = false;
  for (let i = 0; i < 400 && !waiting; i++) {
    await sleep(50);
    waiting = await stat(marker).then(
      () => true,
      () => false,
    );
  }
  assert.ok(waiting, 'the slow command started');
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  const left = await packageFile(rig, 'slow.txt');
  assert.ok(left === undefined || !left.startsWith('half of s2\n') || left.includes('all of s2'), `the interrupted command's half output is left: ${JSON.stringify(left)}`);
  assert.notEqual(left, 'half of s2\n');
  await rig.check(false, 'the build after the interrupted one');
  assert.equal(await packageFile(rig, 'slow.txt'), 'half of s2\nall of s2\n');
});

/**
 * `build_again OPTION` after an edit: the bytes are a clean build's, the report claims nothing
 * up to date that changed, and `check` says whether the option was honoured.
 */
async function buildAgain(t: TestContext, option: string[], check: (result: { stdout: string; stderr: string }, logs: { before: string[]; after: string[]; log: string }) => void): Promise<void> {
  const rig = await built(t);
  rig.model.vars.WORD = 'build-again';
  await rig.write();
  const env = buildEnv(join(rig.dir, 'inc'));
  const logsDir = join(rig.root, '.aiop/logs');
  const before = (await readdir(logsDir)).sort();
  const folderBefore = await snapshot(destinations(rig.root, rig.model).folder);
  const [result, clean] = await Promise.all([
    aiop(['build_again', ...option], { cwd: rig.root, env }),
    cleanBuild(join(rig.dir, 'clean'), rig.arts, rig.model, rig.args(true), true),
  ]);
  assert.equal(result.code, 0, result.stderr);
  const after = (await readdir(logsDir)).sort();
  const log = after.length > before.length ? await lastLog(rig.root) : '';
  const incremental = await collect(rig.root, rig.model, true);
  same(incremental, clean, `build_again ${option.join(' ')}`);
  assert.deepEqual(upToDateClaims(result, log, changedFiles(folderBefore, incremental.folder)), []);
  assert.equal(await packageFile(rig, 'word.txt'), 'build-again\n');
  check(result, { before, after, log });
}

test('build_again -v shows DEBUG lines', async (t) => {
  await buildAgain(t, ['-v'], ({ stderr }) => assert.match(stderr, /^debug: /m, stderr));
});

test('build_again -sll WARNING shows no INFO lines', async (t) => {
  await buildAgain(t, ['-sll', 'WARNING'], ({ stderr }) => assert.doesNotMatch(stderr, /==> Building|^Built /m, stderr));
});

test('build_again -fll DISABLED writes no log file', async (t) => {
  await buildAgain(t, ['-fll', 'DISABLED'], (_, { before, after }) => assert.deepEqual(after, before));
});

test('build_again -fll WARNING keeps INFO lines out of the log file', async (t) => {
  await buildAgain(t, ['-fll', 'WARNING'], (_, { log }) => assert.doesNotMatch(log, / INFO /, log));
});

test('build_again --machine-readable prints Packer-style lines on stdout', async (t) => {
  await buildAgain(t, ['--machine-readable'], ({ stdout }) => assert.match(stdout, /^\d+,[^,\n]*,[a-z-]+,/m, stdout));
});

test('build_again -hp hides the progress box on a terminal', async (t) => {
  if (!requireTools(t, 'script')) return;
  const rig = await built(t);
  const underTerminal = async (args: string[]): Promise<string> => {
    const command = [process.execPath, AIOP, ...args].map((w) => `'${w}'`).join(' ');
    const env = { ...process.env, ...buildEnv(join(rig.dir, 'inc')), CI: undefined, TERM: 'xterm' } as NodeJS.ProcessEnv;
    return (await run('script', ['-qec', command, '/dev/null'], { cwd: rig.root, env })).stdout;
  };
  rig.model.vars.WORD = 'shown';
  await rig.write();
  const shown = await underTerminal(['build_again']);
  assert.ok(shown.includes('╭─ aiop'), `without -hp the box is drawn (the test can fail)\n${shown}`);
  rig.model.vars.WORD = 'hidden';
  await rig.write();
  const hidden = await underTerminal(['build_again', '-hp']);
  assert.ok(!hidden.includes('╭─ aiop'), hidden);
  assert.equal(await packageFile(rig, 'word.txt'), 'hidden\n');
});
