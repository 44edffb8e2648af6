/**
 * Expected failures are values of these classes; each carries a `reason`. Commands throw
 * them; `src/cli/run.ts` turns them into a message and an exit status in one place.
 * Anything else that escapes is a bug and crashes with its stack.
 */

/** Why something failed. The first group is found before anything is built (exit 2). */
export type FailureReason =
  | 'usage' // bad command-line arguments
  | 'config' // a playbook or user configuration file is wrong
  | 'not-playbook' // not run from a playbook root
  | 'destination' // destination refused (foreign, not empty)
  | 'download' // an artifact could not be fetched or verified
  | 'extract' // an archive could not be extracted (or was hostile)
  | 'command' // a recipe command failed
  | 'pack' // zip or .deb could not be made
  | 'upload' // an upload failed
  | 'filesystem' // a file could not be written: read-only or full file system, no permission
  | 'interrupted'; // SIGINT / SIGTERM

/** A place in a configuration file, 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** One problem in a configuration file, with everything needed to show it well. */
export interface Diagnostic {
  message: string;
  location?: SourceLocation;
  /** The offending line of the file, shown with a marker under `location.column`. */
  sourceLine?: string;
  /** "did you mean ...", "valid choices: ..." */
  hint?: string;
}

/** Base class of every expected failure. */
export class AiopError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AiopError';
  }
}

/** Bad command-line usage (exit 2). */
export class UsageError extends AiopError {
  constructor(message: string, readonly hint?: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

/** One or more problems in configuration files (exit 2). */
export class ConfigError extends AiopError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super('config', diagnostics.map((d) => d.message).join('; '));
    this.name = 'ConfigError';
  }
}

/** What the system says for the errors of a file system that refuses a write. */
const FILE_SYSTEM_REASONS: Record<string, string> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** What the system says when a folder cannot be created although its parent exists. */
const MKDIR_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'a file of that name exists',
};

/**
 * A system error of a file system that refuses to be written (read-only, full, no permission)
 * as an expected failure naming the path and the reason, instead of a crash with a stack;
 * anything else is returned as it is.
 */
export function fileSystemFailure(error: unknown): unknown {
  const e = error as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  // A folder that cannot be made where its parent exists (under /proc, or below a file) is the
  // file system's refusal too: makeDirs makes the parents first, so ENOENT is not a missing parent.
  const reason = FILE_SYSTEM_REASONS[code ?? ''] ?? (e?.syscall === 'mkdir' && code !== undefined ? MKDIR_REASONS[code] : undefined);
  if (!(error instanceof Error) || code === undefined || reason === undefined) return error;
  const path = e!.path ?? '';
  const what = e!.syscall ? `cannot ${e!.syscall}` : 'cannot write';
  return new AiopError('filesystem', `${what}${path ? ` ${path}` : ''}: ${reason} (${code})`, { cause: error });
}

/**
 * Names the file of a system error raised on a file descriptor (a write's ENOSPC carries no
 * path), so that {@link fileSystemFailure} can say which file could not be written.
 */
export function withPath(error: unknown, path: string, syscall = 'write'): unknown {
  const e = error as NodeJS.ErrnoException | undefined;
  if (error instanceof Error && typeof e?.code === 'string' && e.path === undefined) {
    e.path = path;
    e.syscall ??= syscall;
  }
  return error;
}

/** Exit statuses of SPEC section 3. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The status of an interrupted run: 130 (SIGINT, SIGTERM, per SPEC), 129 after SIGHUP (128 + its number). */
let interruptedStatus: number = EXIT.interrupted;

/** Records the signal that interrupted the run, for its exit status. */
export function noteInterruptSignal(signal: NodeJS.Signals): void {
  interruptedStatus = signal === 'SIGHUP' ? 129 : EXIT.interrupted;
}

/** The exit status for a failure reason: problems found before building are 2. */
export function exitStatusFor(reason: FailureReason): number {
  switch (reason) {
    case 'usage':
    case 'config':
    case 'not-playbook':
    case 'destination':
      return EXIT.usage;
    case 'interrupted':
      return interruptedStatus;
    default:
      return EXIT.failed;
  }
}

/** Formats one diagnostic as `file:line:column: message`, the source line and a `^` marker. */
export function formatDiagnostic(d: Diagnostic): string {
  const lines: string[] = [];
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
  lines.push(`${where}${d.message}`);
  if (d.sourceLine !== undefined && d.location) {
    const gutter = `${d.location.line} | `;
    lines.push(`  ${gutter}${d.sourceLine}`);
    lines.push(`  ${' '.repeat(gutter.length)}${' '.repeat(Math.max(0, d.location.column - 1))}^`);
  }
  if (d.hint) lines.push(`  ${d.hint}`);
  return lines.join('\n');
}

/** Formats any expected failure for people. */
export function formatFailure(error: AiopError): string {
  if (error instanceof ConfigError) return error.diagnostics.map(formatDiagnostic).join('\n');
  if (error instanceof UsageError && error.hint) return `${error.message}\n  ${error.hint}`;
  return error.message;
}
