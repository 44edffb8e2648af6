/**
 * `aap --install PACKAGE`: installs a tool declared under `tools:` (name, url, sha256, bin)
 * into the user's tool folder, with `bin/<name>` linked to its executable. Recipe commands
 * run by `aap` get that `bin` folder first on their PATH ({@link toolBinDir}).
 *
 * Layout of the tool folder: `<tool_dir>/<name>/` holds the unpacked tool (replaced as a
 * whole on reinstall), `<tool_dir>/bin/<name>` is a relative symlink into it.
 */
import { chmod, mkdir, mkdtemp, rename, rm, stat, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import type { FetchSettings } from '../artifacts/place.js';
import { tempPathFor } from '../core/atomic.js';
import { AiopError } from '../core/errors.js';
import type { UserConfig } from '../playbook/schema.js';
import { makeDirs } from '../core/make-dirs.js';

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
 * the `bin/<name>` link. The download goes through the artifact cache and is verified against
 * the declared sha256; an archive (.tar.gz, .tgz, .tar.xz, .zip) is extracted with the same
 * safe extraction as artifacts, any other file is kept as the tool's `bin`. Throws
 * AiopError('config') for an unknown tool, AiopError('download'/'extract') when fetching or
 * unpacking fails; then the installed tool, if any, is left as it was.
 */
export async function installTool(
  name: string,
  tools: readonly ToolSpec[],
  options: { dir: string; settings: FetchSettings },
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
  const { dir, settings } = options;
  await makeDirs(dir);
  const work = await mkdtemp(join(dir, `.${tool.name}.install-`));
  try {
    const download = join(work, 'download');
    // The download stack is loaded only when a tool is really installed.
    const { archiveKindOf, extractArchive, fetchUrl, sriFromSha256Hex } = await import('../artifacts/index.js');
    await fetchUrl(tool.url, download, settings, sriFromSha256Hex(tool.sha256.toLowerCase()), 'hex');

    const unpacked = join(work, 'tool');
    await mkdir(unpacked);
    const kind = archiveKindOf(tool.url);
    if (kind !== undefined) await extractArchive(download, kind, unpacked, { archive: tool.url, stripComponents: 0 });
    else {
      await makeDirs(dirname(join(unpacked, bin)));
      await rename(download, join(unpacked, bin));
    }
    const exe = join(unpacked, bin);
    const info = await stat(exe).catch(() => undefined);
    if (!info?.isFile()) throw new AiopError('extract', `tool "${tool.name}": ${tool.url} has no file "${bin}" (the bin: of the tool)`);
    await chmod(exe, (info.mode & 0o777) | 0o755);

    // Replace the installed folder as a whole: move the old one aside, then the new one in.
    const final = join(dir, tool.name);
    await rename(final, join(work, 'old')).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(unpacked, final);

    const link = join(dir, 'bin', tool.name);
    await makeDirs(dirname(link));
    const tmpLink = tempPathFor(link);
    await symlink(relative(dirname(link), join(final, bin)), tmpLink);
    await rename(tmpLink, link);
    settings.emit({ type: 'log', level: 'INFO', source: 'install', message: `installed ${tool.name} into ${final} (${link})` });
    return link;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
