/**
 * Runs recipe shell commands in /bin/sh, each in its own process group so that an
 * interrupted build can end the whole group: the command and everything it started.
 *
 * Why launchers: on Linux libuv starts a child with fork(), and Node's main thread waits in
 * `spawn()` until the child has exec'd. Forking a process with a large heap copies its page
 * tables, so in a 2,000-target build each spawn held aiop's event loop for about 5 ms (the
 * profile put half the wall time in `ChildProcess.spawn`) while ninja needed about 3 ms per
 * command in all. So, where it can, aiop starts small bash launchers (one per job slot,
 * reused) and hands them commands over a pipe: a launcher forks cheaply and runs
 * `/bin/sh -c COMMAND` as a job in its own process group, in the same folder and
 * environment, with stdin from /dev/null, one command at a time. Where a launcher cannot be
 * used (not Linux, no bash, no /proc child lists, an environment that changes how bash
 * starts, a NUL in the command) the command is spawned directly, in a new session.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { cleanupOnExit } from '../core/exit-cleanup.js';

/**
 * `child_process` (with net, dgram and perf_hooks behind it) is required on the first
 * command, not imported: a build whose commands are all built-ins never needs it, and the
 * incremental fast path loads this module for its slots.
 */
function spawn(...args: Parameters<typeof import('node:child_process').spawn>): ChildProcess {
  childProcess ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return childProcess.spawn(...args);
}
let childProcess: typeof import('node:child_process') | undefined;

/** Directly spawned commands still running. */
const live = new Set<ChildProcess>();
/** Launchers running a command right now. */
const busy = new Set<Launcher>();

/** Ends every running command's process group: SIGTERM now, SIGKILL after `graceMs` (0: SIGKILL now). */
export function killAllCommands(graceMs = 1500): Promise<void> {
  const children = [...live];
  const launchers = [...busy];
  const first = graceMs <= 0 ? 'SIGKILL' : 'SIGTERM';
  for (const child of children) signalGroup(child, first);
  for (const launcher of launchers) launcher.abort(first);
  if (children.length === 0 && launchers.length === 0) return Promise.resolve();
  const allDone = (): boolean => children.every((c) => !live.has(c)) && launchers.every((l) => !busy.has(l));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const child of children) if (live.has(child)) signalGroup(child, 'SIGKILL');
      for (const launcher of launchers) if (busy.has(launcher)) launcher.abort('SIGKILL');
      resolve();
    }, graceMs);
    timer.unref();
    const check = setInterval(() => {
      if (allDone()) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    check.unref();
  });
}

/**
 * Process groups this process has told to stop. A group can outlive its leader: `sh -c "sh -c
 * '...'"` whose inner shell ignores SIGTERM leaves the group alive after the outer shell dies,
 * and the build, seeing its command end, would exit before the SIGKILL. So every such group
 * that still has a member gets SIGKILL when aiop exits, however it exits.
 */
const stopped = new Set<number>();
let killOnExit = false;

function noteStopped(pgid: number): void {
  stopped.add(pgid);
  if (killOnExit) return;
  killOnExit = true;
  cleanupOnExit(() => {
    for (const group of stopped) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // No member left.
      }
    }
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  noteStopped(child.pid);
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/** Signals the process group led by `pid`, or the process alone when it has not made its group yet. */
function signalPid(pid: number, signal: NodeJS.Signals): void {
  noteStopped(pid);
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The command never started: it was queued and then cancelled ({@link CommandSlots}). */
  skipped?: boolean;
}

export interface ShellOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
}

/**
 * Runs `command` with /bin/sh -c in its own session and process group, stdin from /dev/null.
 * Output is handed to `onOutput` a line at a time. An abort signal ends the command's
 * process group (SIGTERM); the result then names the signal.
 */
export function runShell(command: string, options: ShellOptions): Promise<ShellResult> {
  if (options.signal?.aborted) return Promise.resolve({ code: null, signal: 'SIGTERM' });
  const bash = launcherSupport();
  if (bash !== undefined && !command.includes('\0')) {
    const key = envKey(options.cwd, options.env);
    if (key !== undefined) return takeLauncher(key, options, bash).run(command, options);
  }
  return spawnShell(command, options);
}

