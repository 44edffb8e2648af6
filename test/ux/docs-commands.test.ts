import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { aiop, REPO, tempDir } from '../util/run.js';
import { initFiles } from '../../src/init/templates.js';
import { SUBCOMMANDS } from '../../src/commands/completion.js';

/** The long and short option names a help text lists. */
function optionsOf(help: string): string[] {
  const names = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^\s+((?:-[\w-]+(?:, )?)+)/.exec(line);
    if (m) for (const name of m[1]!.split(', ')) names.add(name.trim());
  }
  return [...names].filter((n) => n !== '-h' && n !== '--help');
}

test('docs/commands.md documents every command and every option that --help lists', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const doc = await readFile(join(REPO, 'docs/commands.md'), 'utf8');
  const missing: string[] = [];
  const top = await aiop(['--help'], { cwd: dir });
  const commands = [...top.stdout.matchAll(/^ {2}(\w+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  assert.deepEqual([...commands].sort(), [...SUBCOMMANDS].sort(), 'completion offers exactly the commands that exist');
  for (const command of commands) {
    if (!doc.includes(`## \`aiop ${command}\``)) missing.push(`section for aiop ${command}`);
    const help = await aiop([command, '--help'], { cwd: dir });
    for (const option of optionsOf(help.stdout)) {
      if (!new RegExp(`\`[^\`]*${option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(doc)) missing.push(`aiop ${command} ${option}`);
    }
  }
  for (const sub of ['ls', 'verify', 'clean', '--older-than']) if (!doc.includes(sub)) missing.push(`aiop cache ${sub}`);
  assert.deepEqual(missing, [], 'docs/commands.md lacks these');
});

test('the files aiop init writes validate against the committed JSON Schemas that their comments name', async () => {
  const files = initFiles({ name: 'demo', target: 'linux', now: new Date(0) });
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  let checked = 0;
  for (const file of files.filter((f) => f.path.endsWith('.yml'))) {
    const name = /^# yaml-language-server: \$schema=schema\/(\S+)$/m.exec(file.content)?.[1];
    assert.ok(name, `${file.path} names its schema`);
    const schema = JSON.parse(await readFile(join(REPO, 'schema', name), 'utf8'));
    const validate = ajv.compile(schema);
    assert.ok(validate(parse(file.content)), `${file.path}: ${JSON.stringify(validate.errors)}`);
    checked++;
  }
  assert.equal(checked, 3);
});
