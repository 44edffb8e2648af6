/** The `aap` command-line grammar: every option, the repetition rules, `--`, assignments, conflicts. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AAP_DEBUG_FLAGS,
  AAP_OPTION_SPECS,
  assignmentMap,
  defaultAapOptions,
  parseAapArgs,
  recipeSource,
  type AapInvocation,
  type AapOptions,
} from '../../src/cli/aap-args.js';
import { AAP_HELP } from '../../src/cli/aap-help.js';
import { UsageError } from '../../src/core/errors.js';

/** Asserts that parsing throws a UsageError whose message (and hint) match. */
function rejects(argv: string[], message: RegExp, hint?: RegExp): UsageError {
  let caught: unknown;
  try {
    parseAapArgs(argv);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UsageError, `expected a UsageError for ${JSON.stringify(argv)}, got ${String(caught)}`);
  assert.equal(caught.reason, 'usage');
  assert.match(caught.message, message);
  if (hint) assert.match(caught.hint ?? '', hint);
  return caught;
}

function options(argv: string[]): AapOptions {
  return parseAapArgs(argv).options;
}

describe('aap arguments: defaults', () => {
  test('no arguments: every option at its default, nothing else', () => {
    const parsed = parseAapArgs([]);
    assert.deepEqual(parsed, { options: defaultAapOptions(), assignments: [], targets: [] });
    assert.equal(parsed.options.recipe, undefined);
    assert.equal(parsed.options.jobs, undefined);
    assert.equal(parsed.options.continue, false);
    assert.equal(parsed.options.debug.size, 0);
  });
});

describe('aap arguments: every flag, short and long', () => {
  const flags: Array<[string | undefined, string, keyof AapOptions]> = [
    ['a', 'nocache', 'nocache'],
    ['C', 'contents', 'contents'],
    ['F', 'force', 'force'],
    ['h', 'help', 'help'],
    ['k', 'continue', 'continue'],
    ['l', 'local', 'local'],
    ['n', 'nobuild', 'nobuild'],
    ['N', 'nofetch-recipe', 'nofetchRecipe'],
    ['R', 'fetch-recipe', 'fetchRecipe'],
    ['S', 'silent', 'silent'],
    ['t', 'touch', 'touch'],
    ['u', 'up', 'up'],
    ['V', 'version', 'version'],
    ['v', 'verbose', 'verbose'],
    [undefined, 'machine-readable', 'machineReadable'],
  ];
  for (const [short, long, key] of flags) {
    const forms = short ? [`-${short}`, `--${long}`] : [`--${long}`];
    for (const form of forms) {
      test(`${form} sets ${key} and nothing else`, () => {
        const expected = defaultAapOptions();
        (expected as unknown as Record<string, unknown>)[key] = true;
        assert.deepEqual(parseAapArgs([form]), { options: expected, assignments: [], targets: [] });
      });
    }
  }

  test('-s/--stop is known, is the default, and conflicts with -k', () => {
    assert.deepEqual(options(['-s']), defaultAapOptions());
    assert.deepEqual(options(['--stop']), defaultAapOptions());
    rejects(['-s', '-k'], /-k\/--continue and -s\/--stop cannot be used together/);
    rejects(['--stop', '-s'], /-s\/--stop may be given only once/);
  });

  test('a flag given a value with = is refused', () => {
    rejects(['--force=yes'], /-F\/--force takes no value/);
    rejects(['--machine-readable=1'], /--machine-readable takes no value/);
  });
});

