/**
 * Writes archive entries into a fresh folder and refuses every entry that could land
 * outside it: `..` components, absolute paths, symlinks whose target resolves outside
 * (also through other symlinks of the same archive), hard links to anything but an
 * earlier regular file, and files written through an earlier symlink. The folder is
 * private to one extraction, so the entries it holds are exactly the ones this class
 * wrote and it can decide from memory, synchronously, before any byte is written.
 */
import { createWriteStream, lstatSync, rmSync } from 'node:fs';
import { chmod, copyFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AiopError } from '../../core/errors.js';
import { makeDirsSync } from '../../core/make-dirs.js';

/** What kind of thing an entry creates. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

/** Longest chain of symlinks we follow when checking where one points. */
const MAX_HOPS = 40;

/** Splits an archive path into components, refusing the ones that escape. */
export function safeComponents(raw: string, archive: string): string[] {
  const refuse = (why: string): never => {
    throw new AiopError('extract', `refusing archive entry "${raw}" in ${archive}: ${why}`);
  };
  if (raw.includes('\0')) refuse('the name contains a NUL byte');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) refuse('absolute path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse('path contains ".." and could leave the destination');
  return parts;
}

/**
 * Whether a symlink at `linkRel` with `target` resolves inside the root, following the
 * other symlinks of the archive as the kernel would (so `a -> .` then `b -> a/..` is caught).
 */
export function symlinkStaysInside(linkRel: string, target: string, links: ReadonlyMap<string, string>): boolean {
  if (target.startsWith('/') || target.includes('\0')) return false;
  const stack = linkRel.split('/').slice(0, -1);
  const queue = target.split('/');
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(part);
    const next = links.get(stack.join('/'));
    if (next !== undefined) {
      if (++hops > MAX_HOPS || next.startsWith('/')) return false;
      stack.pop();
      queue.unshift(...next.split('/'));
    }
  }
  return true;
}

/** The extraction target of one archive. */
export class SafeTree {
  readonly #links = new Map<string, string>();
  readonly #files = new Set<string>();
  readonly #dirs = new Set<string>();

  /**
   * @param root an empty folder private to this extraction
   * @param archive the archive's name, for messages
   * @param stripComponents leading path components dropped from every entry
   * @param mode when set, the mode of every regular file written
   */
  constructor(
    readonly root: string,
    readonly archive: string,
    readonly stripComponents: number,
    readonly mode?: number,
  ) {}

  #refuse(raw: string, why: string): never {
    throw new AiopError('extract', `refusing archive entry "${raw}" in ${this.archive}: ${why}`);
  }

  /** The entry's path relative to the root after stripping, or undefined when stripped away. */
  relPath(raw: string): string | undefined {
    const parts = safeComponents(raw, this.archive);
    if (parts.length <= this.stripComponents) return undefined;
    return parts.slice(this.stripComponents).join('/');
  }

  /** Refuses paths whose parent is a symlink (a write through it could go anywhere). */
  #checkParents(raw: string, rel: string): void {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.#links.has(prefix)) this.#refuse(raw, `it would be written through the symlink "${prefix}"`);
      if (this.#files.has(prefix)) this.#refuse(raw, `"${prefix}" is a file, not a folder`);
    }
    // Belt and braces: the disk must agree that no parent is a symlink.
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      dir = join(dir, part);
      try {
        if (lstatSync(dir).isSymbolicLink()) this.#refuse(raw, `it would be written through a symlink`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
        throw error;
      }
    }
  }

  /** Makes room for an entry at `rel`: refuses replacing a symlink or folder, drops an older file of the same name. */
  #prepare(raw: string, rel: string): string {
    this.#checkParents(raw, rel);
    if (this.#links.has(rel)) this.#refuse(raw, `it would replace the symlink "${rel}"`);
    if (this.#dirs.has(rel)) this.#refuse(raw, `it would replace the folder "${rel}"`);
    const abs = join(this.root, rel);
    makeDirsSync(join(abs, '..'), 0o755);
    for (const d of ancestors(rel)) this.#dirs.add(d);
    if (this.#files.has(rel)) {
      // A later entry of the same name wins, as with tar.
      rmSync(abs, { force: true });
      this.#files.delete(rel);
    }
    return abs;
  }

  /** A folder entry. */
  dir(raw: string): void {
    const rel = this.relPath(raw);
    if (rel === undefined) return;
    this.#checkParents(raw, rel);
    if (this.#links.has(rel)) this.#refuse(raw, `it would replace the symlink "${rel}"`);
    if (this.#files.has(rel)) this.#refuse(raw, `"${rel}" is already a file`);
    makeDirsSync(join(this.root, rel), 0o755);
    for (const d of [...ancestors(rel), rel]) this.#dirs.add(d);
  }

  /**
   * A regular file entry: checks are synchronous, so call it from the archive reader's
   * entry callback and let the returned promise finish the write.
   */
  file(raw: string, data: Readable, archiveMode: number | undefined): Promise<void> | undefined {
    const rel = this.relPath(raw);
    if (rel === undefined) return undefined;
    const abs = this.#prepare(raw, rel);
    this.#files.add(rel);
    const mode = this.mode ?? fileMode(archiveMode);
    // 'wx': O_EXCL never follows a symlink, whatever raced in.
    const out = createWriteStream(abs, { flags: 'wx', mode });
    return pipeline(data, out).then(() => chmod(abs, mode));
  }

  /** A symlink entry; its target must resolve inside the root. */
  symlink(raw: string, target: string): Promise<void> | undefined {
    const rel = this.relPath(raw);
    if (rel === undefined) return undefined;
    if (!symlinkStaysInside(rel, target, this.#links)) this.#refuse(raw, `symlink to "${target}" points outside the destination`);
    const abs = this.#prepare(raw, rel);
    this.#links.set(rel, target);
    return symlink(target, abs);
  }

  /** A hard link entry: copied from an earlier regular file of the archive (never linked). */
  async hardlink(raw: string, target: string): Promise<void> {
    const rel = this.relPath(raw);
    if (rel === undefined) return;
    let targetRel: string | undefined;
    try {
      targetRel = this.relPath(target);
    } catch {
      this.#refuse(raw, `hard link to "${target}" points outside the destination`);
    }
    if (targetRel === undefined || !this.#files.has(targetRel)) {
      this.#refuse(raw, `hard link to "${target}", which is not an earlier file of the archive`);
    }
    this.#checkParents(raw, targetRel);
    const abs = this.#prepare(raw, rel);
    const source = join(this.root, targetRel);
    await copyFile(source, abs);
    this.#files.add(rel);
    await chmod(abs, this.mode ?? (await stat(source)).mode & 0o777);
  }

  /** Re-checks every symlink against the final set (a later link may change where an earlier one leads). */
  finish(): void {
    for (const [rel, target] of this.#links) {
      if (!symlinkStaysInside(rel, target, this.#links)) this.#refuse(rel, `symlink to "${target}" points outside the destination`);
    }
  }
}

function ancestors(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Archive permission bits, without setuid/setgid/sticky, always readable and writable by the owner. */
function fileMode(mode: number | undefined): number {
  if (mode === undefined) return 0o644;
  return (mode & 0o777) | 0o600;
}
