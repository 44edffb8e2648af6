/**
 * Streaming .tar.gz / .tar.xz extraction through {@link SafeTree}. tar's Parser reads the
 * headers (gzip is detected by it; xz goes through `xz -dc`), and this module decides what
 * each entry becomes: tar's own Unpack is not used so that every safety rule lives in one place.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { AiopError } from '../../core/errors.js';
import { SafeTree } from './safe-tree.js';
import { ExpansionBudget } from './limits.js';

/** Whether the file starts as gzip does (a .tar.gz may also be a plain tar: tar reads both). */
async function startsWithGzipMagic(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Extracts a tar archive (gzip- or xz-compressed) into the tree. */
export async function extractTar(file: string, kind: 'tar.gz' | 'tar.xz', tree: SafeTree): Promise<void> {
  const pending: Promise<void>[] = [];
  let failure: unknown;
  let track: (p: Promise<void> | undefined) => void = () => undefined;
  const gzip = kind === 'tar.gz' && (await startsWithGzipMagic(file));
  const parser = new Parser({ strict: true });
  // Small reads: each becomes at most one inflated chunk's worth at a time downstream.
  const input = createReadStream(file, { highWaterMark: 64 * 1024 });
  let compressedBytes = 0;
  input.on('data', (chunk) => (compressedBytes += chunk.length));
  const budget = new ExpansionBudget(tree.archive, () => compressedBytes);
  let xzError: Promise<void> = Promise.resolve();
  let source: Readable = input;
  let child: ReturnType<typeof spawn> | undefined;
  if (kind === 'tar.xz') {
    child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = child;
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    xzError = new Promise((resolve, reject) => {
      proc.on('error', (error) => reject(new AiopError('extract', `cannot run xz to extract ${tree.archive}: ${error.message} (apt-get install xz-utils)`)));
      proc.on('close', (code, signal) => {
        if (code === 0 || failure !== undefined) resolve();
        else reject(new AiopError('extract', `xz could not decompress ${tree.archive}: ${stderr.trim() || `exit ${code ?? signal}`}`));
      });
    });
    input.pipe(proc.stdin!);
    proc.stdin!.on('error', () => undefined);
    source = proc.stdout!;
  } else if (gzip) {
    // Inflated here, not by tar's parser: its inflater turns each chunk read into all of its
    // output at once, which the parser then holds (a 1 MB read of a 500:1 archive is 500 MB).
    // zlib's stream hands on small chunks and waits while the file being written catches up.
    const gunzip = createGunzip();
    input.pipe(gunzip);
    source = gunzip;
  }
  const counted = source.pipe(budget.counter());
  counted.on('error', () => undefined);

  const done = new Promise<void>((resolve, reject) => {
    const fail = (error: unknown): void => {
      if (failure === undefined) failure = error;
      input.destroy();
      child?.kill();
      reject(error);
    };
    track = (p) => {
      if (p === undefined) return;
      pending.push(p);
      p.catch(fail);
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (failure !== undefined) {
        entry.resume();
        return;
      }
      try {
        handleEntry(entry, tree, track, pending);
      } catch (error) {
        entry.resume();
        fail(error);
      }
    });
    parser.on('error', (error: Error) =>
      fail(error instanceof AiopError ? error : new AiopError('extract', `${tree.archive} is not a valid tar archive: ${error.message}`)),
    );
    parser.on('end', () => resolve());
    input.on('error', fail);
    if (source === input) source.on('error', fail);
    else source.on('error', (error: Error) => fail(kind === 'tar.xz' ? error : new AiopError('extract', `${tree.archive} is not a valid gzip file: ${error.message}`)));
    counted.on('error', fail);
  });
  counted.pipe(parser as unknown as NodeJS.WritableStream);
  await done;
  await xzError;
  await Promise.all(pending);
  tree.finish();
}

function handleEntry(entry: ReadEntry, tree: SafeTree, track: (p: Promise<void> | undefined) => void, pending: Promise<void>[]): void {
  const raw = entry.path;
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      const p = tree.file(raw, entry as unknown as Readable, entry.mode);
      if (p) track(p.catch((error: unknown) => Promise.reject(wrap(error, raw, tree.archive))));
      else entry.resume();
      return;
    }
    case 'Directory':
      tree.dir(raw);
      entry.resume();
      return;
    case 'SymbolicLink':
      entry.resume();
      track(tree.symlink(raw, entry.linkpath ?? ''));
      return;
    case 'Link': {
      entry.resume();
      // The copy waits for the earlier file it copies to be fully written.
      const before = Promise.all(pending.slice());
      track(before.then(() => tree.hardlink(raw, entry.linkpath ?? '')));
      return;
    }
    default:
      entry.resume();
      throw new AiopError('extract', `refusing archive entry "${raw}" in ${tree.archive}: unsupported entry type ${entry.type}`);
  }
}

function wrap(error: unknown, raw: string, archive: string): unknown {
  if (error instanceof AiopError) return error;
  return new AiopError('extract', `cannot write archive entry "${raw}" of ${archive}: ${(error as Error).message}`);
}