describe('aap arguments: options with a value, in every form', () => {
  const cases: Array<{ short?: string; long: string; value: string; check: (o: AapOptions) => void }> = [
    { short: 'c', long: 'command', value: ':print $SOURCE', check: (o) => assert.deepEqual(o.commands, [':print $SOURCE']) },
    { long: 'changed', value: 'src/main.c', check: (o) => assert.deepEqual(o.changed, ['src/main.c']) },
    { short: 'd', long: 'debug', value: 'explain,sign', check: (o) => assert.deepEqual([...o.debug].sort(), ['explain', 'sign']) },
    { short: 'f', long: 'recipe', value: 'other.yml', check: (o) => assert.equal(o.recipe, 'other.yml') },
    { short: 'I', long: 'include', value: 'lib/recipes', check: (o) => assert.deepEqual(o.include, ['lib/recipes']) },
    { long: 'install', value: 'cvs', check: (o) => assert.equal(o.install, 'cvs') },
    { short: 'j', long: 'jobs', value: '12', check: (o) => assert.equal(o.jobs, 12) },
    { long: 'profile', value: 'trace.json', check: (o) => assert.equal(o.profile, 'trace.json') },
  ];
  for (const { short, long, value, check } of cases) {
    const forms: string[][] = [[`--${long}=${value}`], [`--${long}`, value]];
    if (short) forms.push([`-${short}`, value], [`-${short}${value}`]);
    for (const form of forms) {
      test(`${JSON.stringify(form)}`, () => {
        const parsed = parseAapArgs(form);
        check(parsed.options);
        assert.deepEqual(parsed.targets, []);
        assert.deepEqual(parsed.assignments, []);
      });
    }
    test(`--${long} without a value is refused`, () => {
      rejects([`--${long}`], new RegExp(`--${long} needs a`));
      rejects([`--${long}=`], new RegExp(`--${long} needs a non-empty`));
      if (short) rejects([`-${short}`], new RegExp(`-${short}/--${long} needs a`));
    });
  }

  test('-f NONE and a URL are kept as written; recipeSource tells them apart', () => {
    assert.equal(options(['-f', 'NONE']).recipe, 'NONE');
    assert.equal(options(['-f', 'http://127.0.0.1:8080/recipe.yml']).recipe, 'http://127.0.0.1:8080/recipe.yml');
    assert.deepEqual(recipeSource(undefined), { kind: 'default' });
    assert.deepEqual(recipeSource('NONE'), { kind: 'none' });
    assert.deepEqual(recipeSource('sub/recipe.yml'), { kind: 'file', path: 'sub/recipe.yml' });
    const url = recipeSource('https://example.org/a/recipe.yml');
    assert.equal(url.kind, 'url');
    assert.equal(url.kind === 'url' && url.url.pathname, '/a/recipe.yml');
    rejects(['-f', 'ftp://example.org/recipe.yml'], /unsupported URL scheme "ftp:"/, /http/);
    rejects(['-f', 'http://'], /not a valid URL/);
  });

  test('a value is the next word even when it looks like an option', () => {
    const parsed = parseAapArgs(['-c', '--help', '--command', '-v', '-f', '--']);
    assert.deepEqual(parsed.options.commands, ['--help', '-v']);
    assert.equal(parsed.options.help, false);
    assert.equal(parsed.options.verbose, false);
    assert.equal(parsed.options.recipe, '--');
  });

  test('-j takes only a positive whole number', () => {
    for (const bad of ['0', '-1', 'abc', '1e3', '0x10', ' 4', '4 ', '2.5', '1234567']) {
      rejects(['-j', bad], /-j\/--jobs expects a positive whole number/);
    }
    assert.equal(options(['-j', '999999']).jobs, 999999);
    assert.equal(options(['-j1']).jobs, 1);
  });

  test('-d takes a comma-separated list of known flags', () => {
    assert.deepEqual([...options(['-d', 'explain']).debug], ['explain']);
    assert.deepEqual([...options(['-d', ' expand , sign ']).debug].sort(), ['expand', 'sign']);
    assert.deepEqual([...options(['--debug=explain,explain']).debug], ['explain']);
    assert.deepEqual([...options(['-d', AAP_DEBUG_FLAGS.join(',')]).debug].sort(), ['expand', 'explain', 'sign']);
    rejects(['-d', 'explian'], /unknown debug flag "explian"/, /did you mean "explain"\?.*valid choices: explain, expand, sign/);
    rejects(['-d', 'bogus'], /unknown debug flag "bogus"/, /^valid choices: explain, expand, sign/);
    rejects(['-d', 'explain,'], /an empty debug flag/, /valid choices/);
  });
});

