import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile, truncate } from 'node:fs/promises';
import { tempDir } from '../util/run.js';
import { readYamlFile, MAX_CONFIG_BYTES } from '../../src/playbook/yaml-file.js';
import { inventorySchema, recipeSchema, userConfigSchema } from '../../src/playbook/schema.js';
import { INVENTORY, configError, writeFiles } from './helpers.js';

async function withPlaybook(files: Record<string, string>, body: (root: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir('aiop-yaml-');
  try {
    await writeFiles(dir, files);
    await body(dir);
  } finally {
    await cleanup();
  }
}

const inv = (root: string): string => join(root, '.aiop/inventory_config.yml');

test('a valid inventory reads, with numbers kept as written where text is expected', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY.replace('1.4.0', '1.10').replace('debian12,', '12.0, 2.10,') }, async (root) => {
    const value = await readYamlFile(inv(root), inventorySchema, { displayRoot: root });
    assert.equal(value.package.version, '1.10');
    assert.deepEqual(value.system_targets.linux!.compatibility[0]!.choices, ['12.0', '2.10', 'ubuntu22.04']);
    assert.equal(value.system_targets.linux!.compatibility[1]!.help, 'CPU architecture');
  });
});

test('malformed YAML names .aiop/inventory_config.yml:LINE:COLUMN and shows the line', async () => {
  const broken = INVENTORY.replace('  version: 1.4.0', '  version: [1.4.0');
  await withPlaybook({ '.aiop/inventory_config.yml': broken }, async (root) => {
    const { error, text } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    const first = error.diagnostics[0]!;
    assert.equal(first.location?.file, '.aiop/inventory_config.yml');
    assert.ok(first.location!.line >= 3, text);
    assert.match(text, /^\.aiop\/inventory_config\.yml:\d+:\d+: YAML syntax error/m);
    assert.ok(first.sourceLine !== undefined, 'the offending line is shown');
  });
});

test('a syntax error is located exactly (line and column, 1-based)', async () => {
  await withPlaybook({ 'c.yml': 'download_retries: 3\nthreads: : 4\n' }, async (root) => {
    const { error } = await configError(readYamlFile(join(root, 'c.yml'), userConfigSchema, { displayRoot: root }));
    assert.equal(error.diagnostics[0]!.location?.line, 2);
    assert.equal(error.diagnostics[0]!.sourceLine, 'threads: : 4');
  });
});

test('`choises:` is an unknown key located at the key, suggesting `choices` (and not also "missing choices")', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY.replace('choices: [amd64', 'choises: [amd64') }, async (root) => {
    const { error, text } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    assert.equal(error.diagnostics.length, 1, text);
    const d = error.diagnostics[0]!;
    assert.match(d.message, /unknown key "choises"/);
    assert.equal(d.hint, 'did you mean "choices"?');
    assert.equal(d.location?.line, 13);
    assert.equal(d.location?.column, d.sourceLine!.indexOf('choises') + 1);
    assert.match(text, /\.aiop\/inventory_config\.yml:13:\d+: unknown key/);
  });
});

test('a wrong enum value lists the valid choices', async () => {
  const text = INVENTORY + '    deb:\n      architecture: amd64\n      priority: optionl\n';
  await withPlaybook({ '.aiop/inventory_config.yml': text }, async (root) => {
    const { error } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    const d = error.diagnostics[0]!;
    assert.match(d.message, /"optionl" is not a valid choice/);
    assert.match(d.hint!, /valid choices: required, important, standard, optional, extra/);
    assert.match(d.hint!, /did you mean "optional"/);
    assert.equal(d.location?.line, 16);
    assert.equal(d.location?.column, 17);
  });
});

test('several mistakes in one file are all reported, in file order', async () => {
  const text = INVENTORY.replace('  maintainer:', '  maintaner:')
    .replace('choices: [amd64', 'choises: [amd64')
    .concat('    deb:\n      architecture: amd64\n      priority: high\n      compression: bzip2\n');
  await withPlaybook({ '.aiop/inventory_config.yml': text }, async (root) => {
    const { error, text: shown } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    const messages = error.diagnostics.map((d) => d.message);
    assert.equal(messages.length, 4, shown);
    assert.match(messages[0]!, /unknown key "maintaner"/);
    assert.equal(error.diagnostics[0]!.hint, 'did you mean "maintainer"?');
    assert.match(messages[1]!, /unknown key "choises"/);
    assert.match(messages[2]!, /"high" is not a valid choice/);
    assert.match(messages[3]!, /"bzip2" is not a valid choice/);
    const lines = error.diagnostics.map((d) => d.location!.line);
    assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
  });
});

