/**
 * The build session: the one owner of how a package build lives. `aiop build` (with its
 * no-op and delta strategies), `build_all`, `build_again` and `aap` all open a session and
 * run each package through {@link Session.runPackage}, so that every build has the same
 * lock, interrupt path, event sequence and failure report, whichever strategy does the work.
 *
 * A session owns its event stream and reporters (src/report/), the interrupt listener
 * (SIGINT/SIGTERM abort {@link Session.signal}) and the routing of failures found before
 * or after building into the same outputs.
 */
import { relative } from 'node:path';
import { AiopError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import type { Reporters } from '../report/index.js';
import { markShown } from '../report/failure-printer.js';
import { onInterrupt } from './interrupt.js';
import { acquirePackageLock, type PackageLock } from './lock.js';
import { machineReadableFailures, startReporting, type Reporting, type ReportingSettings } from './reporting.js';

/** What a session needs: resolved once, before anything is written. */
export interface SessionSettings extends ReportingSettings {
  /** When set, log file paths in events are relative to this folder (build_all's summary). */
  logPathsFrom?: string;
}

/** How a package build takes its package's lock. */
export type LockRequest =
  /** Waits for the lock of this state folder (and says so while waiting). */
  | { stateDir: string }
  /** The caller already holds it (a strategy that had to look under the lock first). */
  | { held: PackageLock }
  /** Nothing to lock (aap without a playbook, or writing nothing). */
  | 'none';

/** One package build run by a session. */
export interface PackageRun {
  pkg: string;
  systemTarget: string;
  compat: Record<string, string>;
  lock: LockRequest;
}

/** What the body of a package build gets. */
export interface PackageContext {
  pkg: string;
  emit: Emit;
  signal: AbortSignal;
}

/** A session: see the module comment. */
export class Session {
  readonly #reporting: Reporting;
  readonly #controller: AbortController;
  readonly #stopListening: () => void;
  readonly #logPathsFrom: string | undefined;
  #closed = false;

  private constructor(reporting: Reporting, controller: AbortController, stopListening: () => void, logPathsFrom: string | undefined) {
    this.#reporting = reporting;
    this.#controller = controller;
    this.#stopListening = stopListening;
    this.#logPathsFrom = logPathsFrom;
  }

  /**
   * Opens a session: from here on things are written (starting with the log file), and
   * SIGINT/SIGTERM abort {@link signal} and end in exit 130.
   */
  static async open(settings: SessionSettings): Promise<Session> {
    // aap prints its own failures (src/cli/aap.ts); aiop's machine-readable mode ends even
    // an early failure with error lines.
    if (settings.program === 'aiop') machineReadableFailures('aiop', settings.options.machineReadable);
    const reporting = await startReporting(settings);
    const controller = new AbortController();
    return new Session(reporting, controller, onInterrupt(controller), settings.logPathsFrom);
  }

  /** Emits an event to every reporter. */
  get emit(): Emit {
    return this.#reporting.stream.emit;
  }

  /** Aborted on SIGINT/SIGTERM. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The reporters (for the log file paths). */
  get reporters(): Reporters {
    return this.#reporting.reporters;
  }

  /** Subscribes to every event (a strategy collecting what it records for the next build). */
  subscribe(listener: (event: Parameters<Emit>[0]) => void): void {
    this.#reporting.stream.subscribe(listener);
  }

  /** Throws the interrupt failure when the session was interrupted. */
  throwIfInterrupted(what: string): void {
    if (this.signal.aborted) throw new AiopError('interrupted', `${what} interrupted`);
  }

  /**
   * Runs one package build: takes its lock, emits `package-start`, runs `body`, and emits
   * `package-done`; an expected failure (AiopError) is reported as a `failure` event of the
   * package. With `onFailure: 'throw'` it is then thrown (a single build ends with it);
   * with `'report'` the result is undefined and the session goes on (build_all).
   */
  async runPackage<T>(run: PackageRun, body: (ctx: PackageContext) => Promise<T>, onFailure: 'throw' | 'report'): Promise<T | undefined> {
    const { pkg } = run;
    const emit = this.emit;
    const started = Date.now();
    const logFile = (): { logFile?: string } => {
      const file = this.reporters.packageLogFile(pkg) ?? this.reporters.logFile;
      if (!file) return {};
      return { logFile: this.#logPathsFrom === undefined ? file : relative(this.#logPathsFrom, file) };
    };
    // Released here only when taken here: a held lock stays its taker's.
    let lock: PackageLock | undefined;
    let startedPackage = false;
    try {
      if (run.lock !== 'none' && 'stateDir' in run.lock) lock = await acquirePackageLock(run.lock.stateDir, { emit, pkg, signal: this.signal });
      emit({ type: 'package-start', pkg, systemTarget: run.systemTarget, compat: run.compat });
      startedPackage = true;
      const result = await body({ pkg, emit, signal: this.signal });
      emit({ type: 'package-done', pkg, ok: true, durationMs: Date.now() - started, ...logFile() });
      return result;
    } catch (error) {
      if (!(error instanceof AiopError)) throw error;
      this.#reported(error);
      emit({ type: 'failure', target: pkg, pkg, message: error.message });
      if (startedPackage) emit({ type: 'package-done', pkg, ok: false, error: error.message, durationMs: Date.now() - started, ...logFile() });
      if (onFailure === 'throw') throw error;
      return undefined;
    } finally {
      await lock?.release();
    }
  }

  /** Notes that `error` goes through the reporters, and whether they show it to people. */
  #reported(error: AiopError): void {
    this.#reporting.markReported(error);
    if (this.reporters.showsFailures === true) markShown(error);
  }

  /** Reports a failure that belongs to no package build (a CI plan, a check of the whole run). */
  fail(error: AiopError, target: string): void {
    this.#reported(error);
    this.emit({ type: 'failure', target, message: error.message });
  }

  /** Stops listening for signals and closes the reporters (writing the summary). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopListening();
    await this.#reporting.reporters.close();
  }

  /**
   * Ends the session with an error thrown by its work: an expected failure not yet reported
   * is reported, the reporters are closed, and the error is given back to be thrown.
   */
  async end(error: unknown, target: string): Promise<unknown> {
    if (error instanceof AiopError && !this.#reporting.reported(error)) this.fail(error, target);
    await this.close();
    return error;
  }
}
