/**
 * `aap --install PACKAGE`: installs a tool declared under `tools:` (name, url, sha256, bin)
 * into the user's tool folder, with `bin/<name>` linked to its executable. Recipe commands
 * run by `aap` get that `bin` folder first on their PATH ({@link toolBinDir}).
 *
 * Layout of the tool folder: `<tool_dir>/<name>/` holds the unpacked tool (replaced as a
 * whole on reinstall), `<tool_dir>/bin/<name>` is a relative symlink into it.
 */
import { chmod, lstat, mkdir, mkdtemp, rename, rm, stat, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { extract } from 'tar';
import { tempPathFor } from '../core/atomic.js';
import { AiopError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { UserConfig } from '../playbook/schema.js';
import { downloadToFile } from './aap-fetch.js';

/** A tool declaration (inventory_config.yml or user configuration `tools:`). */
export interface ToolSpec {
  name: string;
  url: string;
  sha256: string;
  bin: string;
}

/** The user's tool folder: `tool_dir`, else `$XDG_DATA_HOME/aiop/tools`, else `~/.local/share/aiop/tools`. */
export function toolDir(config: Pick<UserConfig, 'tool_dir'>, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  if (config.tool_dir) return resolve(home, config.tool_dir.replace(/^~(?=\/|$)/, home));
  // The XDG base directory spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'aiop', 'tools');
  return join(home, '.local', 'share', 'aiop', 'tools');
}

/** The folder that recipe commands get first on their PATH. */
export function toolBinDir(config: Pick<UserConfig, 'tool_dir'>, env: NodeJS.ProcessEnv): string {
  return join(toolDir(config, env), 'bin');
}

/** A tool name that is safe as a folder and link name. */
const TOOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function isTarGz(url: string): boolean {
  const path = new URL(url).pathname.toLowerCase();
  return path.endsWith('.tar.gz') || path.endsWith('.tgz');
}

/** Refuses a `bin` that would point outside the tool's own folder. */
function safeBin(tool: ToolSpec): string {
  const normal = posix.normalize(tool.bin.replace(/\\/g, '/'));
  if (posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../') || normal === '.') {
    throw new AiopError('config', `tool "${tool.name}": bin "${tool.bin}" must be a path inside the tool`);
  }
  return normal;
}

/**
 * Installs `name` from `tools` (the first declaration of that name wins). Returns the path of
 * the `bin/<name>` link. Throws UsageError-like AiopError('config') for an unknown tool, and
 * AiopError('download'/'extract') when fetching or unpacking fails; then nothing is changed.
 */
export async function installTool(
  name: string,
  tools: readonly ToolSpec[],
  options: { dir: string; emit: Emit; signal?: AbortSignal },
): Promise<string> {
  const tool = tools.find((t) => t.name === name);
  if (!tool) {
    const known = [...new Set(tools.map((t) => t.name))];
    throw new AiopError(
      'config',
      `no tool named "${name}" is declared under tools: (${known.length > 0 ? `declared: ${known.join(', ')}` : 'none declared in .aiop/inventory_config.yml or the user configuration'})`,
    );
  }
  if (!TOOL_NAME.test(tool.name) || tool.name === 'bin') {
    throw new AiopError('config', `tool name "${tool.name}" cannot be used as a folder name`);
  }
  const bin = safeBin(tool);
  const { dir, emit } = options;
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, `.${tool.name}.install-`));
  try {
    const archive = join(work, 'download');
    emit({ type: 'download-start', name: tool.name, url: tool.url, attempt: 1 });
    const got = await downloadToFile(tool.url, archive, options.signal);
    if (got.sha256 !== tool.sha256.toLowerCase()) {
      throw new AiopError('download', `${tool.url}: checksum mismatch: expected sha256 ${tool.sha256.toLowerCase()}, got ${got.sha256}`);
    }
    emit({ type: 'download-done', name: tool.name, url: tool.url, bytes: got.bytes, fromCache: false, integrity: `sha256:${got.sha256}` });

    const unpacked = join(work, 'tool');
    await mkdir(unpacked);
    if (isTarGz(tool.url)) await extractTarGz(archive, unpacked, tool.url);
    else {
      await mkdir(dirname(join(unpacked, bin)), { recursive: true });
      await rename(archive, join(unpacked, bin));
    }
    const exe = join(unpacked, bin);
    const info = await stat(exe).catch(() => undefined);
    if (!info?.isFile()) throw new AiopError('extract', `tool "${tool.name}": ${tool.url} has no file "${bin}" (the bin: of the tool)`);
    await chmod(exe, (info.mode & 0o777) | 0o755);

    // Replace the installed folder as a whole: move the old one aside, then the new one in.
    const final = join(dir, tool.name);
    const old = join(work, 'old');
    await rename(final, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(unpacked, final);

    const link = join(dir, 'bin', tool.name);
    await mkdir(dirname(link), { recursive: true });
    const tmpLink = tempPathFor(link);
    await symlink(relative(dirname(link), join(final, bin)), tmpLink);
    await rename(tmpLink, link);
    emit({ type: 'log', level: 'INFO', source: 'install', message: `installed ${tool.name} into ${final} (${link})` });
    return link;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Extracts a .tar.gz, refusing entries that would land outside `into`. */
async function extractTarGz(archive: string, into: string, url: string): Promise<void> {
  const inside = (path: string): boolean => {
    const rel = relative(into, path);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  let refused: string | undefined;
  try {
    await extract({
      file: archive,
      cwd: into,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const target = resolve(into, path);
        const link = 'linkpath' in entry ? (entry.linkpath as string | undefined) : undefined;
        const type = 'type' in entry ? String(entry.type) : '';
        const linkTarget =
          link === undefined ? undefined : type === 'SymbolicLink' ? resolve(dirname(target), link) : resolve(into, link);
        if (!inside(target) || (linkTarget !== undefined && (isAbsolute(link!) || !inside(linkTarget)))) {
          refused ??= path;
          return false;
        }
        return true;
      },
    });
  } catch (error) {
    throw new AiopError('extract', `${url}: cannot extract: ${(error as Error).message}`, { cause: error });
  }
  if (refused !== undefined) throw new AiopError('extract', `${url}: refused entry "${refused}": it points outside the tool folder`);
  // An archive that unpacks to nothing at all is surely not the tool.
  if ((await lstat(into).catch(() => undefined)) === undefined) throw new AiopError('extract', `${url}: empty archive (${basename(archive)})`);
}
