/**
 * `aiop init [FOLDER] [--name NAME] [--target NAME]`: writes a new playbook that builds at
 * once. It never overwrites anything: when any file it would write exists, it writes nothing.
 */
import { link, lstat, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempPathFor } from '../core/atomic.js';
import { UsageError } from '../core/errors.js';
import type { InitOptions } from '../options/command-options.js';
import { INIT_PARAMETERS, initFiles, type InitFile } from '../init/templates.js';
import { EDITOR_SCHEMA_FOLDER, PLAYBOOK_SCHEMAS } from '../playbook/editor-schemas.js';
import { makeDirs } from '../core/make-dirs.js';

/** What `aiop init` needs from its surroundings. */
export interface InitIo {
  cwd: string;
  stdout: NodeJS.WritableStream;
  /** For tests: the moment written into the changelog. */
  now?: Date;
}

const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A Debian package name made from a folder name, or undefined when nothing usable is left. */
export function nameFromFolder(folder: string): string | undefined {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9+.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-.]+$/, '');
  return DEB_NAME.test(name) ? name : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** aiop's own `schema/` folder, beside `dist/` in the installed package. */
export function ownSchemaDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schema');
}

/** Writes `content` to `file` only if `file` does not exist, atomically (temp file, then link). */
async function createExclusive(file: string, content: string, mode: number): Promise<boolean> {
  await makeDirs(dirname(file));
  const tmp = tempPathFor(file);
  try {
    await writeFile(tmp, content, { mode });
    await chmod(tmp, mode);
    await link(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Runs `aiop init`. Returns the exit status; refusals are UsageErrors (exit 2). */
export async function initCommand(options: InitOptions, io: InitIo): Promise<number> {
  const root = resolve(io.cwd, options.folder ?? '.');
  const name = options.name ?? nameFromFolder(basename(root)) ?? 'hello';
  if (!DEB_NAME.test(name)) {
    throw new UsageError(`--name "${name}" is not a Debian package name`, 'use lower-case letters, digits and + - . (at least two characters, starting with a letter or digit)');
  }
  const target = options.target ?? 'linux';
  if (!TARGET_NAME.test(target)) {
    throw new UsageError(`--target "${target}" is not a valid system target name`, 'use letters, digits and _ . - (starting with a letter or digit)');
  }
  try {
    if (!(await stat(root)).isDirectory()) throw new UsageError(`${root} exists and is not a folder`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }

  const files = initFiles({ name, target, now: io.now ?? new Date() });
  // The schemas beside the files, where their yaml-language-server comments point.
  for (const schema of Object.values(PLAYBOOK_SCHEMAS)) {
    files.push({ path: `.aiop/${EDITOR_SCHEMA_FOLDER}/${schema}`, content: await readFile(join(ownSchemaDir(), schema), 'utf8') });
  }
  const present: InitFile[] = [];
  for (const f of files) if (!f.optional && (await exists(join(root, f.path)))) present.push(f);
  if (present.length > 0) {
    throw new UsageError(
      `${present.length === 1 ? 'a file' : 'files'} already there, nothing written: ${present.map((f) => join(relative(io.cwd, root) || '.', f.path)).join(', ')}`,
      'aiop init never overwrites files: choose another folder, or move these away',
    );
  }
  const written: string[] = [];
  const kept: string[] = [];
  for (const f of files) {
    const ok = await createExclusive(join(root, f.path), f.content, f.executable ? 0o755 : 0o644);
    if (ok) written.push(f.path);
    else if (f.optional) kept.push(f.path);
    else throw new UsageError(`${join(root, f.path)} appeared while aiop init was writing; it was left as it is`);
  }

  const shown = relative(io.cwd, root) || '.';
  const values = INIT_PARAMETERS.map((p) => p.choices[0]).join(' ');
  const lines = [`Wrote a playbook for package "${name}" (system target "${target}") in ${shown}:`, ...written.map((p) => `  ${p}`)];
  if (kept.length > 0) lines.push(`Kept your own ${kept.join(', ')} (add ".build/" to it).`);
  lines.push(`Editors with the YAML language server complete and check the files against .aiop/${EDITOR_SCHEMA_FOLDER}/ ("aiop schema" refreshes it).`);
  lines.push('', 'Next:', `  ${shown === '.' ? '' : `cd ${quoteShell(shown)} && `}aiop build ${target} ${values}`);
  lines.push(`  (then: aiop build ${target} ${values} --zip_pack --installer deb; aiop validate; aiop targets)`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Quotes a path for the printed next command only when it needs it. */
function quoteShell(path: string): string {
  return /^[A-Za-z0-9_./+-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
