/**
 * Reporters: everything that turns the event stream into output. One call,
 * {@link attachReporters}, subscribes the console (stderr), the log file, the progress box
 * and, in machine-readable mode, the Packer-style lines on stdout. Every line passes
 * through redaction before any sink sees it.
 */
import type { AiopEvent, EventLevel, EventOf, EventStream, Level } from '../core/events.js';
import { describe, formatDuration, type Message } from './format.js';
import { effectiveLevels, passes } from './levels.js';
import { LogFile } from './log-file.js';
import { ArtifactCollector, uiLine, unixNow, type UiKind } from './machine-readable.js';
import type { ProgressBox } from './progress.js';
import { redactor } from './redact.js';
import { RunStats } from './summary.js';
import { standardError, standardOutput } from '../core/std-streams.js';
import type { AapConsoleSettings } from './aap-console.js';

export type { Level } from '../core/events.js';

/** A stream the console reporters write to: the process's own, or one a caller gives. */
export type Terminal = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** How a run reports; built by the command from its options and the user configuration. */
export interface ReportSettings {
  program: 'aiop' | 'aap';
  /** from options/user config; -v forces DEBUG on both and wins over -sll/-fll (seed examples). */
  verbose: boolean;
  stdoutLevel: Level;
  fileLevel: Level;
  machineReadable: boolean;
  hideProgress: boolean;
  /** folder for log files; undefined = no log file (also none when the file level is DISABLED) */
  logDir?: string;
  logKeep: number;
  /** base of the log file name, e.g. the package id or 'build_all' */
  logName: string;
  stdout?: Terminal;
  stderr?: Terminal;
  env?: NodeJS.ProcessEnv;
  /** secrets to redact everywhere (the lead passes AIOP_UPLOAD_* values) */
  secrets?: string[];
  /**
   * Print the end-of-run summary even when the console level hides INFO (build_all turns
   * console logs off by default but still owes its list of successes and failures).
   */
  alwaysShowSummary?: boolean;
  /**
   * build_all: besides the run's own file, one log file per package
   * (`<package id>-<timestamp>.log` in logDir, rotated by the same logKeep), holding that
   * package's lines. See {@link Reporters.packageLogFile}.
   */
  perPackageLogs?: boolean;
  /** aap's session: its own console (src/report/aap-console.ts) instead of aiop's. */
  aap?: AapConsoleSettings;
}

/** What {@link attachReporters} hands back. */
export interface Reporters {
  /** The log file of this run, if any. */
  logFile?: string;
  /** Whether the progress box is drawn (for the command's own decisions, e.g. prompts). */
  readonly progress: boolean;
  /**
   * Whether a failure of the run reaches people through these reporters (the package's line,
   * the summary or a `ui,error` line), so that the command line need not print it again.
   */
  readonly showsFailures?: boolean;
  /** With `perPackageLogs`: the log file of a package once its `package-start` was seen. */
  packageLogFile(pkg: string): string | undefined;
  /**
   * Flushes everything; prints the end-of-run output: the human summary (what was built and where, sizes, time,
   * targets run vs up to date, cache hits vs downloads, and the log file path at INFO), or in machine-readable mode
   * the per-package artifact lines then error-count and error lines. Safe to call twice.
   */
  close(): Promise<void>;
}

