import { test } from 'node:test';
import { parseMachineReadable } from '../report/packer-parser.js';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshot } from '../util/playbook.js';
import { ABC_RECIPE, aapPlaybook, expectStatus } from './helpers.js';

test('-n says what would run and leaves the tree byte-identical', async (t) => {
  const pb = await aapPlaybook(t);
  const fresh = await snapshot(pb.dir);
  const never = await pb.run(['-n']);
  expectStatus(never, 0);
  assert.deepEqual(await snapshot(pb.dir), fresh, 'a first -n writes nothing at all (no state, no cache, no .build)');
  assert.match(never.stderr, /==> a\.txt \(would run\)/);
  assert.match(never.stderr, /\$ echo a >> /);

  expectStatus(await pb.run([]), 0);
  await pb.takeRuns();
  await writeFile(join(pb.root, 'src/a.in'), 'ALPHA\n');
  const before = await snapshot(pb.dir);
  const dry = await pb.run(['-n', 'all', '-c', 'echo never >> runs.log', '-c', ':print shown']);
  expectStatus(dry, 0);
  assert.deepEqual(await snapshot(pb.dir), before, '-n after a build changes nothing either');
  assert.equal(dry.stdout, 'shown\n', ':print still runs under -n');
  assert.match(dry.stderr, /==> a\.txt/);
  assert.match(dry.stderr, /==> c\.txt/);
  assert.doesNotMatch(dry.stderr, /==> b\.txt/, 'b.txt is up to date');
  const forced = await pb.run(['-nF']);
  expectStatus(forced, 0);
  assert.match(forced.stderr, /==> b\.txt/);
  assert.deepEqual(await snapshot(pb.dir), before);
});

test('-t records targets as built without running them; a plain run then runs nothing', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run([]), 0);
  await pb.takeRuns();
  await writeFile(join(pb.root, 'src/a.in'), 'ALPHA\n');
  const touched = await pb.run(['-t']);
  expectStatus(touched, 0);
  assert.deepEqual(await pb.takeRuns(), [], '-t runs no command');
  assert.equal(await readFile(join(pb.root, '.build/aap/a.txt'), 'utf8'), 'alpha\n', '-t does not build');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), [], 'after -t a plain run runs nothing');
  // The control: a change made after -t is seen as usual.
  await writeFile(join(pb.root, 'src/b.in'), 'BETA\n');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), ['b', 'c']);
});

test('--changed FILE runs exactly the targets built from FILE, recursively', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run([]), 0);
  await pb.takeRuns();
  expectStatus(await pb.run(['--changed', 'src/a.in']), 0);
  assert.deepEqual(await pb.takeRuns(), ['a', 'c']);
  expectStatus(await pb.run(['--changed=src/b.in', 'b.txt']), 0);
  assert.deepEqual(await pb.takeRuns(), ['b'], 'only what the named target needs');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), [], "b.txt came out byte-identical, so c.txt is still up to date");
});

test('-F rebuilds everything; -C ignores changed commands but records them', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run([]), 0);
  await pb.takeRuns();
  expectStatus(await pb.run(['-F']), 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['a', 'b', 'c']);

  await writeFile(join(pb.root, '.aiop/recipe.yml'), ABC_RECIPE.replace('cat $source > $target', 'cat $source >$target'));
  expectStatus(await pb.run(['-C']), 0);
  assert.deepEqual(await pb.takeRuns(), [], '-C: a changed command alone runs nothing');
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), [], 'the new command was recorded by -C');

  await writeFile(join(pb.root, '.aiop/recipe.yml'), ABC_RECIPE);
  await writeFile(join(pb.root, 'src/a.in'), 'ALPHA\n');
  expectStatus(await pb.run(['-C']), 0);
  assert.deepEqual(await pb.takeRuns(), ['a', 'c'], '-C still rebuilds for changed contents');
  // Control: without -C a changed command does run.
  await writeFile(join(pb.root, '.aiop/recipe.yml'), ABC_RECIPE.replace('cat $source > $target', 'cat $source >$target'));
  expectStatus(await pb.run([]), 0);
  assert.deepEqual(await pb.takeRuns(), ['c']);
});

const FAILING = `default: all
targets:
  all: { virtual: true, depends: [bad.txt, ok1.txt, ok2.txt, after-bad.txt] }
  bad.txt: { commands: ["echo bad >> $PLAYBOOK/runs.log", "exit 7"] }
  ok1.txt: { commands: ["echo ok1 >> $PLAYBOOK/runs.log", "echo 1 > $target"] }
  ok2.txt: { commands: ["echo ok2 >> $PLAYBOOK/runs.log", "echo 2 > $target"] }
  after-bad.txt:
    sources: [bad.txt]
    commands: ["echo after >> $PLAYBOOK/runs.log", "cat $source > $target"]
`;

