/**
 * Signatures hold every input: what an incremental build gives after each edit is what a
 * clean build of the same sources gives, on the full path and on the incremental fast paths
 * (no-op and delta records) alike.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aap, aiop, copyExample, isolatedEnv, tempDir, type RunResult } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';

const RECIPE = `variables:
  GREETING: Hello
default: all
targets:
  all: { virtual: true, depends: [hello.txt, tool.sh, plain.txt] }
  hello.txt:
    sources: [src/hello.in]
    commands: [":template $source $target"]
  tool.sh:
    sources: [src/tool.sh]
    commands: [":copy $source $target"]
  plain.txt:
    sources: [src/plain.in]
    commands: ["cp $source $target"]
`;

const FILES = { 'src/hello.in': '$GREETING, world\n', 'src/tool.sh': '#!/bin/sh\necho tool\n', 'src/plain.in': 'plain one\n' };
const PKG = '.build/demo-1.0.0-linux-debian12-amd64';
const BUILD = ['build', 'linux', 'debian12', 'amd64'];

/** Stamps of files written just now prove nothing for a second (src/store/stamp.ts): let them age. */
const pastRacyWindow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1100));

/** How a build is reached: through the incremental fast paths, or with their records removed first (the full path). */
type Path = 'fast' | 'full';

