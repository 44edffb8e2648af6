import { test } from 'node:test';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [a.txt, b.txt, c.txt] }
  a.txt: { sources: [src/a.in], commands: ["echo a >> $PLAYBOOK/runs.log", ":copy $source $target"] }
  b.txt: { sources: [src/b.in], commands: ["echo b >> $PLAYBOOK/runs.log", "if grep -q fail $source; then exit 3; fi; cat $source > $target"] }
  c.txt: { sources: [a.txt], commands: ["echo c >> $PLAYBOOK/runs.log", ":copy $source $target"] }
`;

const PKG = '.build/demo-1.0.0-linux-debian12-amd64';

interface Built {
  code: number | null;
  ran: string[];
  path: 'no-op' | 'incremental' | 'full';
  stderr: string;
}

async function setup(t: { after(fn: () => Promise<void>): void }, recipe = RECIPE): Promise<{ root: string; build(args?: string[]): Promise<Built>; run(args: string[]): ReturnType<typeof aiop> }> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe, files: { 'src/a.in': 'a1\n', 'src/b.in': 'b1\n' } });
  const env = isolatedEnv(dir);
  const build = async (args: string[] = []): Promise<Built> => {
    await rm(join(root, 'runs.log'), { force: true });
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-v', ...args], { cwd: root, env });
    const path = result.stderr.includes('no-op fast path') ? 'no-op' : result.stderr.includes('incremental fast path') ? 'incremental' : 'full';
    return { code: result.code, ran: (await readLines(join(root, 'runs.log'))).sort(), path, stderr: result.stderr };
  };
  // The first build goes to a temporary folder; the second, in place, leaves the delta record.
  // Files changed within a second before a record is written are never trusted by it
  // (timestamp granularity), and an untrusted recipe means the full path: so wait first.
  assert.equal((await build()).code, 0);
  await sleep(1100);
  const second = await build();
  assert.equal(second.code, 0, second.stderr);
  return { root, build, run: (args) => aiop(args, { cwd: root, env }) };
}

/** Forgets the fast paths' records, so the next build is a full check of everything. */
async function forgetFastPaths(root: string): Promise<void> {
  await rm(join(root, '.aiop/state/noop'), { recursive: true, force: true });
}

test('a changed source is built from the delta record: only it and its dependents run, and a full check agrees', async (t) => {
  const { root, build } = await setup(t);
  await writeFile(join(root, 'src/a.in'), 'a2\n');
  const changed = await build();
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual({ path: changed.path, ran: changed.ran }, { path: 'incremental', ran: ['a', 'c'] });
  assert.match(changed.stderr, /2 targets made, 1 up to date/);
  assert.equal(await readFile(join(root, PKG, 'a.txt'), 'utf8'), 'a2\n');
  assert.equal(await readFile(join(root, PKG, 'c.txt'), 'utf8'), 'a2\n');

  // The no-op record was brought up to date in place (the same file), and holds for the next build.
  const records = async (): Promise<string[]> => {
    const dir = join(root, '.aiop/state/noop');
    // The inode alone could be reused by a new file; with the birth time it names the file.
    const names = (await readdir(dir)).filter((n) => n.endsWith('.bin'));
    return Promise.all(names.map(async (n) => stat(join(dir, n)).then((s) => `${n}:${s.ino}:${s.birthtimeMs}`)));
  };
  const before = await records();
  await writeFile(join(root, 'src/a.in'), 'a3\n');
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', ['a', 'c']]);
  assert.deepEqual(await records(), before, 'patched, not written anew');
  // Files written within a second of the record's time are looked at once more (hashed, not run);
  // after that the record holds.
  await sleep(1100);
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', []]);
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['no-op', []]);
  assert.deepEqual(await records(), before, 'patched, not written anew');

  // A shell command's target, through the same path.
  await writeFile(join(root, 'src/b.in'), 'b2\n');
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', ['b']]);
  assert.equal(await readFile(join(root, PKG, 'b.txt'), 'utf8'), 'b2\n');

  // Touched, not changed: looked at, hashed, and nothing runs.
  await appendFile(join(root, 'src/a.in'), '');
  const { utimes } = await import('node:fs/promises');
  await utimes(join(root, 'src/a.in'), new Date(), new Date(Date.now() + 5000));
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', []]);

  // What the incremental builds recorded is what a full check expects: it runs nothing.
  await forgetFastPaths(root);
  const full = await build();
  assert.deepEqual({ path: full.path, ran: full.ran }, { path: 'full', ran: [] });
});

test('a delta record whose header is longer than its first read (a 100 KB variable) is read whole and used', async (t) => {
  const long = 'x'.repeat(100_000);
  const { root, build } = await setup(t, `variables: { LONG: ${long} }\n${RECIPE.replace('echo c >>', 'echo c${LONG} | cut -c1 >>')}`);
  await writeFile(join(root, 'src/a.in'), 'a2\n');
  const changed = await build();
  assert.deepEqual({ path: changed.path, ran: changed.ran, code: changed.code }, { path: 'incremental', ran: ['a', 'c'], code: 0 }, changed.stderr);
  assert.equal(await readFile(join(root, PKG, 'c.txt'), 'utf8'), 'a2\n');
});

test('the incremental path leaves to the full path what it cannot tell: the recipe, new files in the package, a damaged journal', async (t) => {
  const { root, build } = await setup(t);

  // A file added to the package folder: the listing (and so the outputs) changed.
  await writeFile(join(root, PKG, 'stray.txt'), 'x\n');
  await writeFile(join(root, 'src/a.in'), 'a2\n');
  const added = await build();
  assert.deepEqual({ code: added.code, path: added.path, ran: added.ran }, { code: 0, path: 'full', ran: ['a', 'c'] });

  // The recipe changed.
  await build();
  await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replace('"echo b >> $PLAYBOOK/runs.log"', '"echo b >> $PLAYBOOK/runs.log; true"'));
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['full', ['b']]);

  // The state's journal no longer what the delta record was written for: not trusted.
  await sleep(1100);
  await build();
  await writeFile(join(root, 'src/a.in'), 'a3\n');
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', ['a', 'c']]);
  const state = join(root, '.aiop/state/packages/demo-1.0.0-linux-debian12-amd64');
  assert.ok((await readdir(state)).includes('signatures.json.journal'), 'the incremental build appended to the journal');
  await appendFile(join(state, 'signatures.json.journal'), '{"cut short');
  await writeFile(join(root, 'src/a.in'), 'a4\n');
  const damaged = await build();
  assert.deepEqual({ code: damaged.code, path: damaged.path, ran: damaged.ran }, { code: 0, path: 'full', ran: ['a', 'c'] });
  assert.equal(await readFile(join(root, PKG, 'c.txt'), 'utf8'), 'a4\n');
});

test('a failure on the incremental path fails the build as the full path does; the fixed source is built next time', async (t) => {
  const { root, build } = await setup(t);
  await writeFile(join(root, 'src/b.in'), 'please fail\n');
  const failed = await build();
  assert.equal(failed.code, 1, failed.stderr);
  assert.equal(failed.path, 'incremental');
  assert.match(failed.stderr, /target "b\.txt": command exited with status 3/);

  await writeFile(join(root, 'src/b.in'), 'b2\n');
  const fixed = await build();
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual(fixed.ran, ['b']);
  assert.equal(await readFile(join(root, PKG, 'b.txt'), 'utf8'), 'b2\n');
  await forgetFastPaths(root);
  assert.deepEqual((await build()).ran, [], 'the state after the failure and the fix is complete');
});

test('a grouping that a target depends on is looked at again on the incremental path; one nothing depends on keeps its record', async (t) => {
  // `docs` groups a.txt; d.txt depends on the group, so a change of a.in reaches d.txt through it.
  const recipe = `default: all