describe('aap arguments: repetition', () => {
  const once = AAP_OPTION_SPECS.filter((s) => !s.repeatable);
  const sample: Record<string, string> = { debug: 'sign', jobs: '2' };
  for (const spec of once) {
    const value = spec.value ? [sample[spec.long] ?? 'x'] : [];
    const first = spec.short ? [`-${spec.short}`, ...value] : [`--${spec.long}`, ...value];
    const second = [`--${spec.long}`, ...value];
    test(`--${spec.long} given twice is refused, naming it`, () => {
      rejects([...first, ...second], new RegExp(`option ${spec.short ? `-${spec.short}/` : ''}--${spec.long} may be given only once`), /-c\/--command and -I\/--include/);
    });
  }

  test('--changed may not repeat (the seed does not note it as repeatable)', () => {
    rejects(['--changed', 'a.c', '--changed', 'b.c'], /--changed may be given only once/);
  });

  test('bundled repetition counts too', () => {
    rejects(['-vv'], /-v\/--verbose may be given only once/);
  });

  test('-c and -I repeat, in order, in any form', () => {
    const parsed = parseAapArgs(['-c', ':print 1', '-I', 'a', '--command=:print 2', '--include', 'b', '-c:print 3', '-Ic']);
    assert.deepEqual(parsed.options.commands, [':print 1', ':print 2', ':print 3']);
    assert.deepEqual(parsed.options.include, ['a', 'b', 'c']);
  });
});

describe('aap arguments: bundled short options', () => {
  test('flags bundle', () => {
    const o = options(['-nFk']);
    assert.equal(o.nobuild, true);
    assert.equal(o.force, true);
    assert.equal(o.continue, true);
  });

  test('an option with a value ends the bundle: the rest of the word, else the next word', () => {
    assert.equal(options(['-nj4']).jobs, 4);
    assert.equal(options(['-nj', '4']).jobs, 4);
    const o = options(['-vc:print x']);
    assert.equal(o.verbose, true);
    assert.deepEqual(o.commands, [':print x']);
    const p = options(['-cv']);
    assert.deepEqual(p.commands, ['v']);
    assert.equal(p.verbose, false);
  });

  test('a single-dash word spelling a long option is refused, not read as -f orce', () => {
    rejects(['-force'], /unknown option -force: long options take two dashes/, /did you mean "--force"\?/);
    rejects(['-command=x'], /unknown option -command=x/, /"--command=x"/);
  });
});

describe('aap arguments: unknown options', () => {
  test('a mistyped long option gets a suggestion', () => {
    rejects(['--forse'], /unknown option --forse/, /did you mean "--force"\?/);
    rejects(['--nofetch-recipes'], /unknown option --nofetch-recipes/, /did you mean "--nofetch-recipe"\?/);
    rejects(['--jbos=4'], /unknown option --jbos$/, /did you mean "--jobs"\?/);
  });
  test('no abbreviations of long options', () => {
    rejects(['--verb'], /unknown option --verb/);
  });
  test('an unknown short option names the letter and the word', () => {
    rejects(['-x'], /^unknown option -x$/, /aap -h/);
    rejects(['-nx'], /unknown option -x \(in "-nx"\)/);
    rejects(['--zzzzzzzz'], /unknown option --zzzzzzzz/, /aap -h/);
  });
});