/** Starts `/bin/sh -c command` straight from Node: the portable way, and the fallback. */
export function spawnShell(command: string, options: ShellOptions): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(child);
    const onAbort = (): void => signalGroup(child, 'SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = new LineSplitter((line) => options.onOutput(stream, line));
      const source = child[stream]!;
      source.setEncoding('utf8');
      source.on('data', (chunk: string) => lines.push(chunk));
      source.on('end', () => lines.flush());
    }
    child.on('error', (error) => {
      live.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code, signal });
    });
  });
}

/** Options of a command run through {@link CommandSlots}. */
export interface SlotRunOptions extends ShellOptions {
  /** Called when the command starts; a queued command starts as the one before it in its launcher ends. */
  onStart?: () => void;
  /** Checked just before the command is handed out: false cancels it (the result says `skipped`). */
  shouldStart?: () => boolean;
  /**
   * The target the command belongs to (any object): a target keeps its slot from its first
   * command to its last, so `-j 1` still runs one target at a time. Without it the command
   * is a target of its own.
   */
  owner?: object;
  /** Whether this is its owner's last command (default true): only behind such a command may another target's command be queued. */
  last?: boolean;
}

interface Slot {
  launcher: Launcher | undefined;
  /** Commands handed to this slot and not finished: the running one and at most one queued. */
  outstanding: number;
  /** Per outstanding command, oldest first: whether it is its owner's last. */
  lasts: boolean[];
  /** Taken whole by {@link CommandSlots.exclusive}. */
  held: boolean;
  /** The targets using this slot: the running one, and the one queued behind its last command. */
  owners: Set<object>;
}

/**
 * A build's job slots: never more than `size` commands (and targets) running at once, one
 * per slot. While a target's last shell command runs, the next target's first one may be
 * queued in the same launcher, which then goes on to it without waiting for Node (the
 * round trip through Node's event loop left the slot idle after every command, longer the
 * busier the machine). A caller only gets that when it calls `run` for more targets than
 * `size` at once; a queued command is cancelled (it comes back `skipped`) when the command
 * before it in the same launcher fails, or by {@link cancelQueued}.
 */
export class CommandSlots {
  private readonly slots: Slot[];
  private waiters: Array<() => void> = [];

  constructor(readonly size: number) {
    this.slots = Array.from({ length: Math.max(1, size) }, () => ({ launcher: undefined, outstanding: 0, lasts: [], held: false, owners: new Set<object>() }));
  }

