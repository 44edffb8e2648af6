import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, REPO, tempDir } from '../util/run.js';
import { completeWords } from '../../src/commands/completion.js';
import { OPTIONS, optionsOf, PACKAGE_OPTIONS, type OptionCommand, type OptionSpec } from '../../src/options/table.js';

/** The option words (`-j`, `--jobs`, `-sll`) that a help text lists, without -h/--help. */
function helpOptions(help: string): string[] {
  const names = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^ {2}((?:-[\w-]+(?:, )?)+)(?: <[^>]+>)? +(\(-\w+\))?/.exec(line);
    if (!m) continue;
    for (const name of m[1]!.split(', ')) names.add(name.trim());
    if (m[2]) names.add(m[2].slice(1, -1));
  }
  return [...names].filter((n) => n !== '-h' && n !== '--help').sort();
}

/** The words a table entry is written with on the command line, without -h/--help. */
function tableWords(command: OptionCommand): string[] {
  const words = optionsOf(command).flatMap((o: OptionSpec) => [...(o.short ? [o.short] : []), `--${o.name}`, ...(o.aliases ?? []).map((a) => `--${a}`)]);
  return [...new Set(words)].filter((n) => n !== '-h' && n !== '--help').sort();
}

const COMMANDS: Array<[OptionCommand, string[], string]> = [
  ['build', ['build'], 'build'],
  ['build_all', ['build_all'], 'build_all'],
  ['build_again', ['build_again'], 'build_again'],
  ['validate', ['validate'], 'validate'],
  ['init', ['init'], 'init'],
  ['repo apt', ['repo', 'apt'], 'repo'],
  ['cache clean', ['cache', 'clean'], 'cache'],
];

test('every option of the table is in --help and in completion, and they list nothing else', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  for (const [command, words, completed] of COMMANDS) {
    const help = await aiop([...words, '--help'], { cwd: dir });
    assert.equal(help.code, 0, help.stderr);
    assert.deepEqual(helpOptions(help.stdout), tableWords(command), `aiop ${words.join(' ')} --help`);
    const offered = (await completeWords([completed, '-'], dir)).filter((w) => w !== '-h' && w !== '--help').sort();
    assert.deepEqual(offered, tableWords(command), `completion of aiop ${completed} -`);
  }
  // The seed's spelling in --help, with its multi-letter short forms and plain defaults.
  // Help lines wrap at 80 columns: joined again before matching.
  const build = (await aiop(['build', '--help'], { cwd: dir })).stdout.replace(/\n {20,}/g, ' ');
  assert.match(build, /^ {2}--stdout_log_level <level> +\(-sll\) Console log level: DEBUG INFO WARNING ERROR CRITICAL DISABLED \(default: INFO\)$/m);
  assert.match(build, /^ {2}-j, --jobs <n> +Recipe targets run at once; overrides jobs of the user config \(default: the number of CPUs\)$/m);
  assert.match(build, /^ {2}--zip_pack +Zip the built package$/m);
  assert.match((await aiop(['repo', 'apt', '--help'], { cwd: dir })).stdout, /--suite <name> +Suite \(dists\/<suite>\) \(default: stable\)/);
});

test('every option packages.yml may set reaches the CI job command line as --help spells it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  // One package with every option, each written with `-` where the seed writes `_`.
  const sample = (o: OptionSpec): string => {
    switch (o.value.kind) {
      case 'flag':
        return 'true';
      case 'integer':
        return String(Math.max(1, o.value.min));
      case 'level':
      case 'choice':
        return o.value.choices[0]!;
      case 'choices':
        return `[${o.value.choices.join(', ')}]`;
      default:
        return o.name === 'upload_url' ? 'https://repo.example.com/x' : o.name === 'installer_name' ? 'hello.deb' : 'out/pkg';
    }
  };
  const options = PACKAGE_OPTIONS.map((o) => `      ${o.name.replace(/_/g, '-')}: ${sample(o)}`).join('\n');
  await writeFile(join(root, '.aiop/packages.yml'), `packages:\n  - system_target: linux\n    compat_args: [debian12, amd64]\n    options:\n${options}\n`);
  const ci = await aiop(['build_all', '--ci', 'github'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(ci.code, 0, ci.stderr);
  const generated = ci.stdout;
  const help = (await aiop(['build', '--help'], { cwd: root })).stdout;
  for (const option of PACKAGE_OPTIONS) {
    assert.ok(generated.includes(`--${option.name}`), `the CI job spells --${option.name}`);
    assert.ok(help.includes(`--${option.name}`), `--help lists --${option.name}`);
  }
});

test('nothing but the table declares an aiop option', async () => {
  const src = join(REPO, 'src');
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const offenders: string[] = [];
  for (const file of files) {
    if (file === join('options', 'table.ts') || file.startsWith(join('cli', 'aap'))) continue; // aap has its own seed table
    // Comments may name options; code may not.
    const text = (await readFile(join(src, file), 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    // A commander declaration, or a list of option words, outside the table.
    if (/\.option\(|new Option\(\s*['"`]-|\.requiredOption\(/.test(text)) offenders.push(`${file}: declares a commander option`);
    const words = [...text.matchAll(/['"`](--[a-z][\w-]+)['"`]/g)].map((m) => m[1]!).filter((w) => w !== '--help' && w !== '--version');
    // The consumers of the table hold no option names of their own.
    const listed = words.filter((w) => OPTIONS.some((o) => `--${o.name}` === w));
    const consumers = [join('commands', 'completion.ts'), join('ci', 'build-options.ts'), join('store', 'noop.ts'), join('session', 'noop-replay.ts'), join('cli', 'aiop-args.ts')];
    if (listed.length > 0 && consumers.includes(file)) offenders.push(`${file}: names ${listed.join(' ')}`);
    if (/kind: '(flag|text|integer|choice|choices)'/.test(text) && !file.startsWith('options')) offenders.push(`${file}: declares option kinds`);
  }
  assert.deepEqual(offenders, []);
});