describe('aap arguments: assignments and targets', () => {
  test('VAR=value is an assignment wherever it stands; other words are targets', () => {
    const parsed = parseAapArgs(['install', 'PKGDIR=out', '-F', '$BDIR/foo.o', 'distro=debian12', 'arch=amd64']);
    assert.deepEqual(parsed.assignments, [['PKGDIR', 'out'], ['distro', 'debian12'], ['arch', 'amd64']]);
    assert.deepEqual(parsed.targets, ['install', '$BDIR/foo.o']);
    assert.equal(parsed.options.force, true);
  });

  test('the value keeps everything after the first =, and may be empty', () => {
    assert.deepEqual(parseAapArgs(['A=b=c', 'E=', 'S=two words', 'D=-x']).assignments, [
      ['A', 'b=c'],
      ['E', ''],
      ['S', 'two words'],
      ['D', '-x'],
    ]);
  });

  test('a word whose name part is not a variable name is a target', () => {
    assert.deepEqual(parseAapArgs(['1A=x', 'a-b=c', '=x', 'dir/f=1', 'a.b=c', '_ok=1']).targets, ['1A=x', 'a-b=c', '=x', 'dir/f=1', 'a.b=c']);
    assert.deepEqual(parseAapArgs(['_ok=1']).assignments, [['_ok', '1']]);
  });

  test('a later assignment to the same name wins', () => {
    const parsed = parseAapArgs(['V=1', 'W=x', 'V=2']);
    assert.deepEqual(parsed.assignments, [['V', '1'], ['W', 'x'], ['V', '2']]);
    assert.equal(assignmentMap(parsed).get('V'), '2');
  });

  test('-- ends options: then -weird-target is a target and VAR=value still an assignment', () => {
    const parsed = parseAapArgs(['-v', '--', '-weird-target', 'VAR=value', '--', '--force', '-']);
    assert.deepEqual(parsed.targets, ['-weird-target', '--', '--force', '-']);
    assert.deepEqual(parsed.assignments, [['VAR', 'value']]);
    assert.equal(parsed.options.verbose, true);
    assert.equal(parsed.options.force, false);
  });

  test('a lone - is a target; an empty word is refused', () => {
    assert.deepEqual(parseAapArgs(['-']).targets, ['-']);
    rejects([''], /an empty argument is not a target/);
  });
});

describe('aap arguments: conflicts', () => {
  const pairs: Array<[string[], RegExp]> = [
    [['-S', '-v'], /-S\/--silent and -v\/--verbose cannot be used together/],
    [['-v', '--silent'], /-S\/--silent and -v\/--verbose cannot be used together/],
    [['-R', '-N'], /-R\/--fetch-recipe and -N\/--nofetch-recipe cannot be used together/],
    [['-k', '-s'], /-k\/--continue and -s\/--stop cannot be used together/],
    [['-t', '-n'], /-n\/--nobuild and -t\/--touch cannot be used together/],
    [['-u', '-f', 'r.yml'], /-u\/--up and -f\/--recipe cannot be used together/],
    [['-R', '-f', 'NONE'], /-R\/--fetch-recipe and -f NONE cannot be used together/],
  ];
  for (const [argv, message] of pairs) {
    test(argv.join(' '), () => {
      rejects(argv, message);
    });
  }
  test('combinations the seed allows are accepted', () => {
    const o = options(['-C', '-F', '-t']);
    assert.equal(o.contents && o.force && o.touch, true);
    const p = options(['-C', '-n', '-F', '-k', '-l', '-a', '-f', 'NONE', '-c', ':print $AAP']);
    assert.equal(p.contents && p.nobuild && p.force && p.continue && p.local && p.nocache, true);
    assert.equal(p.recipe, 'NONE');
  });
});

describe('aap help', () => {
  test('names every option, short and long, and every debug flag', () => {
    for (const spec of AAP_OPTION_SPECS) {
      assert.ok(AAP_HELP.includes(`--${spec.long}`), `--${spec.long} missing from help`);
      if (spec.short) assert.ok(AAP_HELP.includes(`-${spec.short}, --${spec.long}`), `-${spec.short} missing from help`);
      if (spec.value) assert.ok(AAP_HELP.includes(`--${spec.long} ${spec.value}`), `${spec.value} of --${spec.long} missing`);
    }
    for (const flag of AAP_DEBUG_FLAGS) assert.ok(AAP_HELP.includes(flag));
    assert.match(AAP_HELP, /^Usage: aap \[option\]\.\.\. \[assignment\]\.\.\. \[target\]\.\.\./);
    assert.match(AAP_HELP, /^\s+--\s+end of options/m);
  });
  test('the table has one identity per option and one letter per short form', () => {
    const longs = AAP_OPTION_SPECS.map((s) => s.long);
    const shorts = AAP_OPTION_SPECS.flatMap((s) => (s.short ? [s.short] : []));
    assert.equal(new Set(longs).size, longs.length);
    assert.equal(new Set(shorts).size, shorts.length);
    assert.equal(longs.length, 24, 'the SPEC list plus --machine-readable');
  });
});