  /** Runs `command` in its target's slot, or a free one, or queued behind another target's last command, or once a slot frees up. */
  async run(command: string, options: SlotRunOptions): Promise<ShellResult> {
    const bash = launcherSupport();
    const key = bash !== undefined && !command.includes('\0') ? envKey(options.cwd, options.env) : undefined;
    // A command without an owner is a target of its own, whose slot is let go even after a failure.
    const owner = options.owner ?? {};
    const last = options.owner === undefined || (options.last ?? true);
    const auto = options.owner === undefined;
    for (;;) {
      if (options.signal?.aborted) return { code: null, signal: 'SIGTERM' };
      if (options.shouldStart && !options.shouldStart()) return { code: null, signal: null, skipped: true };
      const slot = this.claim(owner);
      if (slot && key === undefined) {
        return this.hold(slot, owner, last, auto, () => {
          options.onStart?.();
          return spawnShell(command, options);
        });
      }
      if (slot) return this.track(slot, takeLauncher(key!, options, bash!), owner, last, auto, command, options);
      const behind =
        key === undefined || this.slots.some((s) => s.owners.has(owner))
          ? undefined
          : this.slots.find(
              (s) => !s.held && s.outstanding === 1 && s.lasts[0] && s.owners.size === 1 && s.launcher?.key === key && s.launcher.canQueue() && sameFolder(s.launcher.folder, options.cwd),
            );
      if (behind) {
        behind.owners.add(owner);
        return this.track(behind, behind.launcher!, owner, last, auto, command, options);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Runs `work` (a built-in command) alone in its target's slot or a free one. */
  async exclusive<T>(work: () => Promise<T>, owner?: object, last = true): Promise<T> {
    const auto = owner === undefined;
    owner ??= {};
    for (;;) {
      const slot = this.claim(owner);
      if (slot) return this.hold(slot, owner, last, auto, work);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The target is done (or stopped) with its slot. */
  release(owner: object): void {
    for (const slot of this.slots) if (slot.owners.delete(owner)) this.wake();
  }

  /** Queued commands that have not started never will: they come back `skipped`. Running ones go on. */
  cancelQueued(): void {
    for (const slot of this.slots) slot.launcher?.cancelQueued();
  }

  /** The owner's own slot once it is idle, else a free slot (then owned), else nothing yet. */
  private claim(owner: object): Slot | undefined {
    const mine = this.slots.find((s) => s.owners.has(owner));
    if (mine) return mine.outstanding === 0 && !mine.held ? mine : undefined;
    const free = this.slots.find((s) => s.owners.size === 0 && s.outstanding === 0 && !s.held);
    free?.owners.add(owner);
    return free;
  }

  private track(slot: Slot, launcher: Launcher, owner: object, last: boolean, auto: boolean, command: string, options: SlotRunOptions): Promise<ShellResult> {
    slot.launcher = launcher;
    slot.outstanding++;
    slot.lasts.push(last);
    const ran = launcher.run(command, options, options.onStart);
    // After a failure the owner keeps its slot until it lets go (release): nothing else may
    // start in it before the engine has seen the failure and decided whether to stop.
    const done = (ok: boolean): void => {
      slot.lasts.shift();
      if (--slot.outstanding === 0) slot.launcher = undefined;
      if (last && (ok || auto)) slot.owners.delete(owner);
      this.wake();
    };
    ran.then(
      (result) => done(result.code === 0),
      () => done(false),
    );
    return ran;
  }

  private async hold<T>(slot: Slot, owner: object, last: boolean, auto: boolean, work: () => Promise<T>): Promise<T> {
    slot.held = true;
    let ok = false;
    try {
      const result = await work();
      ok = !(typeof result === 'object' && result !== null && 'code' in result && result.code !== 0);
      return result;
    } finally {
      slot.held = false;
      if (last && (ok || auto)) slot.owners.delete(owner);
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Cuts a stream of text into lines; the last one may lack its newline. */
class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    let text = this.pending + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.onLine(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    this.pending = text;
  }
  flush(): void {
    if (this.pending) this.onLine(this.pending);
    this.pending = '';
  }
}

let support: string | null | undefined;

/** The bash to run launchers with when they can be used here, else undefined (checked once). */
function launcherSupport(): string | undefined {
  if (support === undefined) {
    support = null;
    if (process.platform === 'linux' && process.env.AIOP_SHELL_LAUNCHER !== '0' && existsSync(`/proc/${process.pid}/task/${process.pid}/children`)) {
      support = ['/bin/bash', '/usr/bin/bash'].find((p) => existsSync(p)) ?? null;
    }
  }
  return support ?? undefined;
}

/**
 * Variables that change how bash itself starts or reads (a start-up file, options, imported
 * functions, a read timeout); with any of them the command is spawned directly instead.
 */
function bashSensitive(name: string): boolean {
  return (
    name.startsWith('__aiop_') ||
    name.startsWith('BASH_FUNC_') ||
    ['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'POSIXLY_CORRECT', 'TMOUT', 'BASH_XTRACEFD', 'GLOBIGNORE', 'CDPATH'].includes(name)
  );
}

const envKeys = new WeakMap<NodeJS.ProcessEnv, string | null>();

/**
 * Launchers are shared by commands with the same folder and environment. Undefined when the
 * environment uses the launcher's own variable names (the launcher would change them).
 */
function envKey(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  let key = envKeys.get(env);
  if (key === undefined) {
    const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
    // Without SHLVL bash would still export one to the commands: spawned directly then.
    const plain = !entries.some(([name]) => bashSensitive(name)) && /^\d{1,6}$/.test(env.SHLVL ?? '');
    key = plain ? entries.map(([n, v]) => `${n}=${v}`).join('\0') : null;
    envKeys.set(env, key);
  }
  return key === null ? undefined : `${cwd}\0\0${key}`;
}

/** Idle launchers by folder and environment, most recently used last. */
const idle = new Map<string, Launcher[]>();
let idleCount = 0;
/** More idle launchers than this are ended (the oldest first); a build keeps one per job slot. */
const MAX_IDLE = 16;

function takeLauncher(key: string, options: ShellOptions, bash: string): Launcher {
  const list = idle.get(key);
  const launcher = list?.pop();
  if (launcher) {
    idleCount--;
    if (list!.length === 0) idle.delete(key);
    // A folder removed and made again at the same path is another folder: the launcher would still be in the old one.
    if (sameFolder(launcher.folder, options.cwd)) return launcher;
    launcher.close();
  }
  return new Launcher(key, options.cwd, options.env, bash);
}

function folderId(path: string): string | undefined {
  try {
    const stats = statSync(path);
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

function sameFolder(id: string | undefined, path: string): boolean {
  return id !== undefined && folderId(path) === id;
}

function returnLauncher(launcher: Launcher): void {
  let list = idle.get(launcher.key);
  if (!list) idle.set(launcher.key, (list = []));
  list.push(launcher);
  idleCount++;
  while (idleCount > MAX_IDLE) {
    const [oldestKey, oldest] = idle.entries().next().value as [string, Launcher[]];
    oldest.shift()!.close();
    idleCount--;
    if (oldest.length === 0) idle.delete(oldestKey);
  }
}

function dropIdle(launcher: Launcher): void {
  const list = idle.get(launcher.key);
  const at = list?.indexOf(launcher) ?? -1;
  if (at < 0) return;
  list!.splice(at, 1);
  idleCount--;
  if (list!.length === 0) idle.delete(launcher.key);
}

/**
 * What /bin/sh runs itself or reads as syntax (dash's built-ins and reserved words, and
 * bash's, which the launcher is): a command starting with one is never started directly.
 */
const SHELL_WORDS = new Set(
  ('. : [ [[ ! { } alias bg break builtin caller case cd chdir command compgen complete continue declare do done echo elif else ' +
    'enable esac eval exec exit export false fc fg fi for function getopts hash help history if in jobs kill let local logout ' +
    'mapfile printf pushd popd pwd read readarray readonly return select set shift shopt source suspend test then time times ' +
    'trap true type typeset ulimit umask unalias unset until wait while').split(' '),
);

/** Words with nothing for a shell to expand, quote or interpret; the first names a program on the PATH. */
const PLAIN = /^[A-Za-z0-9_.,:+@%-]+(?: +[A-Za-z0-9_./,:+@%=-]+)*$/;

/**
 * Whether a launcher may start `command` itself: plain words, the first a program on the
 * PATH. /bin/sh would only split it at the spaces and exec the program in its own place
 * (dash does for a lone simple command), so the process that runs, its arguments, folder and
 * streams are the same; what is saved is starting /bin/sh itself, 0.7 ms of CPU per command on a
 * small machine. GNU make does the same for lines with no shell syntax. The launcher still
 * hands the command to /bin/sh when the program is not found or is not a binary or a `#!`
 * script (a script without `#!` is read by /bin/sh, not by bash).
 */
export function plainCommand(command: string): boolean {
  if (!PLAIN.test(command)) return false;
  const space = command.indexOf(' ');
  return !SHELL_WORDS.has(space < 0 ? command : command.slice(0, space));
}

/**
 * The launcher's loop (bash, for `set -m`: each background job gets its own process group
 * without an extra `setsid` exec, and with job control on, its SIGINT is not ignored).
 * It first reads the path of its stop file, then per command a flag and nonce line and the
 * command up to a NUL, runs it, then writes the nonce on stderr and `nonce status` on stdout
 * (so Node knows where the command's output ends, even output without a final newline, with
 * one write per stream: each one costs a wake-up of Node's event loop). Node may queue a second command while one runs, so the launcher never waits for
 * Node between two commands; a queued command is therefore checked before it starts: after
 * a failed command (until Node sends a `+` command, which it does only once it has seen
 * every earlier result) or while the stop file exists, it is not run and its status is
 * `skip`. Its own messages (job notices) go to /dev/null; fd 4 is the commands' stderr. Its
 * variables and its function start with `__aiop_` and are not exported, so commands never see
 * them. A command flagged `d` ({@link plainCommand}) is split at its spaces and its program
 * started by the job itself when the PATH has it as a binary or a `#!` script; anything else
 * goes to /bin/sh.
 */
function launcherScript(shlvl: string): string {
  return [
    'set -m',
    'exec 4>&2 2>/dev/null',
    // bash counts itself in SHLVL and its job counts one down: the commands see the level aiop was given.
    `SHLVL=${Number(shlvl) + 1}`,
    '__aiop_h=0',
    '__aiop_direct() {',
    '  set -f; local IFS=" " __aiop_m; local -a __aiop_w=($__aiop_c)',
    '  hash -r; hash -- "${__aiop_w[0]}" 2>/dev/null && IFS= read -r -N 2 __aiop_m < "${BASH_CMDS[${__aiop_w[0]}]}" &&',
    "    [[ $__aiop_m == '#!' || $__aiop_m == $'\\x7fE' ]] && exec -- \"${__aiop_w[@]}\"",
    '  exec /bin/sh -c "$__aiop_c"',
    '}',
    'IFS= read -r __aiop_x || exit 0',
    "while IFS= read -r __aiop_n && IFS= read -r -d '' __aiop_c; do",
    '  [[ ${__aiop_n:0:1} == + ]] && __aiop_h=0',
    '  __aiop_d=${__aiop_n:1:1}',
    '  __aiop_n=${__aiop_n:2}',
    '  if (( __aiop_h )) || [[ -e $__aiop_x ]]; then',
    '    __aiop_s=skip',
    '  else',
    '    if [[ $__aiop_d == d ]]; then __aiop_direct </dev/null 2>&4 4>&- &',
    '    else /bin/sh -c "$__aiop_c" </dev/null 2>&4 4>&- &',
    '    fi',
    '    wait "$!"',
    '    __aiop_s=$?',
    '    (( __aiop_s )) && __aiop_h=1',
    '  fi',
    "  printf '%s\\n' \"$__aiop_n\" >&4; printf '%s %s\\n' \"$__aiop_n\" \"$__aiop_s\"",
    'done',
  ].join('\n');
}

interface Job {
  nonce: string;
  onOutput: ShellOptions['onOutput'];
  resolve: (result: ShellResult) => void;
  reject: (error: Error) => void;
  /** End markers seen on stdout (with the status) and stderr. */
  outDone: boolean;
  errDone: boolean;
  /** The status line: a number, or `skip` when the launcher did not run it. */
  status?: string;
  /** The signal aiop sent, if it ended (or cancelled) the command. */
  killedBy?: NodeJS.Signals;
  retry?: NodeJS.Timeout;
  started?: boolean;
  /** Called when the command is believed to start (at once, or when the one before it ends). */
  onStart?: () => void;
}

let launcherCount = 0;
/** Stop files that exist now, removed at the latest when aiop exits. */
const stopFiles = new Set<string>();
let exitHook = false;

/** One long-lived bash that runs commands one at a time for Node, with at most one more queued. */
class Launcher {
  private readonly child: ChildProcess;
  private readonly streams: Readable[];
  /** Commands sent and not yet finished, oldest (the running one) first. */
  readonly jobs: Job[] = [];
  private out = '';
  private err = '';
  private dead = false;
  /** A command failed: the launcher skips queued ones until Node sends a `+` command. */
  private halted = false;
  /** The stop file exists (queued commands are being cancelled). */
  private stopMarked = false;
  private readonly stopPath: string;
  /** Starts every end marker; commands never see it. */
  private readonly secret = `\u0001aiop-${randomBytes(12).toString('hex')}-`;
  private sent = 0;
  /** Device and inode of the folder it runs commands in. */
  readonly folder: string | undefined;

  constructor(readonly key: string, cwd: string, env: NodeJS.ProcessEnv, bash: string) {
    this.folder = folderId(cwd);
    this.stopPath = join(tmpdir(), `aiop-stop-${process.pid}-${++launcherCount}-${randomBytes(6).toString('hex')}`);
    // Its own session: a terminal's Ctrl-C reaches aiop, which then ends commands itself.
    this.child = spawn(bash, ['--norc', '--noprofile', '-c', launcherScript(env.SHLVL!)], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.streams = [this.child.stdout!, this.child.stderr!];
    for (const s of this.streams) s.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => (this.out = this.lines(this.out + chunk, 'stdout')));
    this.child.stderr!.on('data', (chunk: string) => (this.err = this.lines(this.err + chunk, 'stderr')));
    this.child.stdin!.on('error', () => {
      // A launcher that died is reported by 'close' below.
    });
    this.child.on('error', (error) => this.end((job) => job.reject(error)));
    this.child.on('close', (code, signal) =>
      this.end((job) => {
        if (job.killedBy) job.resolve({ code: null, signal: job.killedBy });
        else job.reject(new Error(`the shell launcher ended unexpectedly (${signal ?? `status ${code}`})`));
      }),
    );
    this.child.stdin!.write(`${this.stopPath}\n`);
  }

  /** Whether another command may be queued behind the running one. */
  canQueue(): boolean {
    return !this.dead && !this.halted && !this.stopMarked && this.jobs.length === 1;
  }

  run(command: string, options: ShellOptions, onStart?: () => void): Promise<ShellResult> {
    return new Promise((resolve, reject) => {
      const job: Job = { nonce: `${this.secret}${++this.sent}.`, onOutput: options.onOutput, resolve, reject, outDone: false, errDone: false };
      if (onStart) job.onStart = onStart;
      // With nothing outstanding Node has seen every earlier result: the launcher may run it whatever came before.
      const fresh = this.jobs.length === 0;
      if (fresh) {
        this.halted = false;
        this.unmarkStop();
      }
      this.jobs.push(job);
      busy.add(this);
      this.ref(true);
      const onAbort = (): void => this.abortJob(job, 'SIGTERM');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const release = (): void => options.signal?.removeEventListener('abort', onAbort);
      job.resolve = (result) => {
        release();
        resolve(result);
      };
      job.reject = (error) => {
        release();
        reject(error);
      };
      this.child.stdin!.write(`${fresh ? '+' : '-'}${plainCommand(command) ? 'd' : 's'}${job.nonce}\n${command}\0`);
      if (fresh) startJob(job);
    });
  }

  /** Ends every command of this launcher: the running one's process group, and the queued ones never start. */
  abort(signal: NodeJS.Signals): void {
    for (const job of [...this.jobs].reverse()) this.abortJob(job, signal);
  }

  /** Makes queued commands skip (they come back with `skipped`); the running one goes on. */
  cancelQueued(): void {
    if (this.jobs.length > 1) this.markStop();
  }

  private abortJob(job: Job, signal: NodeJS.Signals): void {
    const at = this.jobs.indexOf(job);
    if (at < 0) return;
    job.killedBy = signal;
    if (at > 0) {
      this.markStop();
      return;
    }
    const pid = this.child.pid!;
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    } catch {
      // The launcher itself is gone.
    }
    for (const kid of kids ? kids.split(' ') : []) signalPid(Number(kid), signal);
    if (!kids && !job.retry && !this.dead) {
      // The command is not forked yet (or has just ended): look again shortly.
      job.retry = setTimeout(() => {
        job.retry = undefined;
        if (this.jobs[0] === job) this.abortJob(job, signal);
      }, 10);
    }
  }

  private markStop(): void {
    if (this.stopMarked || this.dead) return;
    try {
      writeFileSync(this.stopPath, '');
      this.stopMarked = true;
      stopFiles.add(this.stopPath);
      if (stopFiles.size === 1 && !exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const path of stopFiles) rmSync(path, { force: true });
        });
      }
    } catch {
      // No temp folder to write in: queued commands then run; the engine still drops their targets' results.
    }
  }

  private unmarkStop(): void {
    if (!this.stopMarked) return;
    this.stopMarked = false;
    stopFiles.delete(this.stopPath);
    rmSync(this.stopPath, { force: true });
  }

  close(): void {
    this.unmarkStop();
    this.child.stdin!.end();
    this.ref(false);
  }

  private lines(text: string, stream: 'stdout' | 'stderr'): string {
    const done = stream === 'stdout' ? 'outDone' : 'errDone';
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      // The output belongs to the oldest command whose end marker this stream has not shown yet.
      const job = this.jobs.find((j) => !j[done]);
      const at = job ? line.lastIndexOf(job.nonce) : -1;
      // stderr's marker is the nonce alone, stdout's the nonce and the status.
      const status = at < 0 ? undefined : line.slice(at + job!.nonce.length);
      if (job && status !== undefined && (stream === 'stderr' ? status === '' : /^ (\d+|skip)$/.test(status))) {
        // The command's last line may lack its newline: it then shares the marker's line.
        if (at > 0) job.onOutput(stream, line.slice(0, at));
        job[done] = true;
        if (stream === 'stdout') {
          job.status = status.slice(1);
          if (job.status !== '0' && job.status !== 'skip') this.halted = true;
        }
        this.settle();
      } else if (job) {
        job.onOutput(stream, line);
      }
      // Output with no command running comes from a background process a command left behind: dropped.
    }
    return text;
  }

  /** Finishes the oldest commands whose two end markers (stdout with the status, stderr) have both come. */
  private settle(): void {
    while (this.jobs.length > 0) {
      const job = this.jobs[0]!;
      if (!job.outDone || !job.errDone || job.status === undefined) return;
      this.jobs.shift();
      if (job.retry) clearTimeout(job.retry);
      const next = this.jobs[0];
      if (this.jobs.length === 0) this.idleNow();
      if (job.status !== 'skip') startJob(job);
      if (job.status === 'skip') {
        job.resolve(job.killedBy ? { code: null, signal: job.killedBy } : { code: null, signal: null, skipped: true });
      } else {
        const status = Number(job.status);
        // /bin/sh reports a command it saw killed as 128 + the signal number.
        const signal = job.killedBy && status > 128 ? signalName(status - 128) : undefined;
        job.resolve(signal ? { code: null, signal } : { code: status, signal: null });
      }
      // The launcher went on to the queued command as soon as this one ended, unless it will skip it.
      if (next && !this.halted && !this.stopMarked) startJob(next);
      if (this.jobs.length === 0 && !this.dead) returnLauncher(this);
    }
  }

  private idleNow(): void {
    // Nothing is queued any more: the stop file has done its work.
    this.unmarkStop();
    busy.delete(this);
    this.ref(false);
  }

  /** The launcher is gone (or could not start): each command it held is settled by `settle`. */
  private end(settle: (job: Job) => void): void {
    this.dead = true;
    this.unmarkStop();
    dropIdle(this);
    const jobs = this.jobs.splice(0);
    if (jobs.length === 0) return;
    this.idleNow();
    for (const job of jobs) {
      if (job.retry) clearTimeout(job.retry);
      settle(job);
    }
  }

  /** An idle launcher must not keep Node running; it ends when its stdin closes with Node. */
  private ref(on: boolean): void {
    const handles = [this.child, this.child.stdin!, ...this.streams] as Array<{ ref?: () => void; unref?: () => void }>;
    for (const h of handles) (on ? h.ref : h.unref)?.call(h);
  }
}

function startJob(job: Job): void {
  if (job.started) return;
  job.started = true;
  job.onStart?.();
}

function signalName(number: number): NodeJS.Signals | undefined {
  return (Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>).find(([, n]) => n === number)?.[0];
}