test('a missing required key is named, and a wrong type says what was expected', async () => {
  const text = INVENTORY.replace('  maintainer: Hello Team <hello@example.com>\n', '').replace('  linux:\n    compatibility:', '  linux:\n    artifacts: yes\n    compatibility:');
  await withPlaybook({ '.aiop/inventory_config.yml': text }, async (root) => {
    const { error, text: shown } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    assert.ok(error.diagnostics.some((d) => /missing required key "maintainer" in package/.test(d.message)), shown);
    assert.ok(error.diagnostics.some((d) => /artifacts: expected a list, got a string/.test(d.message)), shown);
  });
});

test('a duplicate key is an error naming both places', async () => {
  const text = INVENTORY.replace('  version: 1.4.0\n', '  version: 1.4.0\n  version: 1.5.0\n');
  await withPlaybook({ '.aiop/inventory_config.yml': text }, async (root) => {
    const { error } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    assert.equal(error.diagnostics.length, 1);
    assert.match(error.diagnostics[0]!.message, /duplicate key "version"/);
    assert.equal(error.diagnostics[0]!.location?.line, 5);
    assert.match(error.diagnostics[0]!.hint!, /line 4/);
  });
});

test('a file over 10 MiB is refused without being read', async () => {
  await withPlaybook({}, async (root) => {
    const file = join(root, 'big.yml');
    await writeFile(file, 'targets: {}\n');
    // Sparse: huge on paper, nothing to read; reading it whole would take memory and time.
    await truncate(file, MAX_CONFIG_BYTES + 1);
    const { error } = await configError(readYamlFile(file, recipeSchema, { displayRoot: root }));
    assert.match(error.diagnostics[0]!.message, /big\.yml: file is 10485761 bytes, over the 10 MiB limit/);
  });
});

test('a file of exactly 10 MiB is still read', async () => {
  await withPlaybook({}, async (root) => {
    const file = join(root, 'edge.yml');
    const head = 'targets: {}\n';
    await writeFile(file, head + '#'.repeat(MAX_CONFIG_BYTES - head.length));
    assert.deepEqual(await readYamlFile(file, recipeSchema), { targets: {} });
  });
});

test('an alias bomb (billion laughs) is refused quickly with a location', async () => {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(97 + i - 1);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  lines.push('targets: {}');
  await withPlaybook({ 'bomb.yml': lines.join('\n') + '\n' }, async (root) => {
    const { error } = await configError(readYamlFile(join(root, 'bomb.yml'), recipeSchema, { displayRoot: root }));
    assert.match(error.diagnostics[0]!.message, /too many YAML alias expansions/);
    assert.equal(error.diagnostics[0]!.location?.file, 'bomb.yml');
    assert.equal(error.diagnostics[0]!.location?.line, 2);
  });
});

test('a few aliases are fine', async () => {
  const text = 'targets:\n  a: &t { virtual: true, commands: [echo] }\n  b: *t\n';
  await withPlaybook({ 'r.yml': text }, async (root) => {
    const value = await readYamlFile(join(root, 'r.yml'), recipeSchema);
    assert.deepEqual(value.targets.b, { virtual: true, commands: ['echo'] });
  });
});

test('an empty file is an error for the inventory, and a missing file says so', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': '# nothing yet\n' }, async (root) => {
    const { error } = await configError(readYamlFile(inv(root), inventorySchema, { displayRoot: root }));
    assert.match(error.diagnostics[0]!.message, /the file is empty/);
    const missing = await configError(readYamlFile(join(root, 'nope.yml'), recipeSchema, { displayRoot: root }));
    assert.match(missing.error.diagnostics[0]!.message, /nope\.yml: file not found/);
  });
});

test('an invalid record key (variable name) points at the key', async () => {
  await withPlaybook({ 'r.yml': 'variables:\n  ok: 1\n  9bad: 2\n' }, async (root) => {
    const { error } = await configError(readYamlFile(join(root, 'r.yml'), recipeSchema, { displayRoot: root }));
    assert.equal(error.diagnostics[0]!.location?.line, 3);
    assert.equal(error.diagnostics[0]!.location?.column, 3);
    assert.match(error.diagnostics[0]!.message, /variable names use letters, digits and _/);
  });
});

