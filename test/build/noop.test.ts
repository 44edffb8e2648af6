import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, writePlaybook } from '../util/playbook.js';

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [a.txt, b.txt] }
  a.txt: { sources: [src/a.in], commands: ["echo a >> $PLAYBOOK/runs.log", ":copy $source $target"] }
  b.txt: { sources: [src/b.in], commands: ["echo b >> $PLAYBOOK/runs.log", ":copy $source $target"] }
`;

test('the no-op fast path skips an unchanged build and never hides a change', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, files: { 'src/a.in': 'a1\n', 'src/b.in': 'b1\n' } });
  const env = isolatedEnv(dir);
  const log = join(root, 'runs.log');
  const pkg = join(root, '.build/demo-1.0.0-linux-debian12-amd64');
  const build = async (): Promise<{ ran: string[]; fast: boolean }> => {
    await rm(log, { force: true });
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '-v'], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    return { ran: (await readLines(log)).sort(), fast: result.stderr.includes('no-op fast path') };
  };
  assert.deepEqual((await build()).ran, ['a', 'b']);
  // Files written within a second of the record are not trusted (timestamp granularity): wait that out.
  await sleep(1100);
  assert.deepEqual(await build(), { ran: [], fast: false });
  const fast = await build();
  assert.deepEqual(fast, { ran: [], fast: true }, 'an unchanged build takes the fast path');
  const said = await aiop(['build', 'linux', 'debian12', 'amd64', '-v'], { cwd: root, env });
  assert.match(said.stderr, /no-op fast path/);
  assert.match(said.stderr, /0 targets made, 2 up to date \(everything was up to date\)/, 'the fast path says what a full check would');

  await writeFile(join(root, 'src/a.in'), 'a2 changed\n');
  assert.deepEqual(await build(), { ran: ['a'], fast: false }, 'a changed source is seen');
  assert.equal(await readFile(join(pkg, 'a.txt'), 'utf8'), 'a2 changed\n');

  await sleep(1100);
  await build();
  assert.equal((await build()).fast, true);
  await rm(join(pkg, 'b.txt'));
  assert.deepEqual(await build(), { ran: ['b'], fast: false }, 'a deleted output is seen');

  await sleep(1100);
  await build();
  assert.equal((await build()).fast, true);
  await writeFile(join(root, '.aiop/recipe.yml'), RECIPE.replace('"echo b >> $PLAYBOOK/runs.log"', '"echo b >> $PLAYBOOK/runs.log; echo changed"'));
  assert.deepEqual(await build(), { ran: ['b'], fast: false }, 'a changed recipe is seen');

  // Report-only switches are not part of the request: the fast path still answers.
  await sleep(1100);
  await build();
  const quiet = await aiop(['build', 'linux', 'debian12', 'amd64', '-v', '-hp', '--machine-readable'], { cwd: root, env });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.match(quiet.stderr, /no-op fast path/);
  assert.match(quiet.stdout, /,artifact,0,id,/, 'machine-readable lines come from the replay too');
  const otherSpelling = await aiop(['build', 'linux', 'debian12', 'amd64', '-v', '--hide-progress', '--machine_readable'], { cwd: root, env });
  assert.equal(otherSpelling.code, 0, otherSpelling.stderr);
  assert.match(otherSpelling.stderr, /no-op fast path/, 'either spelling of a report-only switch is left out of the request');
  assert.match(otherSpelling.stdout, /,artifact,0,id,/, '--machine_readable is machine-readable on the fast path too');

  // While the package's lock file exists another build may be writing: no fast answer.
  const lock = join(root, '.aiop/state/packages/demo-1.0.0-linux-debian12-amd64/lock');
  await writeFile(lock, '999999999 stale\n');
  const locked = await aiop(['build', 'linux', 'debian12', 'amd64', '-v'], { cwd: root, env });
  assert.equal(locked.code, 0, locked.stderr);
  assert.doesNotMatch(locked.stderr, /fast path/);

  // A damaged record is ignored, never trusted and never a crash.
  await sleep(1100);
  await build();
  const noopDir = join(root, '.aiop/state/noop');
  for (const name of await readdir(noopDir)) {
    const file = join(noopDir, name);
    await writeFile(file, (await readFile(file)).subarray(0, 40));
  }
  assert.deepEqual(await build(), { ran: [], fast: false });

  const other = await aiop(['build', 'linux', 'debian12', 'arm64', '-v'], { cwd: root, env });
  assert.doesNotMatch(other.stderr, /fast path/, 'another command line is another build');
});
