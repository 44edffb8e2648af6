/**
 * Property tests that the unit-level fuzzing (test/playbook, test/report, test/cli) leaves
 * open: variable expansion terminates and agrees with a simple model; the aap grammar never
 * throws anything but a usage error, and argument order does not matter; random YAML given
 * to the real `aiop build` / `build_all` gives a result or a clear error, never a crash; a
 * message printed through the real CLI in machine-readable mode round-trips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { join } from 'node:path';
import { writeFile, rm } from 'node:fs/promises';
import { AiopError } from '../../src/core/errors.js';
import { expand, Scope, VariableError } from '../../src/engine/variables.js';
import { parseAapArgs } from '../../src/cli/aap-args.js';
import { unescapeField } from '../../src/report/machine-readable.js';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';
import { recordTrial, slowTests } from './report.js';

const NAMES = ['A', 'B', 'C', 'D', 'E'] as const;
type Piece = { lit: string } | { ref: string; form: 0 | 1 | 2 } | { dollar: true };

const piece: fc.Arbitrary<Piece> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(' ', '-', '/', '.', ':'), maxLength: 4 }).map((lit) => ({ lit })) },
  { weight: 3, arbitrary: fc.record({ ref: fc.constantFrom(...NAMES, 'UNSET'), form: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
  { weight: 1, arbitrary: fc.constant({ dollar: true as const }) },
);
const valueOf = fc.array(piece, { maxLength: 5 });

/** The three reference forms; literals hold no name characters, so `$NAME` never runs on into them. */
function render(pieces: Piece[]): string {
  return pieces
    .map((p, i) => {
      if ('lit' in p) return p.lit;
      if ('dollar' in p) return '$($)';
      const next = pieces[i + 1];
      const bare = p.form === 2 && !(next && 'ref' in next && next.form === 2) ? `$${p.ref}` : `\${${p.ref}}`;
      return p.form === 0 ? `\${${p.ref}}` : p.form === 1 ? `$(${p.ref})` : bare;
    })
    .join('');
}

/** The model: plain recursion with a visiting set; undefined means "an error". */
function model(pieces: Piece[], values: Record<string, Piece[]>, visiting: string[]): string | undefined {
  let out = '';
  for (const p of pieces) {
    if ('lit' in p) out += p.lit;
    else if ('dollar' in p) out += '$';
    else {
      if (visiting.includes(p.ref)) return undefined;
      const v = values[p.ref];
      if (v === undefined) return undefined;
      const sub = model(v, values, [...visiting, p.ref]);
      if (sub === undefined) return undefined;
      out += sub;
    }
  }
  return out;
}

test('variable expansion always terminates, agrees with a model, and fails only with a VariableError', () => {
  const runs = slowTests() ? 5000 : 1000;
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...NAMES), valueOf), valueOf, (values, text) => {
      const scope = new Scope([Object.fromEntries(Object.entries(values).map(([k, v]) => [k, render(v)]))]);
      const expected = model(text, values, []);
      let got: string | undefined;
      try {
        got = expand(render(text), scope, 'fuzz');
      } catch (error) {
        assert.ok(error instanceof VariableError, `not a VariableError: ${String(error)}`);
        assert.match(error.message, /refers to itself|is not set/);
      }
      assert.equal(got, expected, `${JSON.stringify(values)} / ${render(text)}`);
    }),
    { numRuns: runs },
  );
  recordTrial({ category: 'fuzz', what: 'variable expansion: terminates, matches a model', held: true, count: runs });
});

test('a variable chain that doubles at every level is refused clearly by aiop build, not a crash', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const lines = Array.from({ length: 40 }, (_, i) => `  V${i}: "$V${i + 1}$V${i + 1}"`);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `variables:\n${lines.join('\n')}\n  V40: abcdefgh\ndefault: out\ntargets:\n  out:\n    commands: [":print $V0 > $target"]\n`,
  });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env: isolatedEnv(dir), timeoutMs: 60_000 });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /aiop: error: .*more than 16 MiB of text/);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
  recordTrial({ category: 'hostile', what: 'variable chain doubling 40 times (2^40 characters)', held: true });
});

// Units of an aap command line that stay together when the line is shuffled.
const aapUnit = fc.oneof(
  fc.constantFrom(['-a'], ['--nocache'], ['-C'], ['-F'], ['--force'], ['-k'], ['-l'], ['-n'], ['-N'], ['-R'], ['-s'], ['-S'], ['-t'], ['-u'], ['-v'], ['-V'], ['-h']),
  fc.constantFrom(['-c', 'echo hi'], ['--command=echo hi'], ['-j', '2'], ['--jobs', '3'], ['-d', 'explain,sign'], ['-f', 'other.yml'], ['-I', 'inc'], ['--profile', 'p.json'], ['--changed', 'x.c'], ['-j', '0'], ['-d', 'bogus']),
  fc.tuple(fc.constantFrom('X', 'Y', 'Z', 'W'), fc.string({ maxLength: 4 })).map(([k, v]) => [`${k}=${v}`]),
  fc.constantFrom(['all'], ['bin/hello'], ['$BDIR/x.o'], ['-'], ['']),
);

