import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AAP, aap, isolatedEnv, tempDir } from '../util/run.js';
import { aapPlaybook, expectStatus } from './helpers.js';
import { StateFile } from '../../src/store/state-file.js';
import { shellJoin } from '../../src/ci/shell.js';

test('-h and -V print and exit 0 without reading the recipe', async (t) => {
  const pb = await aapPlaybook(t, { recipe: 'targets: [this is: not a recipe\n' });
  const help = await pb.run(['-h']);
  expectStatus(help, 0);
  assert.match(help.stdout, /^Usage: aap \[option\]\.\.\. \[assignment\]\.\.\. \[target\]\.\.\./);
  assert.match(help.stdout, /--nocache/);
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const version = await pb.run(['--version']);
  expectStatus(version, 0);
  assert.equal(version.stdout, `aap (aiop) ${pkg.version}\n`);
  // The same broken recipe is an error (exit 2, file:line) once it is read.
  const plain = await pb.run([]);
  expectStatus(plain, 2);
  assert.match(plain.stderr, /recipe\.yml:\d+:\d+/);
});

test('usage errors exit 2 with one message and no internal error', async (t) => {
  const pb = await aapPlaybook(t);
  for (const args of [['--forse'], ['-v', '-v'], ['-j', '0'], ['-d', 'explian'], ['-n', '-t'], ['-f', 'ftp://x/r.yml']]) {
    const result = await pb.run(args);
    expectStatus(result, 2);
    assert.match(result.stderr, /^aap: error: /, args.join(' '));
    assert.doesNotMatch(result.stderr, /internal error/);
  }
  assert.deepEqual(await pb.takeRuns(), [], 'nothing ran');
  assert.equal(existsSync(join(pb.root, '.build')), false, 'nothing was built');
});

test('no target builds the default into .build/aap; the state file is keyed by PKGDIR', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run([]), 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['a', 'b', 'c']);
  assert.equal(await readFile(join(pb.root, '.build/aap/c.txt'), 'utf8'), 'alpha\nbeta\n');
  const key = createHash('sha256').update(join(pb.root, '.build/aap')).digest('hex').slice(0, 16);
  assert.deepEqual(await readdir(join(pb.root, '.aiop/state/aap')), [`${key}.json`]);
  const state = StateFile.load(join(pb.root, '.aiop/state/aap', `${key}.json`));
  assert.deepEqual(state.targetKeys().sort(), ['a.txt', 'all', 'b.txt', 'c.txt']);

  const again = await pb.run([]);
  expectStatus(again, 0);
  assert.deepEqual(await pb.takeRuns(), [], 'a second run runs nothing');
  assert.match(again.stderr, /up to date/);
});

test('a named target builds only what it needs; an unknown one is exit 2 with a suggestion', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run(['a.txt']), 0);
  assert.deepEqual(await pb.takeRuns(), ['a']);
  const bad = await pb.run(['c.tx']);
  expectStatus(bad, 2);
  assert.match(bad.stderr, /no target named "c\.tx"/);
  assert.deepEqual(await pb.takeRuns(), []);
});

test('variables: built-ins < playbook < recipe < assignments; targets are expanded; $($) is a literal $', async (t) => {
  const pb = await aapPlaybook(t, {
    inventory: `package:
  name: demo
  version: 2.5.0
  maintainer: Demo Team <demo@example.com>
  description: |
    Demo.
    Long.
variables: { FROM_PLAYBOOK: pb, LAYER: playbook, BDIR: out }
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12], help: D }
`,
    recipe: `variables: { LAYER: recipe, WHO: recipe }
default: show
targets:
  show:
    virtual: true
    commands: ["echo $name $version $FROM_PLAYBOOK $LAYER $WHO $distro $arch >> $PLAYBOOK/runs.log"]
  $BDIR/file.txt:
    commands: ["echo $target >> $PLAYBOOK/runs.log", "echo x > $target"]
  price$($).txt:
    commands: ["echo x > $target"]
`,
  });
  expectStatus(await pb.run(['distro=debian12', 'arch=amd64', 'WHO=cli']), 0);
  assert.deepEqual(await pb.takeRuns(), ['demo 2.5.0 pb recipe cli debian12 amd64']);

  expectStatus(await pb.run(['$BDIR/file.txt']), 0);
  assert.deepEqual(await pb.takeRuns(), [join(pb.root, '.build/aap/out/file.txt')]);
  expectStatus(await pb.run(['price$($).txt']), 0);
  assert.ok(existsSync(join(pb.root, '.build/aap/price$.txt')));

  const unset = await pb.run(['show']);
  expectStatus(unset, 2);
  assert.match(unset.stderr, /variable "distro" is not set/);
});