// ---------------------------------------------------------------------------------------
// Properties

/** One argument (or an option with its value) as the user writes it, and what it means. */
interface Unit {
  kind: 'flag' | 'value' | 'command' | 'include' | 'assignment' | 'target';
  words: string[];
}

const safeWord = fc.stringMatching(/^[a-z][a-z0-9_./]{0,10}$/);
const targetWord = fc.oneof(
  fc.stringMatching(/^[a-z0-9_.$/][a-z0-9_.$/()-]{0,12}$/),
  fc.tuple(safeWord, safeWord).map(([a, b]) => `dir/${a}=${b}`),
);
/** A value given in one of the forms the option accepts. */
function valueForm(short: string | undefined, long: string, value: string): fc.Arbitrary<string[]> {
  const forms = [[`--${long}=${value}`], [`--${long}`, value]];
  if (short) forms.push([`-${short}`, value], [`-${short}${value}`]);
  return fc.constantFrom(...forms);
}

const FLAG_SPECS = AAP_OPTION_SPECS.filter((s) => s.value === undefined);
/** Second member of each conflicting pair, dropped when its partner was chosen. */
const CONFLICT_DROPS: Array<[string, string]> = [
  ['silent', 'verbose'],
  ['continue', 'stop'],
  ['fetch-recipe', 'nofetch-recipe'],
  ['nobuild', 'touch'],
];

/** A valid invocation as a list of units, in their canonical order. */
const invocationUnits: fc.Arbitrary<Unit[]> = fc
  .record({
    flags: fc.subarray(FLAG_SPECS),
    recipe: fc.option(safeWord, { nil: undefined }),
    jobs: fc.option(fc.integer({ min: 1, max: 999999 }), { nil: undefined }),
    debug: fc.option(fc.subarray([...AAP_DEBUG_FLAGS], { minLength: 1 }), { nil: undefined }),
    changed: fc.option(safeWord, { nil: undefined }),
    install: fc.option(safeWord, { nil: undefined }),
    profile: fc.option(safeWord, { nil: undefined }),
    commands: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 3 }),
    include: fc.array(safeWord, { maxLength: 3 }),
    assignments: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/), fc.string({ maxLength: 8 })), {
      maxLength: 4,
      selector: ([name]) => name,
    }),
    targets: fc.array(targetWord, { maxLength: 4 }),
  })
  .chain((m) => {
    let flags = m.flags;
    for (const [keep, drop] of CONFLICT_DROPS) {
      if (flags.some((f) => f.long === keep)) flags = flags.filter((f) => f.long !== drop);
    }
    if (m.recipe !== undefined) flags = flags.filter((f) => f.long !== 'up');
    const parts: Array<fc.Arbitrary<Unit>> = [];
    for (const f of flags) {
      parts.push(fc.constantFrom(...(f.short ? [`-${f.short}`, `--${f.long}`] : [`--${f.long}`])).map((w) => ({ kind: 'flag', words: [w] })));
    }
    const value = (short: string | undefined, long: string, v: string | undefined, kind: Unit['kind'] = 'value'): void => {
      if (v !== undefined) parts.push(valueForm(short, long, v).map((words) => ({ kind, words })));
    };
    value('f', 'recipe', m.recipe);
    value('j', 'jobs', m.jobs === undefined ? undefined : String(m.jobs));
    value('d', 'debug', m.debug?.join(','));
    value(undefined, 'changed', m.changed);
    value(undefined, 'install', m.install);
    value(undefined, 'profile', m.profile);
    for (const c of m.commands) value('c', 'command', c, 'command');
    for (const d of m.include) value('I', 'include', d, 'include');
    for (const [n, v] of m.assignments) parts.push(fc.constant({ kind: 'assignment', words: [`${n}=${v}`] }));
    for (const t of m.targets) parts.push(fc.constant({ kind: 'target', words: [t] }));
    return parts.length === 0 ? fc.constant([]) : fc.tuple(...parts);
  });

