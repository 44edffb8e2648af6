/**
 * Runs recipe shell commands in /bin/sh, each in its own process group so that an
 * interrupted build can end the whole group (the command and everything it started).
 */
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

/** Ends every running command's process group: SIGTERM now, SIGKILL after `graceMs`. */
export function killAllCommands(graceMs = 1500): Promise<void> {
  const children = [...live];
  for (const child of children) signalGroup(child, 'SIGTERM');
  if (children.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const child of children) if (live.has(child)) signalGroup(child, 'SIGKILL');
      resolve();
    }, graceMs);
    timer.unref();
    const check = setInterval(() => {
      if (children.every((c) => !live.has(c))) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    check.unref();
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
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

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs `command` with /bin/sh -c. Output is handed to `onOutput` a line at a time.
 * An abort signal ends the command's process group.
 */
export function runShell(
  command: string,
  options: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
  },
): Promise<ShellResult> {
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
      let pending = '';
      const source = child[stream]!;
      source.setEncoding('utf8');
      source.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          options.onOutput(stream, pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      });
      source.on('end', () => {
        if (pending) options.onOutput(stream, pending);
      });
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
