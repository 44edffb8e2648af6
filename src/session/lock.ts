/**
 * One writer per package: `aiop build` (and each package of `build_all`) holds
 * `.aiop/state/packages/<id>/lock` while it writes the package folder, its outputs and its
 * state. The file is created with O_EXCL and holds the owner's pid and a nonce; a lock whose
 * pid is gone (a killed build) is stale and is taken over. A second build of the same
 * package waits, polling, with one message saying whom it waits for, up to a limit
 * (`AIOP_LOCK_WAIT` seconds, default 600; 0 fails at once); then it fails clearly, naming
 * the lock file and its owner.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AiopError } from '../core/errors.js';
import { log, type Emit } from '../core/events.js';
import { refuseOwnLinks } from '../store/own-paths.js';
import { cleanupOnExit } from '../core/exit-cleanup.js';
import { makeDirsSync } from '../core/make-dirs.js';

/** The lock file of a package's state folder. */
export function lockPath(stateDir: string): string {
  return join(stateDir, 'lock');
}

/** Whether a lock file is there (held, or left by a killed build): a no-op answer could be stale. */
export function lockPresent(stateDir: string): boolean {
  return existsSync(lockPath(stateDir));
}

export interface LockOptions {
  /** How long to wait for another build, in milliseconds (default: `AIOP_LOCK_WAIT` or 600 s). */
  waitMs?: number;
  /** How often to look again (default 200 ms). */
  pollMs?: number;
  emit?: Emit;
  pkg?: string;
  signal?: AbortSignal;
}

/** A held lock; `release()` removes the file if it is still this holder's. */
export interface PackageLock {
  file: string;
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  nonce: string;
}

/** The default wait, from `AIOP_LOCK_WAIT` (seconds) when it is a number >= 0. */
export function lockWaitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['AIOP_LOCK_WAIT'];
  const seconds = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 600_000;
}

/** Whether a process with this pid exists (EPERM: it exists but is someone else's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): Owner | undefined {
  const match = /^(\d+) ([0-9a-f]+)\n?$/.exec(text);
  return match ? { pid: Number(match[1]), nonce: match[2]! } : undefined;
}

// The file operations here are synchronous: each is one or two system calls on a small
// file, cheaper than a round trip through the thread pool (the incremental path takes the
// lock on every run).
function readOwner(file: string): { owner?: Owner; ageMs: number } | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const info = statSync(file);
    const owner = parseOwner(text);
    return { ...(owner ? { owner } : {}), ageMs: Date.now() - info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function tryCreate(file: string, owner: Owner): boolean {
  try {
    const fd = openSync(file, 'wx');
    try {
      writeSync(fd, `${owner.pid} ${owner.nonce}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Moves a stale lock aside and deletes it. Moving first means that of two builds that
 * find the same stale lock, only one removes it; if what was moved turns out to be a live
 * lock taken meanwhile, it is put back (link fails rather than overwrite a newer one).
 */
function removeStale(file: string, seen: Owner | undefined): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = parseOwner(quietly(() => readFileSync(aside, 'utf8')) ?? '');
  const same = seen === undefined ? moved === undefined || !pidAlive(moved.pid) : moved?.nonce === seen.nonce;
  if (!same) quietly(() => linkSync(aside, file));
  quietly(() => unlinkSync(aside));
}

/** The value of `f`, or undefined when it throws (for clean-ups whose failure changes nothing). */
function quietly<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** A lock file with no readable owner is being written right now, unless it is this old. */
const UNREADABLE_STALE_MS = 5_000;

/**
 * Takes the package's lock, waiting for another build that holds it.
 * @throws AiopError('destination') when the wait runs out, AiopError('interrupted') on abort.
 */
export function acquirePackageLock(stateDir: string, options: LockOptions = {}): Promise<PackageLock> {
  // The lock is created through these folders: a link among them would put it elsewhere.
  refuseOwnLinks([dirname(dirname(stateDir)), dirname(stateDir), stateDir].map((path) => ({ path, what: 'the state folder' })), false);
  return acquireLock(lockPath(stateDir), { ...options, holder: 'another aiop build of this package' });
}

