/** Runs the real `aiop` and `aap` executables as child processes, the way users do. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const AIOP = join(REPO, 'dist/src/cli/aiop.js');
export const AAP = join(REPO, 'dist/src/cli/aap.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Run under this umask (octal string), through /bin/sh. */
  umask?: string;
}

/** Runs `node <script> ...args` and collects its output. Never rejects on a non-zero exit. */
export function runNode(script: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...options.env };
    const [command, argv] = options.umask
      ? ['/bin/sh', ['-c', `umask ${options.umask}; exec "$0" "$@"`, process.execPath, script, ...args]]
      : [process.execPath, [script, ...args]];
    const child = spawn(command, argv, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `aiop ...args`. The user config is isolated unless the caller sets AIOP_CONFIG. */
export function aiop(args: string[], options: RunOptions): Promise<RunResult> {
  return runNode(AIOP, args, options);
}

/** Runs `aap ...args`. */
export function aap(args: string[], options: RunOptions): Promise<RunResult> {
  return runNode(AAP, args, options);
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(prefix = 'aiop-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a bundled example playbook into a fresh temporary folder (without its .build and state). */
export async function copyExample(name: string, into: string): Promise<string> {
  const dest = join(into, name);
  await cp(join(REPO, 'examples', name), dest, {
    recursive: true,
    filter: (src) => !/[\\/](\.build|state|logs)$/.test(src),
  });
  return dest;
}

/**
 * An environment that keeps a test away from the user's own configuration and cache:
 * its own config file path, cache and log folders under `dir`.
 */
export function isolatedEnv(dir: string): Record<string, string | undefined> {
  return {
    AIOP_CONFIG: join(dir, 'no-user-config.yml'),
    XDG_CACHE_HOME: join(dir, 'xdg-cache'),
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
    AIOP_UPLOAD_USER: undefined,
    AIOP_UPLOAD_PASSWORD: undefined,
    AIOP_UPLOAD_TOKEN: undefined,
    AIOP_SIGNING_KEY: undefined,
    GITLAB_CI: undefined,
    GITHUB_ACTIONS: undefined,
  };
}