targets:
  all: { virtual: true, depends: [docs, b.txt, d.txt] }
  docs: { virtual: true, depends: [a.txt] }
  a.txt: { sources: [src/a.in], commands: ["echo a >> $PLAYBOOK/runs.log", ":copy $source $target"] }
  b.txt: { sources: [src/b.in], commands: ["echo b >> $PLAYBOOK/runs.log", ":copy $source $target"] }
  d.txt: { depends: [docs], commands: ["echo d >> $PLAYBOOK/runs.log", "cat $PKGDIR/a.txt > $target"] }
`;
  const { root, build } = await setup(t, recipe);
  await writeFile(join(root, 'src/a.in'), 'a2\n');
  const changed = await build();
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual({ path: changed.path, ran: changed.ran }, { path: 'incremental', ran: ['a', 'd'] });
  assert.match(changed.stderr, /2 targets made, 1 up to date/);
  assert.equal(await readFile(join(root, PKG, 'd.txt'), 'utf8'), 'a2\n');
  await writeFile(join(root, 'src/b.in'), 'b2\n');
  assert.deepEqual(await build().then((b) => [b.path, b.ran]), ['incremental', ['b']]);
  // A full check agrees with what the incremental builds recorded: nothing runs.
  await forgetFastPaths(root);
  const full = await build();
  assert.deepEqual({ path: full.path, ran: full.ran }, { path: 'full', ran: [] });
});

test('build_again replays the build typed last, also when it was answered by a fast path', async (t) => {
  const { root, build, run } = await setup(t);
  assert.equal((await run(['build', 'linux', 'debian12', 'arm64'])).code, 0);
  // The amd64 build again: answered by a fast path, and recorded as the last build.
  const again = await build();
  assert.equal(again.code, 0, again.stderr);
  assert.notEqual(again.path, 'full');
  const last = JSON.parse(await readFile(join(root, '.aiop/state/last-build.json'), 'utf8')) as { argv: string[] };
  assert.deepEqual(last.argv, ['linux', 'debian12', 'amd64', '-v']);
});

test('a placed artifact that changed is placed again by the full path, not built on', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const tool = join(dir, 'tool.txt');
  await writeFile(tool, 'tool 1.0\n');
  const sha = createHash('sha256').update('tool 1.0\n').digest('hex');
  const inventory = `${SIMPLE_INVENTORY}    artifacts:
      - { name: tool, url: "file://${tool}", sha256: ${sha}, dest: share/tool.txt }
