/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })` never returns when a
 * folder exists but creating a child in it fails with ENOENT (anything under `/proc`, some
 * network and FUSE file systems): it creates the parent again, is told it exists, and retries
 * the child forever. These create one level at a time and report the level that failed, with
 * the system's error (its `path`, `syscall` and `code` intact).
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Creates `dir` and its missing parents (with `mode`, default 0o777 less the umask). */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  const abs = resolve(dir);
  const options = mode === undefined ? {} : { mode };
  try {
    await mkdir(abs, options);
    return;
  } catch (error) {
    if (code(error) === 'EEXIST' && (await stat(abs).then((s) => s.isDirectory(), () => false))) return;
    if (code(error) !== 'ENOENT' || dirname(abs) === abs) throw error;
  }
  await makeDirs(dirname(abs), mode);
  try {
    await mkdir(abs, options);
  } catch (error) {
    // Made by someone else meanwhile is as good.
    if (code(error) === 'EEXIST' && (await stat(abs).then((s) => s.isDirectory(), () => false))) return;
    throw error;
  }
}

/** {@link makeDirs}, synchronous. */
export function makeDirsSync(dir: string, mode?: number): void {
  const abs = resolve(dir);
  const options = mode === undefined ? {} : { mode };
  const isDir = (): boolean => {
    try {
      return statSync(abs).isDirectory();
    } catch {
      return false;
    }
  };
  try {
    mkdirSync(abs, options);
    return;
  } catch (error) {
    if (code(error) === 'EEXIST' && isDir()) return;
    if (code(error) !== 'ENOENT' || dirname(abs) === abs) throw error;
  }
  makeDirsSync(dirname(abs), mode);
  try {
    mkdirSync(abs, options);
  } catch (error) {
    if (code(error) === 'EEXIST' && isDir()) return;
    throw error;
  }
}