/** `CI=true` (or any value but empty/false/0) means a CI runner: no box there. */
function inCi(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** Whether the progress box should be drawn for these settings. */
export function wantsProgress(settings: ReportSettings): boolean {
  const env = settings.env ?? process.env;
  return (
    !settings.hideProgress &&
    !settings.machineReadable &&
    !inCi(env) &&
    env.TERM !== 'dumb' &&
    (settings.stdout ?? standardOutput()).isTTY === true &&
    (settings.stderr ?? standardError()).isTTY === true
  );
}

const COLOR: Partial<Record<EventLevel, string>> = {
  DEBUG: '\x1b[2m',
  WARNING: '\x1b[33m',
  ERROR: '\x1b[31m',
  CRITICAL: '\x1b[1;31m',
};

/** Buffers command output per target and stream so that only whole lines are logged (and redacted). */
class LineBuffers {
  readonly #parts = new Map<string, { pkg?: string; target: string; stream: string; text: string }>();
  /** A line longer than this is cut, so memory stays bounded whatever a command prints. */
  static readonly MAX = 64 * 1024;

  add(pkg: string | undefined, target: string, stream: string, text: string): string[] {
    const key = `${pkg ?? ''}\0${target}\0${stream}`;
    const prev = this.#parts.get(key);
    const all = (prev?.text ?? '') + text;
    const lines = all.split(/\r?\n/);
    let rest = lines.pop() ?? '';
    while (rest.length > LineBuffers.MAX) {
      lines.push(rest.slice(0, LineBuffers.MAX));
      rest = rest.slice(LineBuffers.MAX);
    }
    if (rest === '') this.#parts.delete(key);
    else this.#parts.set(key, { pkg, target, stream, text: rest });
    return lines;
  }

  /** Takes the unfinished lines of one target (or of all when target is undefined). */
  drain(pkg: string | undefined, target?: string): Array<{ pkg?: string; target: string; stream: string; text: string }> {
    const out = [];
    for (const [key, part] of this.#parts) {
      if (target === undefined || (part.target === target && part.pkg === pkg)) {
        out.push(part);
        this.#parts.delete(key);
      }
    }
    return out;
  }
}

/**
 * Subscribes all reporters to the stream. Opens the log file first (so its path is known
 * before the build starts) and rotates old ones. Reporters never throw into the core:
 * a failing sink is dropped with one note on stderr.
 */
export async function attachReporters(stream: EventStream, settings: ReportSettings): Promise<Reporters> {
  if (settings.aap) return (await import('./aap-console.js')).attachAapConsole(stream, settings, settings.aap);
  const env = settings.env ?? process.env;
  // Made on first use: a quiet run that prints nothing never makes the standard streams.
  let out: Terminal | undefined;
  let err: Terminal | undefined;
  const stdout = (): Terminal => (out ??= settings.stdout ?? standardOutput());
  const stderr = (): Terminal => (err ??= settings.stderr ?? standardError());
  const levels = effectiveLevels(settings);
  const clean = redactor(settings.secrets);
  const mr = settings.machineReadable;

  const logFile =
    settings.logDir !== undefined && levels.file !== 'DISABLED'
      ? LogFile.open(settings.logDir, settings.logName, settings.logKeep)
      : undefined;
  // Loaded only when shown: most runs in CI and scripts never draw it.
  const box: ProgressBox | undefined = wantsProgress(settings) ? new (await import('./progress.js')).ProgressBox(stderr(), settings.program) : undefined;
  let color: boolean | undefined;
  const colored = (): boolean => (color ??= stderr().isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb');
  const stats = new RunStats();
  const artifacts = new ArtifactCollector();
  const buffers = new LineBuffers();
  const started = new Set<string>();
  const packageLogs = new Map<string, LogFile>();
  const perPackage = settings.perPackageLogs === true && settings.logDir !== undefined && levels.file !== 'DISABLED';

  const writeErr = (text: string): void => {
    if (box) box.print(text);
    else stderr().write(text);
  };

  /** The console form of a message: plain for INFO, tagged otherwise, with the package when several run. */
  const human = (m: Message, text: string): string => {
    const who = m.pkg !== undefined && !m.named && started.size > 1 ? `${m.pkg}: ` : '';
    const tag = m.level === 'INFO' ? (m.heading ? '==> ' : '') : `${m.level.toLowerCase()}: `;
    const lines = text.split('\n').map((l, i) => (i === 0 ? `${tag}${who}${l}` : `    ${l}`));
    const body = lines.join('\n');
    const paint = colored() ? COLOR[m.level] : undefined;
    return paint ? `${paint}${body}\x1b[0m\n` : `${body}\n`;
  };

  /** Console writes so far: a command's output needs no header when nothing was written since it started. */
  let consoleWrites = 0;

  /** Shows a message on the console; `output` (a command's, already redacted) follows it as it was printed. */
  const toConsole = (m: Message, text: string, output?: string): void => {
    consoleWrites++;
    const plain = (): string => (text === '' ? '' : human(m, text)) + (output !== undefined ? `${output}\n` : '');
    if (!mr) {
      writeErr(plain());
      return;
    }
    // Machine-readable: people's messages are `ui` lines on stdout; DEBUG chatter is log, so stderr.
    if (m.level === 'DEBUG') {
      stderr().write(plain());
      return;
    }
    const kind: UiKind = m.level === 'ERROR' || m.level === 'CRITICAL' ? 'error' : m.heading ? 'say' : 'message';
    const who = m.pkg !== undefined && !m.named ? `${m.pkg}: ` : '';
    const prefix = m.heading ? '==> ' : m.level === 'WARNING' ? 'Warning: ' : '';
    const body = text === '' ? (output ?? '') : output !== undefined ? `${text}\n${output}` : text;
    stdout().write(uiLine(unixNow(), kind, `${prefix}${text === '' ? '' : who}${body}`));
  };

  /**
   * Delivers a message to the log file and the console. `output` is a command's captured
   * output: on the console it follows the message; the log file has it already, line by
   * line at DEBUG, unless its level leaves DEBUG out, and then it gets it here.
   */
  const deliver = (m: Message, options: { console?: boolean; file?: boolean; output?: string } = {}): void => {
    const text = clean(m.text);
    const output = options.output !== undefined ? clean(options.output) : undefined;
    const fileText = output !== undefined && !passes('DEBUG', levels.file) ? (text === '' ? output : `${text}\n${output}`) : text;
    if (options.file !== false && logFile && passes(m.level, levels.file) && fileText !== '') {
      logFile.write(m.level, m.pkg !== undefined ? `${m.source} ${m.pkg}` : m.source, fileText);
    }
    const own = m.pkg !== undefined ? packageLogs.get(m.pkg) : undefined;
    if (options.file !== false && own && passes(m.level, levels.file) && fileText !== '') own.write(m.level, m.source, fileText);
    if (options.console !== false && passes(m.level, levels.console)) toConsole(m, text, output);
  };

  const outputLines = (pkg: string | undefined, target: string, stream: string, lines: string[]): void => {
    for (const line of lines) {
      const m: Message = { level: 'DEBUG', source: stream === 'stderr' ? 'stderr' : 'stdout', text: `${target}| ${line}` };
      // The console shows a command's output in one piece when it ends (command-end, target-fail).
      deliver(pkg === undefined ? m : { ...m, pkg }, { console: false });
    }
  };

  const flushOutput = (pkg: string | undefined, target?: string): void => {
    for (const part of buffers.drain(pkg, target)) outputLines(part.pkg, part.target, part.stream, [part.text]);
  };

  /** Packages (by id, '' for none) a target failure of which was shown: their own failure says it already. */
  const failedTargetsShown = new Set<string>();
  /** Packages whose failure was shown live on the console: a single build's summary does not list it again. */
  const failuresShown = new Set<string>();
  /** Whether the run's log file path is printed at the end (then the lines before need not give it). */
  const logPathAtEnd = (): boolean => logFile !== undefined && (passes('INFO', levels.console) || settings.alwaysShowSummary === true);

  /**
   * The message of a package's end, said once: a single build's success is in the summary
   * (outputs, then one timing line), so live it is DEBUG; a failure does not repeat the
   * target failure already shown, nor the log file path printed at the end.
   */
  const packageDone = (event: EventOf<'package-done'>, m: Message): Message => {
    if (event.ok) return started.size > 1 ? m : { ...m, level: 'DEBUG' };
    const said = failedTargetsShown.has(event.pkg) && passes('ERROR', levels.console);
    const log = event.logFile !== undefined && !(event.logFile === logFile?.path && logPathAtEnd()) ? ` (log: ${event.logFile})` : '';
    if (passes(m.level, levels.console)) failuresShown.add(event.pkg);
    return { ...m, text: `${event.pkg} failed after ${formatDuration(event.durationMs)}${said || !event.error ? '' : `: ${event.error}`}${log}` };
  };

  /** Console writes counted when each running command started, by {@link commandKey}. */
  const commandStarts = new Map<string, number>();
  /** The output of a failed command, until its target's failure is shown. */
  const failedOutput = new Map<string, EventOf<'command-end'>>();

  const handle = (event: AiopEvent): void => {
    stats.add(event);
    artifacts.add(event);
    box?.add(event);
    switch (event.type) {
      case 'package-start':
        started.add(event.pkg);
        if (perPackage && !packageLogs.has(event.pkg)) {
          try {
            packageLogs.set(event.pkg, LogFile.open(settings.logDir!, event.pkg, settings.logKeep));
          } catch (error) {
            stderr().write(`${settings.program}: cannot open a log file for ${event.pkg}: ${clean(String(error))}\n`);
          }
        }
        break;
      case 'command-output':
        outputLines(event.pkg, event.target, event.stream, buffers.add(event.pkg, event.target, event.stream, event.text));
        return;
      case 'command-end': {
        flushOutput(event.pkg, event.target);
        const key = commandKey(event);
        const since = commandStarts.get(key);
        commandStarts.delete(key);
        if (event.output === undefined) break;
        if (!event.ok) {
          // Shown with the failure it causes (target-fail), so the two stay together.
          failedOutput.set(targetKey(event), event);
          break;
        }
        // Echoed when it started; said again only when other lines came in between.
        const header = since === consoleWrites ? '' : `${event.target}: ${event.command}`;
        const m: Message = { level: 'INFO', source: 'output', text: header, ...(event.pkg !== undefined ? { pkg: event.pkg } : {}) };
        deliver(m, { output: event.output, file: !passes('DEBUG', levels.file) });
        break;
      }
      case 'target-done':
      case 'target-fail':
        flushOutput(event.pkg, event.target);
        break;
      default:
        break;
    }
    let m = describe(event);
    if (!m) return;
    if (event.type === 'target-fail') failedTargetsShown.add(event.pkg ?? '');
    if (event.type === 'package-done') m = packageDone(event, m);
    if (event.type === 'command') {
      deliver(m);
      commandStarts.set(commandKey(event), consoleWrites);
      return;
    }
    if (event.type === 'target-fail' || event.type === 'failure') {
      const failed = failedOutput.get(targetKey(event));
      if (failed) {
        failedOutput.delete(targetKey(event));
        deliver(m, { output: failed.output!, ...(event.type === 'failure' ? { console: false } : {}) });
        return;
      }
    }
    // Failures are listed by the summary (or the error lines) at the end; live, they only go to the file.
    deliver(m, event.type === 'failure' ? { console: false } : {});
  };

  let broken = false;
  const unsubscribe = stream.subscribe((event) => {
    if (broken) return;
    try {
      handle(event);
    } catch (error) {
      broken = true;
      box?.stop();
      stderr().write(`${settings.program}: reporting stopped after an internal error: ${clean(String(error))}\n`);
    }
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe();
      flushOutput(undefined);
      box?.stop();
      // A failed command whose failure was not reported as a target's (a top-level command of aap).
      for (const failed of failedOutput.values()) {
        deliver({ level: 'ERROR', source: 'output', text: `${failed.target}: ${failed.command}`, ...(failed.pkg !== undefined ? { pkg: failed.pkg } : {}) }, { output: failed.output! });
      }
      failedOutput.clear();
      const summary = stats.lines(Date.now(), (pkg) => packageLogs.get(pkg)?.path, failuresShown);
      const force = settings.alwaysShowSummary === true;
      for (const line of summary) {
        const m: Message = { level: line.level, source: 'summary', text: line.text };
        deliver(m, { console: false });
        if (force || passes(line.level, levels.console)) toConsole(m, clean(line.text));
      }
      if (logFile) {
        const m: Message = { level: 'INFO', source: 'summary', text: `Log file: ${logFile.path}` };
        if (passes('INFO', levels.console) || force) toConsole(m, clean(m.text));
      }
      if (mr) {
        for (const line of artifacts.closingLines(unixNow(), clean)) stdout().write(line);
      }
      await logFile?.close();
      await Promise.all([...packageLogs.values()].map((f) => f.close()));
      if (out) await drain(out);
      if (err) await drain(err);
    })();
    return closing;
  };

  return {
    logFile: logFile?.path,
    progress: box !== undefined,
    showsFailures: passes('ERROR', levels.console) || settings.alwaysShowSummary === true,
    packageLogFile: (pkg) => packageLogs.get(pkg)?.path,
    close,
  };
}

function targetKey(event: { pkg?: string; target: string }): string {
  return `${event.pkg ?? ''}\0${event.target}`;
}

function commandKey(event: { pkg?: string; target: string; command: string }): string {
  return `${event.pkg ?? ''}\0${event.target}\0${event.command}`;
}

/** Waits until what was written to a stream has been handed to the system. */
function drain(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    // An empty write's callback runs after the earlier writes are flushed.
    if ((stream as NodeJS.WritableStream & { destroyed?: boolean }).destroyed) resolve();
    else stream.write('', () => resolve());
  });
}

export { describe as describeEvent, formatBytes, formatDuration } from './format.js';
export { effectiveLevels, parseLevel, passes } from './levels.js';
export { escapeField, machineLine, unescapeField } from './machine-readable.js';
export { redact } from './redact.js';