test('-k builds the independent targets, not the dependents of the failed one, and exits 1 listing it', async (t) => {
  const pb = await aapPlaybook(t, { recipe: FAILING });
  const stop = await pb.run(['-j', '1']);
  expectStatus(stop, 1);
  assert.deepEqual(await pb.takeRuns(), ['bad'], 'by default the build stops at the first error');
  expectStatus(await pb.run(['-j', '1', '-s']), 1);
  assert.deepEqual(await pb.takeRuns(), ['bad'], '-s is the default');

  const going = await pb.run(['-k', '-j', '1']);
  expectStatus(going, 1);
  assert.deepEqual((await pb.takeRuns()).sort(), ['bad', 'ok1', 'ok2']);
  assert.ok(existsSync(join(pb.root, '.build/aap/ok2.txt')));
  assert.equal(existsSync(join(pb.root, '.build/aap/after-bad.txt')), false);
  assert.match(going.stderr, /failed targets \(1\), each with its error:\n {2}bad\.txt: target "bad\.txt": command exited with status 7/);
  // The targets that succeeded were recorded: fixing the failure runs only the rest.
  await writeFile(join(pb.root, '.aiop/recipe.yml'), FAILING.replace('"exit 7"', '"echo fixed > $target"'));
  expectStatus(await pb.run(['-k']), 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['after', 'bad']);
});

test('-s (the default) stops built-in targets too: after a shell target fails, a :print/:touch target does not run', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: `default: all
targets:
  all: { virtual: true, depends: [bad, b.txt] }
  bad: { virtual: true, commands: ["exit 3"] }
  b.txt: { commands: [":print built b", ":touch $target"] }
`,
  });
  for (const args of [['-j', '1'], ['-j', '1', '-s']]) {
    const stop = await pb.run(args);
    expectStatus(stop, 1);
    assert.match(stop.stderr, /^==> bad$/m, args.join(' '));
    assert.match(stop.stderr, /target "bad": command exited with status 3: exit 3/);
    assert.doesNotMatch(stop.stderr, /==> b\.txt/, `${args.join(' ')}: the built-in target did not start`);
    assert.doesNotMatch(stop.stdout, /built b/);
    assert.equal(existsSync(join(pb.root, '.build/aap/b.txt')), false);
  }
  // -k goes on with it, which proves it was waiting to run.
  const going = await pb.run(['-j', '1', '-k']);
  expectStatus(going, 1);
  assert.match(going.stderr, /^==> b\.txt$/m);
  assert.match(going.stdout, /^built b$/m);
  assert.ok(existsSync(join(pb.root, '.build/aap/b.txt')));
});

test('-j N runs at most N targets at once (proved by a rendezvous of two targets)', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: `default: both
targets:
  both: { virtual: true, depends: [p1, p2] }
  p1: { virtual: true, commands: ["sh files/meet.sh p1 p2"] }
  p2: { virtual: true, commands: ["sh files/meet.sh p2 p1"] }
`,
    files: {
      // Leaves a marker, waits up to 3 s for the other's, logs whether it was seen.
      'files/meet.sh': 'mkdir -p m; touch m/$1; i=0\nwhile [ ! -e m/$2 ] && [ $i -lt 60 ]; do sleep 0.05; i=$((i+1)); done\nif [ -e m/$2 ]; then echo "$1 met $2" >> runs.log; fi\n',
    },
  });
  expectStatus(await pb.run(['-j', '2']), 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['p1 met p2', 'p2 met p1'], 'with -j 2 both ran at the same time');
  await rm(join(pb.root, 'm'), { recursive: true });
  expectStatus(await pb.run(['--jobs=1']), 0);
  assert.equal((await pb.takeRuns()).length, 1, 'with -j 1 the first never saw the second running');
});

test('-d explain,expand,sign prints why targets run, expansions and signatures on stderr', async (t) => {
  const pb = await aapPlaybook(t);
  const plain = await pb.run([]);
  expectStatus(plain, 0);
  assert.doesNotMatch(plain.stderr, /^(explain|expand|sign): /m, 'no debug output without -d');
  await writeFile(join(pb.root, 'src/b.in'), 'BETA\n');
  const debug = await pb.run(['-d', 'explain,expand,sign']);
  expectStatus(debug, 0);
  assert.match(debug.stderr, /^explain: a\.txt: not run: up to date/m);
  assert.match(debug.stderr, /^explain: b\.txt: runs because its sources changed \(src\/b\.in\)/m);
  assert.match(debug.stderr, /^explain: c\.txt: runs because a dependency changed/m);
  assert.ok(debug.stderr.includes(`expand: $PLAYBOOK = ${pb.root}`), debug.stderr);
  assert.match(debug.stderr, /^sign: b\.txt: recorded cmd=[0-9a-f]{12} src=[0-9a-f]{12} deps=[0-9a-f]{12}; now cmd=/m);
  assert.match(debug.stderr, /^sign: signatures written to .*\.aiop\/state\/aap\/[0-9a-f]{16}\.json$/m);
  assert.equal(debug.stdout, '');
  const onlyExplain = await pb.run(['-d', 'explain']);
  assert.doesNotMatch(onlyExplain.stderr, /^(expand|sign): /m);
  assert.match(onlyExplain.stderr, /^explain: c\.txt: not run/m);
});

