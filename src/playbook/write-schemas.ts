/**
 * Generates the committed JSON Schemas (`schema/*.schema.json`) and the format reference
 * (`docs/formats.md`) from the zod definitions the loader validates with, so that the three can
 * never disagree. Run with `npm run schema`; a test fails when the committed files drift.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic.js';
import { FILE_SCHEMAS } from './schema.js';
import { USER_CONFIG_ENV } from './user-config.js';

type SchemaName = keyof typeof FILE_SCHEMAS;
type Json = Record<string, unknown>;

/** What each file is, where it lives and an example that starts with its schema comment. */
const FORMATS: Record<SchemaName, { title: string; where: string; about: string; example: string }> = {
  'inventory_config.schema.json': {
    title: 'aiop inventory (.aiop/inventory_config.yml)',
    where: '`.aiop/inventory_config.yml` in the playbook root (its presence makes a folder a playbook root)',
    about:
      'Package metadata, system targets with their ordered `compatibility` parameters, remote artifacts, ' +
      'Debian installer settings and tools for `aap --install`. Playbook `variables` are defaults for recipe ' +
      'variables and for compatibility names that a system target lacks.',
    example: `# yaml-language-server: $schema=schema/inventory_config.schema.json
package:
  name: hello
  version: 1.4.0
  maintainer: Hello Team <hello@example.com>
  description: |
    Says hello.
    A longer description, as many lines as needed.
variables: { PREFIX: /opt/hello }
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12, ubuntu22.04], help: Distribution release }
      - { name: arch, choices: [amd64, arm64], help: CPU architecture }
    artifacts:
      - name: jq
        url: https://example.com/jq-1.7-\${arch}.tar.gz
        sha256: 5f3c0b6ea2c2f1b0e9a2b4d0c2c7e2f5a7c6b3d2e1f0a9b8c7d6e5f4a3b2c1d0
        when: { arch: amd64 }
        extract: true
        strip_components: 1
        dest: bin/
        mode: "0755"
    deb:
      architecture: \${arch}
      install_prefix: /usr
      depends: [libc6 (>= 2.31)]
      section: utils
      priority: optional
`,
  },
  'recipe.schema.json': {
    title: 'aiop recipe (.aiop/recipe.yml)',
    where: '`.aiop/recipe.yml` (`aap -f FILE` names another; included files have the same format)',
    about:
      'Variables and targets: the steps that produce the package content. A target is a file relative to the ' +
      'package folder unless `virtual: true`. `commands` may be one string or a list. `include` files are ' +
      'looked for beside the including file, then in each `-I` folder; an including file\'s own `variables` ' +
      'and `default` override those of the files it includes; a target defined in two files is an error, ' +
      'and so is an include cycle. `children` folders are relative to the playbook root. `default` must name a ' +
      'target; each `depends` entry must name a target (checked when the recipe has no `children`).',
    example: `# yaml-language-server: $schema=schema/recipe.schema.json
variables: { GREETING: Hello }
include: [common.yml]
default: package
targets:
  package:
    virtual: true
    depends: [bin/hello, share/doc/hello/README]
  bin/hello:
    sources: [files/hello.sh]
    commands:
      - :copy $source $target
      - :chmod 0755 $target
  share/doc/hello/README:
    sources: [files/README.in]
    commands: ":template $source $target"
`,
  },
  'packages.schema.json': {
    title: 'aiop package list (.aiop/packages.yml)',
    where: '`.aiop/packages.yml`, read by `aiop build_all`',
    about:
      'The packages that `build_all` builds: each entry gives a system target and either `compat_args` ' +
      '(a mapping, or a list in compatibility order) or a `matrix` that expands to every combination. ' +
      '`options` holds any `aiop build` option by its long name (`zip_pack` or `zip-pack`); generated CI jobs spell it as `--help` does. ' +
      '`ci` says how generated CI jobs run aiop.',
    example: `# yaml-language-server: $schema=schema/packages.schema.json
packages:
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
    options: { zip_pack: true, installer: deb }
  - system_target: linux
    matrix: { distro: [debian12, ubuntu22.04], arch: [amd64, arm64] }
    options: { zip_pack: true }
ci:
  command: npx --no-install aiop
  image: node:22-bookworm
  before_script: [npm ci]
`,
  },
  'user-config.schema.json': {
    title: 'aiop user configuration (config.yml)',
    where:
      '`$AIOP_CONFIG`, else `$XDG_CONFIG_HOME/aiop/config.yml` (when that variable is an absolute path), else ' +
      '`~/.config/aiop/config.yml`. A missing file means every default; an empty file too',
    about:
      'Settings of the person running aiop. Precedence: command line > environment > this file > playbook.',
    example: `# yaml-language-server: $schema=../schema/user-config.schema.json
download_retries: 5
stdout_log_level: WARNING
file_log_level: DEBUG
threads: 8
connect_timeout: 10
`,
  },
};