test('aap grammar: any words give an invocation or a usage error; the order of options, assignments and targets does not matter', () => {
  const runs = slowTests() ? 3000 : 600;
  const parse = (argv: string[]): ReturnType<typeof parseAapArgs> | 'usage' => {
    try {
      return parseAapArgs(argv);
    } catch (error) {
      assert.ok(error instanceof AiopError && error.reason === 'usage', `not a usage error for ${JSON.stringify(argv)}: ${String(error)}`);
      return 'usage';
    }
  };
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('-', '--', '-j', '-cx', '--jobs=', '=', 'A=', '-fNONE', '--debug=')), { maxLength: 8 }), (words) => {
      parse(words);
    }),
    { numRuns: runs },
  );
  fc.assert(
    fc.property(fc.uniqueArray(aapUnit, { maxLength: 7, selector: (u) => u[0]!.split('=')[0]!.replace(/^--?/, '').slice(0, 1) }), fc.nat(), (units, seed) => {
      const shuffled = [...units];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = (seed + i * 7919) % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const a = parse(units.flat());
      const b = parse(shuffled.flat());
      if (a === 'usage' || b === 'usage') {
        assert.equal(a, b, `${JSON.stringify(units.flat())} vs ${JSON.stringify(shuffled.flat())}`);
        return;
      }
      assert.deepEqual(a.options, b.options);
      assert.deepEqual([...a.assignments].sort(), [...b.assignments].sort());
      assert.deepEqual([...a.targets].sort(), [...b.targets].sort());
    }),
    { numRuns: runs },
  );
  recordTrial({ category: 'fuzz', what: 'aap grammar: random words and shuffled command lines', held: true, count: 2 * runs });
});

/** Pieces that make YAML likely to reach the loaders' corners, including their own keys. */
const token = fc.constantFrom(
  'package:', 'name: demo', 'version: 1.0.0', 'maintainer: A <a@b.c>', 'description: x', 'system_targets:', 'linux:', 'compatibility:', '- ', '  ', '    ',
  '\n', ': ', '{', '}', '[', ']', ',', '&a ', '*a', '"', "'", '#', '|', '---', '? ', '!!str ', 'targets:', 'choices: [debian12, amd64]', 'default: x',
  'include: [y.yml]', 'commands: [":touch $target"]', 'virtual: true', 'depends: [z]', 'sources: [nope]', 'variables: { A: $B, B: $A }', 'packages:',
  'system_target: linux', 'compat_args: [debian12, amd64]', 'matrix: { distro: [debian12] }', 'options: { zip_pack: true }', 'null', '~', '1e3', 'true',
  '<<: *a', '\t', 'é', '\r\n', 'x: ../../etc', 'dest: /abs',
);
const yamlish = fc.oneof(fc.array(token, { maxLength: 30 }).map((t) => t.join('')), fc.string({ maxLength: 120 }));

test('random YAML through the real CLI (inventory, recipe, packages): a result or a clear error, never a crash', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: 'targets: {}\n' });
  const env = isolatedEnv(dir);
  const perFile = slowTests() ? 40 : 8;
  const texts = fc.sample(yamlish, { numRuns: perFile * 3, seed: 424242 });
  const files = ['inventory_config.yml', 'recipe.yml', 'packages.yml'] as const;
  let runs = 0;
  for (let i = 0; i < texts.length; i++) {
    const file = files[i % 3]!;
    await rm(join(root, '.build'), { recursive: true, force: true });
    await writeFile(join(root, '.aiop/inventory_config.yml'), file === 'inventory_config.yml' ? texts[i]! : SIMPLE_INVENTORY);
    await writeFile(join(root, '.aiop/recipe.yml'), file === 'recipe.yml' ? texts[i]! : 'targets: {}\n');
    await writeFile(join(root, '.aiop/packages.yml'), file === 'packages.yml' ? texts[i]! : 'packages: []\n');
    const args = file === 'packages.yml' ? ['build_all', '--local'] : ['build', 'linux', 'debian12', 'amd64'];
    const result = await aiop(args, { cwd: root, env, timeoutMs: 30_000 });
    const what = `${file} = ${JSON.stringify(texts[i])}:\n${result.stderr}`;
    assert.ok(result.code === 0 || result.code === 1 || result.code === 2, `exit ${result.code} for ${what}`);
    assert.doesNotMatch(result.stderr, /internal error|\n\s+at /, what);
    if (result.code === 2) assert.match(result.stderr, /aiop: error: /, what);
    if (result.code === 2 && new RegExp(`${file.replace('.', '\\.')}:\\d`).test(result.stderr)) {
      assert.match(result.stderr, new RegExp(`${file.replace('.', '\\.')}:\\d+:\\d+`), `a located problem has line and column: ${what}`);
    }
    runs++;
  }
  recordTrial({ category: 'fuzz', what: 'random YAML through aiop build / build_all', held: true, count: runs });
});

test('a message with commas, newlines and carriage returns printed through the real CLI round-trips in machine-readable output', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: 'default: say\ntargets:\n  say:\n    virtual: true\n    commands: [":print <$MSG>"]\n' });
  const env = isolatedEnv(dir);
  const count = slowTests() ? 40 : 8;
  // Packer's format does not escape a backslash, so a literal "\n" could not be told from a newline: none here.
  const messages = fc.sample(fc.string({ unit: fc.constantFrom('a', 'Z', ',', '\n', '\r', 'é', '%', '!', '(', ')', '😀', ';', ':'), minLength: 1, maxLength: 12 }), { numRuns: count, seed: 99 });
  for (const message of messages) {
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--machine-readable', `MSG=${message}`], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n').filter((l) => l !== '');
    for (const line of lines) assert.match(line, /^\d+,[^,]*,[^,]+(,.*)?$/, line);
    const printed = lines.map((l) => /^\d+,,ui,message,demo-1\.0\.0-linux-debian12-amd64: <(.*)>$/.exec(l)?.[1]).find((m) => m !== undefined);
    assert.ok(printed !== undefined, `the message is on stdout:\n${result.stdout}`);
    assert.equal(unescapeField(printed), message);
  }
  recordTrial({ category: 'fuzz', what: 'machine-readable escaping round-trips through the CLI', held: true, count });
});