test('-S prints only errors; -v prints commands and their output', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'default: t.txt\ntargets:\n  t.txt: { commands: ["echo visible-output", "echo x > $target"] }\n  bad: { virtual: true, commands: ["exit 4"] }\n',
  });
  const normal = await pb.run(['-F']);
  expectStatus(normal, 0);
  assert.match(normal.stderr, /==> t\.txt/);
  assert.doesNotMatch(normal.stderr, /visible-output/);
  assert.equal(normal.stdout, 'visible-output\n', "a command's output is shown when it ends");
  const silent = await pb.run(['-F', '-S']);
  expectStatus(silent, 0);
  assert.equal(silent.stderr, '');
  assert.equal(silent.stdout, '');
  const silentFail = await pb.run(['-S', 'bad']);
  expectStatus(silentFail, 1);
  assert.match(silentFail.stderr, /exited with status 4/);
  const verbose = await pb.run(['-F', '-v']);
  expectStatus(verbose, 0);
  assert.match(verbose.stderr, /\$ echo visible-output/);
  assert.match(verbose.stderr, /\| visible-output/);
});

test('--machine-readable prints Packer lines on stdout, with the error count at the end', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'default: t.txt\ntargets:\n  t.txt: { commands: ["echo x > $target"] }\n  bad: { virtual: true, commands: ["exit 4"] }\n',
  });
  const ok = await pb.run(['--machine-readable']);
  expectStatus(ok, 0);
  const lines = ok.stdout.trimEnd().split('\n');
  for (const line of lines) assert.match(line, /^\d+,[^,]*,[a-z-]+(,[^,]*)*$/, line);
  assert.ok(lines.some((l) => /^\d+,,ui,say,==> t\.txt$/.test(l)), ok.stdout);
  assert.match(lines.at(-1)!, /^\d+,,error-count,0$/);
  assert.equal(ok.stderr, '');
  // As for aiop build: the folder built into is the run's artifact, parsed as Packer documents it.
  const parsed = parseMachineReadable(ok.stdout);
  const [folder] = parsed.artifacts.get('aap') ?? [];
  assert.equal(folder?.builderId, 'aiop.folder');
  assert.deepEqual(folder?.files.map((f) => f.split('/').pop()), ['t.txt']);
  // A failed build ends as aiop build's does: artifact-count 0, then the errors; the message
  // that ends the run is on stderr, as aiop build puts it.
  const failed = await pb.run(['--machine-readable', 'bad']);
  expectStatus(failed, 1);
  assert.deepEqual(tail(failed.stdout, 3), ['aap,artifact-count,0', ',error-count,1', 'bad,error,target "bad": command exited with status 4: exit 4']);
  assert.doesNotMatch(failed.stdout, /aap: error:/);
  assert.match(failed.stderr, /^aap: error: failed targets \(1\), each with its error:\n/m);
  assert.equal(parseMachineReadable(failed.stdout).errors.length, 1);
  // An unknown target: found before the run starts (exit 2), so, as for aiop build, no artifact
  // block; one error, never error-count 0, nothing after the error block.
  const unknown = await pb.run(['--machine-readable', 'nosuch']);
  expectStatus(unknown, 2);
  assert.deepEqual(tail(unknown.stdout, 2), [',error-count,1', 'aap,error,no target named "nosuch" in the recipe or its children; targets: t.txt%!(PACKER_COMMA) bad']);
  assert.doesNotMatch(unknown.stdout, /error-count,0|ui,error|artifact/);
  assert.match(unknown.stderr, /^aap: error: no target named "nosuch"/);
  // A failing -c command fails the run: artifact-count 0.
  const badCommand = await pb.run(['--machine-readable', '-c', 'exit 5']);
  expectStatus(badCommand, 1);
  assert.deepEqual(tail(badCommand.stdout, 3), ['aap,artifact-count,0', ',error-count,1', 'aap,error,-c: command exited with status 5: exit 5']);
  // Only -c commands: the run made nothing, a nil artifact as aiop build gives a package without outputs.
  const commands = await pb.run(['--machine-readable', '-c', ':sys echo hi']);
  expectStatus(commands, 0);
  assert.deepEqual(tail(commands.stdout, 4), ['aap,artifact-count,1', 'aap,artifact,0,nil', 'aap,artifact,0,end', ',error-count,0']);
  assert.match(commands.stdout, /^\d+,,ui,message,hi$/m);
});

/** The last `n` lines of machine-readable output, without their timestamps. */
function tail(stdout: string, n: number): string[] {
  return stdout.trimEnd().split('\n').slice(-n).map((l) => l.replace(/^\d+,/, ''));
}

test('long options take `_` and `-` alike', async (t) => {
  const pb = await aapPlaybook(t, { recipe: 'default: t.txt\ntargets:\n  t.txt: { commands: ["echo x > $target"] }\n' });
  const result = await pb.run(['--machine_readable', '--nofetch_recipe']);
  expectStatus(result, 0);
  assert.match(result.stdout, /^\d+,,error-count,0$/m);
  const typo = await pb.run(['--nofetch_recipes']);
  expectStatus(typo, 2);
  assert.match(typo.stderr, /unknown option --nofetch_recipes/);
});