test('a recipe big enough to be parsed on a worker thread reads and reports exactly as a small one does', async () => {
  const { parseYamlFile, parseYamlText, OFF_THREAD_CHARS } = await import('../../src/playbook/yaml-file.js');
  const lines = ['variables:', '  N: 042', 'targets:'];
  for (let i = 0; lines.join('\n').length < OFF_THREAD_CHARS + 1024; i++) lines.push(`  out/f${i}.txt:`, `    sources: [src/f${i}.in]`, '    commands: [":copy $source $target"]');
  const good = `${lines.join('\n')}\n`;
  // The same mistake (an unknown key) near the end of the file.
  const bad = good.replace(/ {4}sources: \[src\/f900\.in\]/, '    source: [src/f900.in]');
  await withPlaybook({ '.aiop/recipe.yml': good, '.aiop/bad.yml': bad }, async (root) => {
    const file = join(root, '.aiop/recipe.yml');
    const parsed = await parseYamlFile(file, recipeSchema, { displayRoot: root });
    const inThread = parseYamlText(good, '.aiop/recipe.yml', recipeSchema);
    assert.deepEqual(parsed.value, inThread.value);
    assert.equal(parsed.value.variables?.N, '042');
    // Positions, needed only for problems found later, are those of the text.
    assert.deepEqual(parsed.locate(['targets', 'out/f900.txt'], true), inThread.locate(['targets', 'out/f900.txt'], true));
    assert.equal(parsed.locate(['targets', 'out/f900.txt'], true).location?.line, 3 + 900 * 3 + 1);
    const fromWorker = await configError(parseYamlFile(join(root, '.aiop/bad.yml'), recipeSchema, { displayRoot: root }));
    const expected = await configError(Promise.resolve().then(() => parseYamlText(bad, '.aiop/bad.yml', recipeSchema)));
    assert.deepEqual(fromWorker.error.diagnostics, expected.error.diagnostics);
    assert.equal(fromWorker.text, expected.text);
    assert.match(fromWorker.error.diagnostics[0]!.message, /unknown key "source"/);
  });
});

test('a big recipe read a piece of its targets at a time gives what the whole text gives, or is read whole', async () => {
  const { parseYamlFile, parseYamlText, OFF_THREAD_CHARS } = await import('../../src/playbook/yaml-file.js');
  const targets = (extra: (i: number) => string[]): string => {
    const lines = ['# a recipe', 'variables:', '  N: 042', '  M: &m ":print M"', 'targets:'];
    for (let i = 0; lines.join('\n').length < OFF_THREAD_CHARS * 2; i++) lines.push(`  out/f${i}.txt:`, `    sources: [src/f${i}.in]`, ...extra(i));
    return `${lines.join('\n')}\n`;
  };
  const variants: Record<string, string> = {
    // Numbers where text is expected, block scalars, quoted keys, comments at any indentation.
    plain: targets((i) => (i % 50 === 0 ? ['    commands:', '      - |', '        echo 1.10', '        # not a comment', '      - 1.10', `  "quoted ${i}":`, '    commands: [":print 2.0"]', '# between targets'] : ['    commands: [":copy $source $target"]'])),
    // An anchor in one piece and its alias in another: read whole.
    alias: targets((i) => (i === 0 ? ['    commands: &first [":copy $source $target"]'] : i === 3000 ? ['    commands: *first'] : ['    commands: [":copy $source $target"]'])),
    // An anchor outside the targets, used inside: read whole.
    outside: targets((i) => [i === 10 ? '    commands: [*m]' : '    commands: [":copy $source $target"]']),
  };
  await withPlaybook(Object.fromEntries(Object.entries(variants).map(([name, text]) => [`.aiop/${name}.yml`, text])), async (root) => {
    for (const [name, text] of Object.entries(variants)) {
      const whole = await Promise.resolve()
        .then(() => ({ value: parseYamlText(text, `.aiop/${name}.yml`, recipeSchema).value }))
        .catch((error: unknown) => ({ error }));
      const read = await parseYamlFile(join(root, `.aiop/${name}.yml`), recipeSchema, { displayRoot: root })
        .then((parsed) => ({ value: parsed.value }))
        .catch((error: unknown) => ({ error }));
      assert.deepEqual(read, whole, name);
    }
    const plain = (await parseYamlFile(join(root, '.aiop/plain.yml'), recipeSchema, { displayRoot: root })).value;
    assert.deepEqual(plain.targets['out/f50.txt']!.commands, ['echo 1.10\n# not a comment\n', '1.10']);
    assert.deepEqual(plain.targets['quoted 100']!.commands, [':print 2.0']);
    assert.deepEqual((await parseYamlFile(join(root, '.aiop/alias.yml'), recipeSchema, { displayRoot: root })).value.targets['out/f3000.txt']!.commands, [':copy $source $target']);
    assert.deepEqual((await parseYamlFile(join(root, '.aiop/outside.yml'), recipeSchema, { displayRoot: root })).value.targets['out/f10.txt']!.commands, [':print M']);
  });
  // A target named twice, in two pieces: the same diagnostic as the whole text's.
  const twice = targets((i) => ['    commands: [":copy $source $target"]', ...(i === 3000 ? ['  out/f1.txt:', '    sources: [src/f1.in]'] : [])]);
  await withPlaybook({ '.aiop/twice.yml': twice }, async (root) => {
    const read = await configError(parseYamlFile(join(root, '.aiop/twice.yml'), recipeSchema, { displayRoot: root }));
    const whole = await configError(Promise.resolve().then(() => parseYamlText(twice, '.aiop/twice.yml', recipeSchema)));
    assert.deepEqual(read.error.diagnostics, whole.error.diagnostics);
    assert.match(read.error.diagnostics[0]!.message, /duplicate key "out\/f1.txt"/);
  });
});