/** Removes a lock file whose owner is gone (a killed build's); leaves a live one. */
export async function removeLockIfStale(file: string): Promise<void> {
  const current = quietly(() => readOwner(file));
  if (current === undefined) return;
  const stale = current.owner ? current.owner.pid !== process.pid && !pidAlive(current.owner.pid) : current.ageMs > UNREADABLE_STALE_MS;
  if (stale) removeStale(file, current.owner);
}

/**
 * Takes the lock file `file` (same rules as the package lock), for anything that several
 * builds update in turn. `holder` names who holds it, for messages.
 */
export async function acquireLock(file: string, options: LockOptions & { holder: string }): Promise<PackageLock> {
  const above = heldAbove(file);
  if (above !== undefined) {
    // A command of the build holding it (a recipe running $AAP into its own folder): waiting would never end.
    if (options.emit) log(options.emit, 'DEBUG', 'lock', `${file} is held by the build that runs this command (pid ${above}): building under it`, options.pkg);
    return { file, release: async () => undefined };
  }
  const stateDir = dirname(file);
  const waitMs = options.waitMs ?? lockWaitFromEnv();
  const pollMs = options.pollMs ?? 200;
  const me: Owner = { pid: process.pid, nonce: randomBytes(8).toString('hex') };
  makeDirsSync(stateDir);
  const started = Date.now();
  let announced = false;
  for (;;) {
    if (tryCreate(file, me)) break;
    const current = readOwner(file);
    if (current === undefined) continue; // released between our two looks
    const stale = current.owner ? !pidAlive(current.owner.pid) : current.ageMs > UNREADABLE_STALE_MS;
    if (stale) {
      if (options.emit) log(options.emit, 'INFO', 'lock', `taking over a stale lock ${file} (its build, pid ${current.owner?.pid ?? '?'}, is gone)`, options.pkg);
      removeStale(file, current.owner);
      continue;
    }
    const holder = current.owner ? `pid ${current.owner.pid}` : 'another process';
    if (Date.now() - started >= waitMs) {
      throw new AiopError(
        'destination',
        `${options.holder} (${holder}) is still running and holds ${file}; ` +
          `waited ${Math.round(waitMs / 1000)} s (AIOP_LOCK_WAIT). If no such build runs, delete that file.`,
      );
    }
    if (!announced && options.emit) {
      log(options.emit, 'WARNING', 'lock', `waiting for ${options.holder} (${holder}) to finish (lock ${file})`, options.pkg);
      announced = true;
    }
    if (options.signal?.aborted) throw new AiopError('interrupted', `interrupted while waiting for ${options.holder}`);
    await sleep(Math.min(pollMs, Math.max(1, waitMs - (Date.now() - started))));
  }
  const entry = `${file}=${me.nonce}`;
  setHeld([...held(), entry]);
  const releaseNow = (): void => {
    setHeld(held().filter((e) => e !== entry));
    const current = quietly(() => readOwner(file));
    if (current?.owner?.nonce === me.nonce) rmSync(file, { force: true });
  };
  // Released even when the process exits without coming back here (a second Ctrl-C).
  const forget = cleanupOnExit(releaseNow);
  return {
    file,
    async release() {
      forget();
      releaseNow();
    },
  };
}

/**
 * The locks this process holds, passed to the commands it runs (they inherit the
 * environment; no `AIOP_` prefix, which would make it part of a build request's key):
 * `file=nonce` per line. A command that builds into the same folder finds its
 * lock there, still held by its ancestor, and builds under it instead of waiting for itself.
 */
const HELD = '_AIOP_HELD_LOCKS';

function held(): string[] {
  return (process.env[HELD] ?? '').split('\n').filter((e) => e !== '');
}

function setHeld(entries: string[]): void {
  if (entries.length === 0) delete process.env[HELD];
  else process.env[HELD] = entries.join('\n');
}

/** The pid of the live ancestor holding this very lock (by its nonce), or undefined. */
function heldAbove(file: string): number | undefined {
  const entries = held();
  if (entries.length === 0) return undefined;
  const owner = quietly(() => readOwner(file))?.owner;
  if (owner === undefined || !entries.includes(`${file}=${owner.nonce}`) || owner.pid === process.pid || !pidAlive(owner.pid)) return undefined;
  return owner.pid;
}