async function setUp(t: TestContext, path: Path) {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: FILES });
  const env = isolatedEnv(dir);
  const build = async (): Promise<RunResult> => {
    if (path === 'full') await rm(join(root, '.aiop/state/noop'), { recursive: true, force: true });
    const result = await aiop(BUILD, { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  /** What a clean build of the same sources puts in the package folder. */
  const clean = async (): Promise<Record<string, string>> => {
    const other = join(dir, `clean-${Math.random().toString(36).slice(2)}`);
    execFileSync('cp', ['-a', root, other]);
    await rm(join(other, '.build'), { recursive: true, force: true });
    await rm(join(other, '.aiop/state'), { recursive: true, force: true });
    const result = await aiop(BUILD, { cwd: other, env });
    assert.equal(result.code, 0, result.stderr);
    return snapshot(join(other, PKG));
  };
  const pkg = join(root, PKG);
  return { root, env, pkg, build, clean };
}

for (const path of ['fast', 'full'] as const) {
  test(`${path} path: a variable used only inside a :template file is an input of its target`, async (t) => {
    const { root, pkg, build, clean } = await setUp(t, path);
    await build();
    assert.equal(await readFile(join(pkg, 'hello.txt'), 'utf8'), 'Hello, world\n');
    await pastRacyWindow();
    await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replace('GREETING: Hello', 'GREETING: Bonjour'));
    const result = await build();
    assert.equal(await readFile(join(pkg, 'hello.txt'), 'utf8'), 'Bonjour, world\n');
    assert.doesNotMatch(result.stderr, /everything was up to date/);
    assert.match(result.stderr, /1 target made/);
    assert.deepEqual(await snapshot(pkg), await clean());
  });

  test(`${path} path: a source edited in place with its size kept and its mtime restored is made again`, async (t) => {
    const { root, pkg, build, clean } = await setUp(t, path);
    const source = join(root, 'src/plain.in');
    execFileSync('touch', ['-d', '2020-01-01 00:00:00', source]);
    await build();
    await pastRacyWindow();
    // A no-op first, so that the records the next build reads are the fast path's.
    assert.match((await build()).stderr, /everything was up to date/);
    const before = await stat(source);
    await writeFile(source, 'plain two\n');
    execFileSync('touch', ['-d', '2020-01-01 00:00:00', source]);
    const after = await stat(source);
    assert.equal(after.size, before.size);
    assert.equal(after.mtimeMs, before.mtimeMs);
    const result = await build();
    assert.equal(await readFile(join(pkg, 'plain.txt'), 'utf8'), 'plain two\n');
    assert.doesNotMatch(result.stderr, /everything was up to date/);
    assert.deepEqual(await snapshot(pkg), await clean());
  });

  test(`${path} path: a chmod of a source that :copy copies changes the copy's mode`, async (t) => {
    const { root, pkg, build, clean } = await setUp(t, path);
    await build();
    assert.equal((await stat(join(pkg, 'tool.sh'))).mode & 0o777, 0o644);
    await pastRacyWindow();
    assert.match((await build()).stderr, /everything was up to date/);
    await chmod(join(root, 'src/tool.sh'), 0o755);
    const result = await build();
    assert.equal((await stat(join(pkg, 'tool.sh'))).mode & 0o777, 0o755);
    assert.doesNotMatch(result.stderr, /everything was up to date/);
    assert.deepEqual(await snapshot(pkg), await clean());
  });

  test(`${path} path: a chmod of an output in the package folder is undone`, async (t) => {
    const { pkg, build, clean } = await setUp(t, path);
    await build();
    await pastRacyWindow();
    await build();
    await chmod(join(pkg, 'plain.txt'), 0o600);
    const result = await build();
    assert.equal((await stat(join(pkg, 'plain.txt'))).mode & 0o777, 0o644);
    assert.doesNotMatch(result.stderr, /everything was up to date/);
    assert.deepEqual(await snapshot(pkg), await clean());
  });
}

test('aap NAME=one then aap NAME=two: a variable on the command line reaches a :template file', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-aap-');
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: out.txt
targets:
  out.txt:
    sources: [in.txt]
    commands: [":template $source $target"]
`,
    files: { 'in.txt': 'name=$NAME\n' },
  });
  const env = { ...isolatedEnv(dir), XDG_DATA_HOME: join(dir, 'xdg-data'), CI: undefined };
  const one = await aap(['NAME=one'], { cwd: root, env });
  assert.equal(one.code, 0, one.stderr);
  const out = join(root, '.build/aap/out.txt');
  assert.equal(await readFile(out, 'utf8'), 'name=one\n');
  const two = await aap(['NAME=two'], { cwd: root, env });
  assert.equal(two.code, 0, two.stderr);
  assert.equal(await readFile(out, 'utf8'), 'name=two\n');
  assert.doesNotMatch(two.stdout + two.stderr, /everything was up to date/);
});

test('a command differing only inside quotes is a changed command', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const recipe = (text: string): string => `default: out.txt
targets:
  out.txt:
    commands: ['printf "%s\\n" "${text}" > $target']
`;
  const root = await writePlaybook(join(dir, 'pb'), { recipe: recipe('a  #b') });
  const env = isolatedEnv(dir);
  const out = join(root, PKG, 'out.txt');
  assert.equal((await aiop(BUILD, { cwd: root, env })).code, 0);
  assert.equal(await readFile(out, 'utf8'), 'a  #b\n');
  await writeFile(join(root, '.aiop/recipe.yml'), recipe('a #c'));
  const second = await aiop(BUILD, { cwd: root, env });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await readFile(out, 'utf8'), 'a #c\n');
});

test('no deprecated Node API on the full, no-op and incremental paths (--pending-deprecation --throw-deprecation)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = { ...isolatedEnv(dir), NODE_OPTIONS: '--pending-deprecation --throw-deprecation' };
  const build = async (extra: string[] = []): Promise<string> => {
    const result = await aiop([...BUILD, '-v', ...extra], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /DeprecationWarning|DEP0/);
    return result.stderr + result.stdout;
  };
  await build();
  await pastRacyWindow();
  // Recorded once the outputs are out of the racy window, so the next build can trust the record.
  await build();
  assert.match(await build(), /no-op fast path/);
  await writeFile(join(root, 'files/changelog'), 'hello (1.4.1) stable; urgency=low\n');
  assert.match(await build(), /incremental fast path/);
  await build(['--zip_pack', '--installer', 'deb']);
  // The other commands a user runs every day, each checked the same way.
  const clean = (result: RunResult, what: string): void => {
    assert.equal(result.code, 0, `${what}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /DeprecationWarning|DEP0/, what);
  };
  clean(await aiop(['validate'], { cwd: root, env }), 'validate');
  clean(await aiop(['build_all'], { cwd: root, env }), 'build_all');
  clean(await aap(['-n'], { cwd: root, env }), 'aap -n');
  clean(await aiop(['init', 'fresh'], { cwd: dir, env }), 'init');
  clean(await aiop(['validate'], { cwd: join(dir, 'fresh'), env }), 'validate of the new playbook');
});