/** Key order of the output does not depend on how zod happens to emit it. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const first = ['$schema', 'title', 'description', 'type'];
  const keys = Object.keys(value).sort((a, b) => {
    const ia = first.indexOf(a);
    const ib = first.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return Object.fromEntries(keys.map((k) => [k, sortKeys((value as Json)[k])]));
}

/** The JSON Schema of one file format, as an object. */
export function jsonSchemaOf(name: SchemaName): Json {
  const schema = z.toJSONSchema(FILE_SCHEMAS[name], { io: 'input' }) as Json;
  delete schema.$id;
  return sortKeys({ ...schema, $schema: 'https://json-schema.org/draft/2020-12/schema', title: FORMATS[name].title }) as Json;
}

/** Every committed schema file: name to its exact text. */
export function renderSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(FILE_SCHEMAS) as SchemaName[]) out.set(name, `${JSON.stringify(jsonSchemaOf(name), null, 2)}\n`);
  return out;
}

/* ---------- docs/formats.md ---------- */

function typeText(s: Json): string {
  if (Array.isArray(s.type)) {
    const types = s.type as string[];
    return types.length === 3 && ['string', 'number', 'boolean'].every((t) => types.includes(t)) ? 'text' : types.join(' or ');
  }
  if (typeof s.type === 'string') {
    if (s.type === 'array') {
      const items = s.items as Json | undefined;
      return items ? `list of ${typeText(items)}` : 'list';
    }
    if (s.type === 'object') return 'mapping';
    return s.type;
  }
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(', ');
  const alternatives = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (alternatives) return alternatives.map(typeText).join(' or ');
  return 'any';
}

function constraints(s: Json): string[] {
  const out: string[] = [];
  if (s.pattern) out.push(`pattern \`${String(s.pattern)}\``);
  if (s.minLength !== undefined) out.push(`at least ${String(s.minLength)} character(s)`);
  if (s.minItems !== undefined) out.push(`at least ${String(s.minItems)} item(s)`);
  if (s.minimum !== undefined) out.push(`minimum ${String(s.minimum)}`);
  if (s.exclusiveMinimum !== undefined) out.push(`greater than ${String(s.exclusiveMinimum)}`);
  if (s.propertyNames && (s.propertyNames as Json).pattern) out.push(`keys match \`${String((s.propertyNames as Json).pattern)}\``);
  if (Array.isArray(s.enum)) out.push(`one of ${(s.enum as unknown[]).map((v) => `\`${String(v)}\``).join(', ')}`);
  if (Array.isArray(s.anyOf) && (s.anyOf as Json[]).every((a) => Array.isArray(a.required))) {
    out.push(`needs one of ${(s.anyOf as Json[]).map((a) => `\`${(a.required as string[]).join(', ')}\``).join(' or ')}`);
  }
  return out;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** One table row per key, depth first, with dotted paths (`[]` for list items, `<name>` for any key). */
function rows(s: Json, path: string, required: boolean, out: string[]): void {
  if (path !== '') {
    const notes = [...constraints(s)];
    if (s.default !== undefined) notes.push(`default \`${JSON.stringify(s.default)}\``);
    const description = typeof s.description === 'string' ? s.description.replace(/\.$/, '') : '';
    const meaning = [description, notes.join('; ')].filter(Boolean).join('. ');
    out.push(`| \`${path}\` | ${escapeCell(s.enum ? 'string' : typeText(s))} | ${required ? 'yes' : 'no'} | ${escapeCell(meaning)} |`);
  }
  childRows(s, path, out);
}

function childRows(s: Json, path: string, out: string[]): void {
  const alternatives = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (alternatives && !s.type) for (const alt of alternatives) childRows(alt, path, out);
  if (s.properties) {
    const req = new Set((s.required as string[] | undefined) ?? []);
    for (const [key, child] of Object.entries(s.properties as Record<string, Json>)) rows(child, path ? `${path}.${key}` : key, req.has(key), out);
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const child = s.additionalProperties as Json;
    if (child.properties || child.items || child.additionalProperties) rows(child, `${path}.<name>`, false, out);
  }
  if (s.items && typeof s.items === 'object') {
    const child = s.items as Json;
    if (child.properties || child.anyOf || child.items) rows(child, `${path}[]`, false, out);
  }
}

