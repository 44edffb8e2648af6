/**
 * The playbook file formats, defined once in zod. The loader validates with these, and
 * `write-schemas.ts` generates the committed JSON Schemas under `schema/` from them
 * (a test fails when the two drift apart).
 */
import { z } from 'zod';

/** YAML turns `22.04` or `1` into numbers; every scalar we keep is a string. */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));
const nonEmpty = z.string().min(1);

/** Name of a variable: letters, digits, underscore; not starting with a digit. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const variables = z
  .record(z.string().regex(VARIABLE_NAME, 'variable names use letters, digits and _'), scalar)
  .describe('Variables: name to value. Values may refer to other variables with $VAR, ${VAR} or $(VAR).');

const compatibilityParameter = z.strictObject({
  name: z.string().regex(VARIABLE_NAME).describe('Parameter name, also the variable that holds its value'),
  choices: z.array(scalar).min(1).describe('The values this parameter accepts'),
  help: z.string().optional().describe('Shown by `aiop build TARGET -h`'),
});

const integrity = z
  .string()
  .regex(/^(sha256|sha384|sha512)-[A-Za-z0-9+/=]+$/, 'an SRI string such as sha256-<base64>');

export const artifactSchema = z
  .strictObject({
    name: nonEmpty.describe('Artifact name, used in messages'),
    url: nonEmpty.describe('https, http or file URL; may use ${var} of compatibility values and playbook variables'),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, '64 hexadecimal digits').optional().describe('Expected SHA-256 of the file, hexadecimal'),
    integrity: integrity.optional().describe('Expected digest as an SRI string: sha256-, sha384- or sha512-<base64>'),
    when: z
      .record(z.string(), z.union([scalar, z.array(scalar)]))
      .optional()
      .describe('Only for these compatibility values (a value or a list of values per parameter)'),
    extract: z.boolean().optional().describe('Extract by extension (.tar.gz .tgz .tar.xz .zip); false keeps the file'),
    strip_components: z.number().int().min(0).optional().describe('Leading path components dropped from archive entries'),
    dest: z.string().optional().describe('Place inside the package (a folder ending in / or a file path)'),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'an octal mode such as "0755"')
      .optional()
      .describe('Mode of the placed file(s), e.g. "0755"'),
  })
  .refine((a) => a.sha256 !== undefined || a.integrity !== undefined, {
    message: 'an artifact needs `sha256` or `integrity`',
  })
  // The same rule for editors, which only see the JSON Schema.
  .meta({ anyOf: [{ required: ['sha256'] }, { required: ['integrity'] }] });
export type ArtifactConfig = z.output<typeof artifactSchema>;

const debScripts = z.strictObject({
  preinst: z.string().optional(),
  postinst: z.string().optional(),
  prerm: z.string().optional(),
  postrm: z.string().optional(),
});

function relationList(field: string) {
  return z.array(z.string()).optional().describe(`${field}: field, one relation per item, e.g. "libc6 (>= 2.31)"`);
}

export const debSchema = z.strictObject({
  architecture: nonEmpty.describe('Debian architecture, may use ${arch}'),
  install_prefix: z.string().default('/usr').describe('Where the package content lands on the target system'),
  install_map: z.record(z.string(), z.string()).optional().describe('Package-relative folders placed elsewhere'),
  pre_depends: relationList('Pre-Depends'),
  depends: relationList('Depends'),
  recommends: relationList('Recommends'),
  suggests: relationList('Suggests'),
  enhances: relationList('Enhances'),
  breaks: relationList('Breaks'),
  conflicts: relationList('Conflicts'),
  replaces: relationList('Replaces'),
  provides: relationList('Provides'),
  section: z.string().optional().describe('Section: field, e.g. utils'),
  priority: z.enum(['required', 'important', 'standard', 'optional', 'extra']).optional().describe('Priority: field'),
  conffiles: z.array(z.string()).optional().describe('Package-relative paths; must land under /etc'),
  scripts: debScripts.optional().describe('Maintainer scripts: files relative to the playbook root'),
  compression: z.enum(['gzip', 'xz', 'zstd', 'none']).default('gzip').describe('Compression of data.tar'),
});
export type DebConfig = z.output<typeof debSchema>;

const rpmRelations = (field: string) => z.array(z.string()).optional().describe(`${field}, one relation per item, e.g. "glibc >= 2.31"`);

export const rpmSchema = z.strictObject({
  license: nonEmpty.describe('License: tag, e.g. MIT'),
  release: scalar.pipe(nonEmpty).default('1').describe('Release: tag'),
  architecture: nonEmpty.describe('Architecture, may use ${arch}; amd64 becomes x86_64, arm64 aarch64, all noarch'),
  group: z.string().optional().describe('Group: tag'),
  url: z.string().optional().describe('URL: tag (default: package.homepage)'),
  requires: rpmRelations('Requires'),
  provides: rpmRelations('Provides'),
  conflicts: rpmRelations('Conflicts'),
  obsoletes: rpmRelations('Obsoletes'),
  recommends: rpmRelations('Recommends'),
  suggests: rpmRelations('Suggests'),
  config_files: z.array(z.string()).optional().describe('Package-relative paths marked %config(noreplace)'),
  scripts: z
    .strictObject({ pre: z.string().optional(), post: z.string().optional(), preun: z.string().optional(), postun: z.string().optional() })
    .optional()
    .describe('Scriptlets: files relative to the playbook root'),
  install_prefix: z.string().default('/usr').describe('Where the package content lands on the target system'),
  install_map: z.record(z.string(), z.string()).optional().describe('Package-relative folders placed elsewhere'),
  compression: z.enum(['gzip', 'xz', 'zstd']).default('gzip').describe('Compression of the cpio payload'),
});
export type RpmConfig = z.output<typeof rpmSchema>;

export const systemTargetSchema = z.strictObject({
  compatibility: z.array(compatibilityParameter).describe('Ordered, all mandatory'),
  artifacts: z.array(artifactSchema).optional().describe('Remote files placed in the package before the recipe runs'),
  deb: debSchema.optional().describe('Settings of the Debian installer (`--installer deb`)'),
  rpm: rpmSchema.optional().describe('Settings of the rpm installer (`--installer rpm`)'),
});
export type SystemTargetConfig = z.output<typeof systemTargetSchema>;

export const toolSchema = z.strictObject({
  name: nonEmpty.describe('Tool name, as given to `aap --install`'),
  url: nonEmpty.describe('https, http or file URL of the archive or executable'),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, '64 hexadecimal digits').describe('Expected SHA-256, hexadecimal'),
  bin: nonEmpty.describe("The executable's path inside the artifact"),
});

export const inventorySchema = z.strictObject({
  package: z.strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian package name: lower-case letters, digits and + - . (at least two characters)')
      .describe('A valid Debian package name'),
    version: scalar.pipe(nonEmpty).describe('Package version (kept as written: 1.10 stays "1.10")'),
    maintainer: nonEmpty.describe('Name <email>'),
    description: nonEmpty.describe('Summary line, then the long description'),
    homepage: z.string().optional().describe('Homepage: field of the .deb'),
  }).describe('Package metadata'),
  variables: variables.optional(),
  system_targets: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/), systemTargetSchema)
    .describe('System targets by name, e.g. linux: the first argument of `aiop build`'),
  tools: z.array(toolSchema).optional().describe('Tools that `aap --install NAME` installs for recipes'),
});
export type InventoryConfig = z.output<typeof inventorySchema>;

export const recipeTargetSchema = z.strictObject({
  virtual: z.boolean().optional().describe('A name, not a file'),
  sources: z.array(z.string()).optional().describe('Files relative to the playbook root, or other targets'),
  depends: z.array(z.string()).optional().describe('Targets to make first'),
  commands: z.union([z.string(), z.array(z.string())]).optional().describe('Shell commands (/bin/sh, from the playbook root), or built-ins: :copy :move :mkdir :delete :touch :chmod :symlink :template :gzip :print :fetch :sys'),
});
export type RecipeTargetConfig = z.output<typeof recipeTargetSchema>;

export const recipeSchema = z.strictObject({
  variables: variables.optional(),
  include: z.array(z.string()).optional().describe('Other recipe files, beside this one or on the -I path'),
  children: z.array(z.string()).optional().describe('Folders each holding a recipe.yml (aap builds them too)'),
  default: z.string().optional().describe('What `aiop build` and a bare `aap` make'),
  targets: z
    .record(z.string().min(1), recipeTargetSchema)
    .default({})
    .describe('Targets by name: a path relative to the package folder, or a name when virtual'),
});
export type RecipeConfig = z.output<typeof recipeSchema>;

export const packageEntrySchema = z.strictObject({
  system_target: nonEmpty.describe('A system target of inventory_config.yml'),
  compat_args: z
    .union([z.record(z.string(), scalar), z.array(scalar)])
    .optional()
    .describe('Compatibility values: name to value, or a list in compatibility order'),
  matrix: z
    .record(z.string(), z.array(scalar).min(1))
    .optional()
    .describe('Values per compatibility name; expands to one package per combination'),
  options: z.record(z.string(), z.unknown()).optional().describe('Any `aiop build` option by its long name'),
});

export const packagesSchema = z.strictObject({
  packages: z.array(packageEntrySchema).describe('The packages `aiop build_all` builds'),
  ci: z
    .strictObject({
      command: z
        .string()
        .min(1)
        .optional()
        .describe('How a generated job runs aiop; default: the way build_all found it ("aiop" from PATH, "npx --no-install aiop" from the project\'s node_modules)'),
      image: z.string().optional().describe('Container image of the generated jobs (GitLab)'),
      before_script: z.array(z.string()).optional().describe('Commands run before aiop in each job (GitLab), for example "npm ci"'),
      tags: z.array(z.string()).optional().describe('Runner tags of the generated jobs'),
    })
    .optional()
    .describe('Generated CI pipelines (`build_all --ci`)'),
});
export type PackagesConfig = z.output<typeof packagesSchema>;

const levelSchema = z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'DISABLED']);

export const userConfigSchema = z.strictObject({
  download_retries: z.number().int().min(0).default(3).describe('Retries after a failed download (--retries)'),
  stdout_log_level: levelSchema.default('INFO').describe('Console log level (-sll)'),
  file_log_level: levelSchema.default('DEBUG').describe('Log file level (-fll)'),
  cache_dir: z.string().optional().describe('Default: $XDG_CACHE_HOME/aiop or ~/.cache/aiop'),
  log_dir: z.string().optional().describe('Default: .aiop/logs in the playbook'),
  log_keep: z.number().int().min(1).default(20).describe('How many log files to keep per playbook'),
  threads: z.number().int().min(1).default(4).describe('build_all parallel packages'),
  jobs: z.number().int().min(1).optional().describe('Recipe targets at once; default the number of CPUs'),
  connect_timeout: z.number().positive().default(30).describe('Seconds'),
  idle_timeout: z.number().positive().default(60).describe('Seconds'),
  ca_file: z.string().optional().describe('Extra CA certificates (PEM) to trust for https'),
  tools: z.array(toolSchema).optional().describe('Tools that `aap --install NAME` installs, besides the playbook\'s'),
  tool_dir: z.string().optional().describe('Where `aap --install` puts tools'),
});
export type UserConfig = z.output<typeof userConfigSchema>;

/** Every file format, by the name of its committed JSON Schema. */
export const FILE_SCHEMAS = {
  'inventory_config.schema.json': inventorySchema,
  'recipe.schema.json': recipeSchema,
  'packages.schema.json': packagesSchema,
  'user-config.schema.json': userConfigSchema,
} as const;