/** A permutation of the units. */
function shuffled(units: Unit[]): fc.Arbitrary<Unit[]> {
  return fc.shuffledSubarray(units, { minLength: units.length, maxLength: units.length });
}

/** Puts units of each ordered kind back in their original relative order, keeping the interleaving. */
function keepOrderWithinKinds(original: Unit[], permuted: Unit[]): Unit[] {
  const ordered: Unit['kind'][] = ['command', 'include', 'assignment', 'target'];
  const queues = new Map(ordered.map((k) => [k, original.filter((u) => u.kind === k)]));
  return permuted.map((u) => (ordered.includes(u.kind) ? queues.get(u.kind)!.shift()! : u));
}

const words = (units: Unit[]): string[] => units.flatMap((u) => u.words);

/** The result with the order of repeated things removed, for comparing full permutations. */
function normalized(inv: AapInvocation): unknown {
  return {
    options: { ...inv.options, commands: [...inv.options.commands].sort(), include: [...inv.options.include].sort(), debug: [...inv.options.debug].sort() },
    assignments: [...inv.assignments].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    targets: [...inv.targets].sort(),
  };
}

describe('aap arguments: properties', () => {
  test('interleaving options, assignments and targets in any order gives the same result', () => {
    fc.assert(
      fc.property(
        invocationUnits.chain((units) => fc.tuple(fc.constant(units), shuffled(units))),
        ([units, permuted]) => {
          const canonical = parseAapArgs(words(units));
          assert.deepEqual(parseAapArgs(words(keepOrderWithinKinds(units, permuted))), canonical);
        },
      ),
    );
  });

  test('any permutation gives the same options, assignments and targets (as sets)', () => {
    fc.assert(
      fc.property(
        invocationUnits.chain((units) => fc.tuple(fc.constant(units), shuffled(units))),
        ([units, permuted]) => {
          assert.deepEqual(normalized(parseAapArgs(words(permuted))), normalized(parseAapArgs(words(units))));
        },
      ),
    );
  });

  test('the generated invocations mean what they say', () => {
    fc.assert(
      fc.property(invocationUnits, (units) => {
        const parsed = parseAapArgs(words(units));
        assert.equal(parsed.targets.length, units.filter((u) => u.kind === 'target').length);
        assert.equal(parsed.assignments.length, units.filter((u) => u.kind === 'assignment').length);
        assert.equal(parsed.options.commands.length, units.filter((u) => u.kind === 'command').length);
        assert.equal(parsed.options.include.length, units.filter((u) => u.kind === 'include').length);
      }),
    );
  });

  const optionish = fc.constantFrom(
    '--',
    '-',
    '=',
    ...AAP_OPTION_SPECS.flatMap((s) => [`--${s.long}`, ...(s.short ? [`-${s.short}`] : [])]),
  );
  const randomWord = fc.oneof(
    fc.string({ maxLength: 10 }),
    optionish,
    fc.tuple(optionish, fc.string({ maxLength: 6 })).map(([a, b]) => a + b),
    fc.tuple(optionish, fc.string({ maxLength: 6 })).map(([a, b]) => `${a}=${b}`),
    fc.stringMatching(/^-[a-zA-Z0-9]{1,4}$/),
    fc.constantFrom('-d', 'explain,sign', '-j', '4', 'NONE', 'http://x/r.yml', 'ftp://x'),
  );

  test('random argument lists parse or fail with a UsageError, never anything else', () => {
    fc.assert(
      fc.property(fc.array(randomWord, { maxLength: 8 }), (argv) => {
        let parsed: AapInvocation;
        try {
          parsed = parseAapArgs(argv);
        } catch (error) {
          assert.ok(error instanceof UsageError, `not a UsageError: ${String(error)}`);
          assert.ok(error.message.length > 0);
          return;
        }
        assert.ok(parsed.targets.every((t) => t.length > 0));
        assert.ok(parsed.assignments.every(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)));
        if (parsed.options.jobs !== undefined) assert.ok(Number.isInteger(parsed.options.jobs) && parsed.options.jobs > 0);
      }),
      { numRuns: 500 },
    );
  });
});
