/**
 * The built-in `:commands` of recipes: portable file operations that behave the same on
 * every system and are logged like shell commands.
 */
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { tempPathFor } from '../core/atomic.js';
import { chmod, copyFile, cp, lstat, mkdir, readFile, rename, rm, stat, symlink, utimes, writeFile, open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AiopError } from '../core/errors.js';
import { splitWords } from './words.js';
import { makeDirs } from '../core/make-dirs.js';

/** Everything a built-in may need from the engine. */
export interface BuiltinContext {
  /** Relative paths are resolved against it (the playbook root). */
  cwd: string;
  /** Expands `$VAR` in a template file's text. */
  expandTemplate: (text: string) => string;
  print: (text: string) => void;
  /** Fetches a URL through the artifact cache into a file. */
  fetch?: (url: string, dest: string) => Promise<void>;
  /** Runs a shell command (for `:sys`). */
  shell: (command: string) => Promise<void>;
}

/** Names of the built-in commands (without the leading colon). */
export const BUILTINS = ['copy', 'move', 'mkdir', 'delete', 'touch', 'chmod', 'symlink', 'template', 'gzip', 'print', 'fetch', 'sys'] as const;

function fail(command: string, message: string): never {
  throw new AiopError('command', `:${command}: ${message}`);
}

function flags(words: string[], allowed: string): { flags: Set<string>; rest: string[] } {
  const found = new Set<string>();
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (!/^-[a-z]+$/.test(w)) break;
    for (const f of w.slice(1)) {
      if (!allowed.includes(f)) break;
      found.add(f);
    }
  }
  return { flags: found, rest: words.slice(i) };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function copyOne(from: string, to: string): Promise<void> {
  const info = await lstat(from).catch(() => fail('copy', `no such file: ${from}`));
  await makeDirs(dirname(to));
  if (info.isDirectory()) await cp(from, to, { recursive: true, verbatimSymlinks: true });
  else if (info.isSymbolicLink()) {
    await rm(to, { force: true });
    await cp(from, to, { verbatimSymlinks: true });
  } else {
    // A plain file of its own is written in place, as cp does: its folder keeps its time, so
    // an incremental build need not list that folder again. A hard link, a read-only file or
    // anything else is removed first, so it is replaced, not written through.
    const existing = await lstat(to).catch(() => undefined);
    const inPlace = existing !== undefined && existing.isFile() && existing.nlink === 1 && (existing.mode & 0o200) !== 0 && existing.ino !== info.ino;
    if (inPlace) {
      try {
        await copyFile(from, to, constants.COPYFILE_FICLONE);
        return;
      } catch {
        // Not ours to write after all: replaced below.
      }
    }
    await rm(to, { force: true });
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }
}

/** The gzip header's OS byte: 3 (Unix) whatever zlib was built for, as `gzip -n` writes on every Unix. */
const OS_BYTE = 9;

/**
 * `gzip -9 -n -c FROM > TO` without the gzip program: no file name and no time in the
 * header (lintian's package-contains-timestamped-gzip), the same bytes on every machine,
 * the source's mode, written to a temp file and renamed so a failure leaves nothing behind.
 */
async function gzipFile(from: string, to: string): Promise<void> {
  const mode = (await stat(from).catch(() => fail('gzip', `no such file: ${from}`))).mode & 0o777;
  await makeDirs(dirname(to));
  const temp = tempPathFor(to);
  // Loaded here: zlib and streams cost start-up time that builds without `:gzip` never need.
  const [{ pipeline }, { Transform }, { createGzip }] = await Promise.all([import('node:stream/promises'), import('node:stream'), import('node:zlib')]);
  let first = true;
  const unixHeader = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length > OS_BYTE) chunk[OS_BYTE] = 3;
      first = false;
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(from), createGzip({ level: 9 }), unixHeader, createWriteStream(temp, { mode }));
    await chmod(temp, mode);
    await rename(temp, to);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Runs one built-in. `line` is the expanded command without its leading `:`.
 * Throws AiopError('command') on failure.
 */