/** The text of docs/formats.md. */
export function renderFormatsDoc(): string {
  const parts: string[] = [
    '# File formats',
    '',
    '<!-- Generated by `npm run schema` (src/playbook/write-schemas.ts) from the zod definitions in',
    '     src/playbook/schema.ts. Do not edit by hand: a test fails when this file drifts. -->',
    '',
    'Every file aiop reads is YAML, validated against a schema generated from the definitions the code uses.',
    'The JSON Schemas are in aiop\'s `schema/` folder. `aiop init` and `aiop schema` copy those of the',
    'playbook files into `.aiop/schema/` and start each file with',
    '`# yaml-language-server: $schema=schema/NAME.schema.json`, so that editors with the YAML language',
    'server complete and check it as you type, wherever aiop is installed.',
    '',
    'Rules for every file:',
    '',
    '- Files over 10 MiB are refused; YAML aliases are limited (an alias bomb is refused at once).',
    '- A key given twice in one mapping is an error.',
    '- Errors name `file:line:column` (the file relative to the playbook root), show the line with a marker,',
    '  suggest the closest key for a mistyped one and list the valid choices for a wrong value. Every problem',
    '  found in a file is reported, not only the first.',
    '- Values kept as text (versions, choices, variable values) may be written unquoted even when they look like',
    '  numbers: `version: 1.10` stays `"1.10"` (YAML alone would read the number 1.1), `true` becomes `"true"`.',
    '',
    'The validated playbook (inventory and recipe with its includes) is cached in `.aiop/state/playbook-cache.json`,',
    'keyed by the size, modification time, inode and change time of every file read and by the paths where an',
    'include was looked for and not found. An unchanged playbook is therefore not parsed again. The cache is safe',
    'to delete; aiop writes `.aiop/.gitignore` (`state/`, `logs/`) when it is missing. A playbook with a',
    'credential written in a URL (`https://user:token@host/...`) is not cached: secrets are never copied to disk.',
    '',
  ];
  for (const name of Object.keys(FILE_SCHEMAS) as SchemaName[]) {
    const format = FORMATS[name];
    const table: string[] = [];
    rows(jsonSchemaOf(name), '', true, table);
    parts.push(
      `## ${format.title}`,
      '',
      `Where: ${format.where}. Schema: [\`schema/${name}\`](../schema/${name}).`,
      '',
      format.about,
      '',
      '```yaml',
      format.example.trimEnd(),
      '```',
      '',
      '| Key | Type | Required | Meaning |',
      '| --- | --- | --- | --- |',
      ...table,
      '',
    );
    if (name === 'user-config.schema.json') {
      parts.push(
        'Environment variables override the file (and the command line overrides them):',
        '',
        '| Variable | Setting |',
        '| --- | --- |',
        ...Object.entries(USER_CONFIG_ENV).map(([env, key]) => `| \`${env}\` | \`${key}\` |`),
        '',
        'An invalid value (a level that does not exist, a count that is not a whole number) is a configuration error naming the variable.',
        '',
      );
    }
  }
  return `${parts.join('\n').trimEnd()}\n`;
}

/** Every generated file: path relative to the repository root to its text. */
export function renderGenerated(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, text] of renderSchemas()) out.set(join('schema', name), text);
  out.set(join('docs', 'formats.md'), renderFormatsDoc());
  return out;
}

/** Writes the generated files under `repoRoot`; returns the paths that changed. */
export async function writeGenerated(repoRoot: string): Promise<string[]> {
  const changed: string[] = [];
  for (const [rel, text] of renderGenerated()) {
    const file = join(repoRoot, rel);
    const old = await readFile(file, 'utf8').catch(() => undefined);
    if (old === text) continue;
    await writeFileAtomic(file, text);
    changed.push(rel);
  }
  return changed;
}

const here = fileURLToPath(import.meta.url);
if (process.argv[1] !== undefined && resolve(process.argv[1]) === here) {
  // dist/src/playbook/write-schemas.js -> repository root
  const repoRoot = resolve(dirname(here), '../../..');
  const changed = await writeGenerated(repoRoot);
  process.stdout.write(changed.length === 0 ? 'schemas and docs/formats.md are up to date\n' : `wrote ${changed.join(', ')}\n`);
}