test('variables are expanded once: $target of cost$($)x is cost$x, and a command-line value is not read again', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: `default: cost$($)x
targets:
  cost$($)x: { virtual: true, commands: [":print target is $target"] }
  cost$($)y.txt: { commands: ["echo '$target' >> $PLAYBOOK/runs.log", ":touch $target"] }
`,
  });
  const built = await pb.run(['cost$($)x']);
  expectStatus(built, 0);
  assert.match(built.stdout, /^target is cost\$x$/m);
  assert.match(built.stderr, /^==> cost\$x$/m);
  assert.doesNotMatch(built.stderr, /is not set/);
  const file = await pb.run(['cost$($)y.txt']);
  expectStatus(file, 0);
  assert.ok(existsSync(join(pb.root, '.build/aap/cost$y.txt')));
  assert.deepEqual(await pb.takeRuns(), [join(pb.root, '.build/aap/cost$y.txt')]);
  const value = await pb.run(['V=a$($)b', '-c', ':print $V']);
  expectStatus(value, 0);
  assert.equal(value.stdout, 'a$b\n');
  assert.doesNotMatch(value.stderr, /is not set/);
});

test('PKGDIR=DIR builds there, with its own state file', async (t) => {
  const pb = await aapPlaybook(t);
  expectStatus(await pb.run([]), 0);
  await pb.takeRuns();
  expectStatus(await pb.run(['PKGDIR=elsewhere']), 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['a', 'b', 'c'], 'another PKGDIR has its own signatures');
  assert.equal(await readFile(join(pb.root, 'elsewhere/c.txt'), 'utf8'), 'alpha\nbeta\n');
  assert.equal((await readdir(join(pb.root, '.aiop/state/aap'))).length, 2);
});

test('-f FILE reads another recipe (relative to the current folder); a missing one is exit 2', async (t) => {
  const pb = await aapPlaybook(t, {
    files: { 'other/r.yml': 'default: o.txt\ntargets:\n  o.txt:\n    commands: ["echo other >> $PLAYBOOK/runs.log", "echo o > $target"]\n' },
  });
  expectStatus(await pb.run(['-f', 'other/r.yml']), 0);
  assert.deepEqual(await pb.takeRuns(), ['other']);
  assert.ok(existsSync(join(pb.root, '.build/aap/o.txt')));
  const missing = await pb.run(['-f', 'other/nope.yml']);
  expectStatus(missing, 2);
  assert.match(missing.stderr, /nope\.yml does not exist/);
});

test('-f NONE -c runs only the commands, also outside a playbook', async (t) => {
  const pb = await aapPlaybook(t);
  const inside = await pb.run(['-f', 'NONE', '-c', ':print $name $($)HOME', '-c', 'echo shell >> runs.log']);
  expectStatus(inside, 0);
  assert.equal(inside.stdout, 'demo $HOME\n');
  assert.deepEqual(await pb.takeRuns(), ['shell']);
  assert.equal(existsSync(join(pb.root, '.build')), false, 'no target was built');

  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const outside = await aap(['-f', 'NONE', '-c', ':print $PKGDIR'], { cwd: dir, env: pb.env });
  expectStatus(outside, 0);
  assert.equal(outside.stdout, `${join(dir, '.build/aap')}\n`);
  const noPlaybook = await aap([], { cwd: dir, env: pb.env });
  expectStatus(noPlaybook, 2);
  assert.match(noPlaybook.stderr, /not a playbook root/);
});

test('$AAP is the command that runs this aap; a command\'s output is shown when it ends', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  // The seed's own example, outside any playbook.
  const self = await aap(['-f', 'NONE', '-c', ':print $AAP'], { cwd: dir, env });
  expectStatus(self, 0);
  assert.equal(self.stdout, `${shellJoin([process.execPath, AAP])}\n`);
  // It runs aap: a nested aap prints through it.
  const nested = await aap(['-f', 'NONE', '-c', `:sys $AAP -f NONE -c ':print nested'`], { cwd: dir, env });
  expectStatus(nested, 0);
  assert.equal(nested.stdout, 'nested\n');

  const pb = await aapPlaybook(t);
  const hi = await pb.run(['-c', ':sys echo hi']);
  expectStatus(hi, 0);
  assert.equal(hi.stdout, 'hi\n');
  const shell = await pb.run(['-c', 'echo one; echo two >&2']);
  expectStatus(shell, 0);
  assert.deepEqual(shell.stdout.split('\n').sort(), ['', 'one', 'two'], 'both streams, in one piece');
  // A failing command's output is shown before its error, on stderr.
  const failed = await pb.run(['-c', "printf 'X%sY\\n' ERR >&2; exit 3"]);
  expectStatus(failed, 1);
  assert.match(failed.stderr, /^XERRY\naap: error: -c: command exited with status 3/);
  assert.equal(failed.stdout, '');
  // -S shows only errors.
  const silent = await pb.run(['-S', '-c', ':sys echo hi']);
  expectStatus(silent, 0);
  assert.equal(silent.stdout, '');
});