export async function runBuiltin(line: string, ctx: BuiltinContext): Promise<void> {
  const space = line.search(/\s/);
  const name = space < 0 ? line : line.slice(0, space);
  const argText = space < 0 ? '' : line.slice(space + 1).trim();
  const at = (p: string): string => resolve(ctx.cwd, p);
  if (name === 'print') return ctx.print(argText);
  if (name === 'sys') return ctx.shell(argText);
  let words: string[];
  try {
    words = splitWords(argText);
  } catch (error) {
    fail(name, (error as Error).message);
  }
  switch (name) {
    case 'copy':
    case 'move': {
      const { rest } = flags(words, 'rf');
      if (rest.length < 2) fail(name, `needs a source and a destination: :${name} SOURCE... DEST`);
      const dest = at(rest[rest.length - 1]!);
      const sources = rest.slice(0, -1).map(at);
      const intoFolder = sources.length > 1 || rest[rest.length - 1]!.endsWith('/') || (await isDirectory(dest));
      for (const source of sources) {
        const to = intoFolder ? join(dest, basename(source)) : dest;
        if (name === 'copy') await copyOne(source, to);
        else {
          await makeDirs(dirname(to));
          try {
            await rename(source, to);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EXDEV') fail(name, `${source}: ${(error as Error).message}`);
            await copyOne(source, to);
            await rm(source, { recursive: true, force: true });
          }
        }
      }
      return;
    }
    case 'mkdir': {
      const { rest } = flags(words, 'p');
      if (rest.length === 0) fail(name, 'needs a folder name');
      for (const dir of rest) await makeDirs(at(dir));
      return;
    }
    case 'delete': {
      const { flags: f, rest } = flags(words, 'rf');
      for (const path of rest) {
        const target = at(path);
        const info = await lstat(target).catch(() => undefined);
        if (!info) {
          if (!f.has('f')) fail(name, `no such file: ${path} (use :delete -f to ignore)`);
          continue;
        }
        if (info.isDirectory() && !f.has('r')) fail(name, `${path} is a folder (use :delete -r)`);
        await rm(target, { recursive: true, force: true });
      }
      return;
    }
    case 'touch': {
      const now = new Date();
      for (const path of words) {
        const target = at(path);
        await makeDirs(dirname(target));
        await (await open(target, 'a')).close();
        await utimes(target, now, now);
      }
      return;
    }
    case 'chmod': {
      const [mode, ...paths] = words;
      if (!mode || !/^[0-7]{3,4}$/.test(mode) || paths.length === 0) fail(name, 'usage: :chmod MODE FILE... (MODE in octal, e.g. 0755)');
      for (const path of paths) await chmod(at(path), parseInt(mode, 8)).catch((e: Error) => fail(name, e.message));
      return;
    }
    case 'symlink': {
      const { flags: f, rest } = flags(words, 'f');
      if (rest.length !== 2) fail(name, 'usage: :symlink [-f] TARGET LINK');
      const link = at(rest[1]!);
      await makeDirs(dirname(link));
      if (f.has('f')) await rm(link, { force: true });
      await symlink(rest[0]!, link).catch((e: Error) => fail(name, e.message));
      return;
    }
    case 'template': {
      if (words.length !== 2) fail(name, 'usage: :template SOURCE DEST');
      const from = at(words[0]!);
      const to = at(words[1]!);
      const text = await readFile(from, 'utf8').catch(() => fail(name, `no such file: ${words[0]}`));
      const mode = (await stat(from)).mode & 0o777;
      await makeDirs(dirname(to));
      await rm(to, { force: true });
      await writeFile(to, ctx.expandTemplate(text), { mode });
      await chmod(to, mode);
      return;
    }
    case 'gzip': {
      if (words.length !== 2) fail(name, 'usage: :gzip SOURCE DEST (like gzip -9 -n -c SOURCE > DEST)');
      return gzipFile(at(words[0]!), at(words[1]!));
    }
    case 'fetch': {
      if (words.length < 1 || words.length > 2) fail(name, 'usage: :fetch URL [DEST]');
      if (!ctx.fetch) fail(name, 'downloads are not available here');
      const url = words[0]!;
      const dest = at(words[1] ?? basename(new URL(url).pathname));
      await makeDirs(dirname(dest));
      return ctx.fetch(url, dest);
    }
    default:
      throw new AiopError('command', `unknown built-in command ":${name}" (built-ins: ${BUILTINS.map((b) => ':' + b).join(' ')})`);
  }
}