`;
  const recipe = `default: all
targets:
  all: { virtual: true, depends: [doc/tool.txt] }
  doc/tool.txt: { sources: [share/tool.txt], commands: [":copy $source $target"] }
`;
  const root = await writePlaybook(join(dir, 'pb'), { inventory, recipe, files: {} });
  const env = isolatedEnv(dir);
  const build = async (): Promise<string> => {
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-v'], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return result.stderr;
  };
  await build();
  await sleep(1100);
  await build();
  await writeFile(join(root, PKG, 'share/tool.txt'), 'tampered\n');
  const stderr = await build();
  assert.doesNotMatch(stderr, /incremental fast path/);
  assert.equal(await readFile(join(root, PKG, 'share/tool.txt'), 'utf8'), 'tool 1.0\n', 'placed again');
  assert.equal(await readFile(join(root, PKG, 'doc/tool.txt'), 'utf8'), 'tool 1.0\n');
});

test('a package of more than 2,000 files is counted alike on every path (the fast paths count it from their record)', async (t) => {
  const names = Array.from({ length: 2001 }, (_, i) => `out/f${i}.txt`);
  const recipe = [
    'default: all',
    'targets:',
    `  all: { virtual: true, depends: [${names.join(', ')}] }`,
    ...names.map((name, i) => `  ${name}: { sources: [${i === 0 ? 'src/b.in' : 'src/a.in'}], commands: [":copy $source $target"] }`),
  ].join('\n');
  const { root, build } = await setup(t, `${recipe}\n`);
  const counted = /folder \S+ \(2001 files\)/;
  const noop = await build();
  assert.equal(noop.path, 'no-op');
  assert.match(noop.stderr, counted);
  await writeFile(join(root, 'src/b.in'), 'b2\n');
  const changed = await build();
  assert.equal(changed.path, 'incremental');
  assert.match(changed.stderr, counted);
  await sleep(1100);
  // A stray file changes the package folder: the incremental path removes it and lists the folder again.
  await writeFile(join(root, PKG, 'stray.txt'), 'not built\n');
  const stray = await build();
  assert.equal(stray.code, 0, stray.stderr);
  assert.match(stray.stderr, counted);
  await forgetFastPaths(root);
  assert.match((await build()).stderr, counted);
});

test('property: whatever sources and outputs are edited, touched or deleted between builds, the package is what a clean build makes', async (t) => {
  const { root, build } = await setup(t);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('edit' as const), file: fc.constantFrom('a', 'b'), text: fc.stringMatching(/^[a-z ]{0,12}$/) }),
    fc.record({ kind: fc.constant('touch' as const), file: fc.constantFrom('a', 'b') }),
    fc.record({ kind: fc.constant('delete-output' as const), file: fc.constantFrom('a.txt', 'b.txt', 'c.txt') }),
    fc.record({ kind: fc.constant('edit-output' as const), file: fc.constantFrom('a.txt', 'b.txt', 'c.txt'), text: fc.stringMatching(/^[a-z]{1,6}$/) }),
  );
  const sources: Record<string, string> = { a: 'a1\n', b: 'b1\n' };
  const taken = { 'no-op': 0, incremental: 0, full: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 3 }), async (ops) => {
      for (const o of ops) {
        if (o.kind === 'edit') {
          sources[o.file] = `${o.text}\n`;
          await writeFile(join(root, `src/${o.file}.in`), sources[o.file]!);
        } else if (o.kind === 'touch') {
          const { utimes } = await import('node:fs/promises');
          const when = new Date(Date.now() + 2000);
          await utimes(join(root, `src/${o.file}.in`), when, when);
        } else if (o.kind === 'delete-output') {
          await rm(join(root, PKG, o.file), { force: true });
        } else {
          await writeFile(join(root, PKG, o.file), o.text);
        }
      }
      const built = await build();
      assert.equal(built.code, 0, built.stderr);
      taken[built.path]++;
      assert.equal(await readFile(join(root, PKG, 'a.txt'), 'utf8'), sources['a']);
      assert.equal(await readFile(join(root, PKG, 'b.txt'), 'utf8'), sources['b']);
      assert.equal(await readFile(join(root, PKG, 'c.txt'), 'utf8'), sources['a']);
    }),
    // Seeded: the point is the comparison with a clean build on both paths, not new cases each run.
    { numRuns: 8, seed: 42 },
  );
  t.diagnostic(`paths taken: ${JSON.stringify(taken)}`);
  assert.ok(taken.incremental > 0 && taken.full > 0, `both paths were exercised: ${JSON.stringify(taken)}`);
  // And the state those builds left is the one a full check expects.
  await forgetFastPaths(root);
  assert.deepEqual((await build()).ran, []);
});