test('-c commands run after reading the recipe and before building; with no target nothing is built', async (t) => {
  const pb = await aapPlaybook(t);
  const only = await pb.run(['-c', 'echo first >> runs.log', '-c', ':print $GREETING']);
  expectStatus(only, 0);
  assert.equal(only.stdout, 'Hello\n');
  assert.deepEqual(await pb.takeRuns(), ['first'], 'only the -c command ran');
  assert.equal(existsSync(join(pb.root, '.build/aap/a.txt')), false);

  expectStatus(await pb.run(['a.txt', '-c', 'echo first >> runs.log']), 0);
  assert.deepEqual(await pb.takeRuns(), ['first', 'a'], '-c runs before the targets');

  const failing = await pb.run(['a.txt', '-F', '-c', 'exit 3']);
  expectStatus(failing, 1);
  assert.match(failing.stderr, /exited with status 3/);
  assert.deepEqual(await pb.takeRuns(), [], 'a failed -c command stops before building');

  const unset = await pb.run(['-c', ':print $NOPE']);
  expectStatus(unset, 2);
  assert.match(unset.stderr, /variable "NOPE" is not set/);
});

test('-u finds the playbook from three folders below; without it that is exit 2 naming the root', async (t) => {
  const pb = await aapPlaybook(t);
  const deep = join(pb.root, 'x/y/z');
  await mkdir(deep, { recursive: true });
  const found = await pb.run(['-u'], deep);
  expectStatus(found, 0);
  assert.deepEqual((await pb.takeRuns()).sort(), ['a', 'b', 'c']);
  assert.ok(existsSync(join(pb.root, '.build/aap/c.txt')));
  assert.equal(existsSync(join(deep, '.build')), false);

  const without = await pb.run([], deep);
  expectStatus(without, 2);
  assert.ok(without.stderr.includes(pb.root), without.stderr);
});

test('-I adds a folder to search for included recipes', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'include: [extra.yml]\ndefault: e.txt\ntargets: {}\n',
    files: { 'shared/extra.yml': 'targets:\n  e.txt:\n    commands: ["echo e >> $PLAYBOOK/runs.log", "echo e > $target"]\n' },
  });
  const missing = await pb.run([]);
  expectStatus(missing, 2);
  assert.match(missing.stderr, /included recipe "extra\.yml" not found/);
  expectStatus(await pb.run(['-I', 'shared']), 0);
  assert.deepEqual(await pb.takeRuns(), ['e']);
});

test('a recipe command sees the tool folder first on PATH', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'default: p\ntargets:\n  p:\n    virtual: true\n    commands: ["printenv PATH >> runs.log"]\n',
  });
  expectStatus(await pb.run([]), 0);
  const [path] = await pb.takeRuns();
  assert.ok(path?.startsWith(`${join(pb.dir, 'xdg-data/aiop/tools/bin')}:`), path);
});

test('two aap runs into the same folder take turns: the second waits, then finds the target made', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: `default: slow.txt
targets:
  slow.txt: { commands: ["echo s >> $PLAYBOOK/runs.log", "touch $PLAYBOOK/started", "sleep 2", "echo made > $target"] }
`,
  });
  const first = pb.run([]);
  const started = join(pb.root, 'started');
  for (let i = 0; i < 200 && !existsSync(started); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(started), 'the first run started its command');
  // -n writes nothing, so it takes no lock and does not wait.
  const dry = await pb.run(['-n']);
  expectStatus(dry, 0);
  assert.doesNotMatch(dry.stderr, /waiting for/);
  const second = await pb.run([]);
  expectStatus(await first, 0);
  expectStatus(second, 0);
  assert.match(second.stderr, /waiting for another aiop build of this package \(pid \d+/);
  assert.deepEqual(await pb.takeRuns(), ['s'], 'the command ran once: the second run found its target made');
  assert.equal(await readFile(join(pb.root, '.build/aap/slow.txt'), 'utf8'), 'made\n');
});
