/**
 * Wires the reporters of src/report/ to a command's event stream from its options and the
 * user configuration, and routes failures that happen before or after building into the
 * same outputs (human message on stderr; `error-count`/`error` lines in machine-readable mode).
 */
import { resolveSettings } from '../options/settings.js';
import { join } from 'node:path';
import { EventStream, type Level } from '../core/events.js';
import type { AiopError } from '../core/errors.js';
import type { UserConfig } from '../playbook/schema.js';
import { attachReporters, type Reporters, type ReportSettings } from '../report/index.js';
import { machineLine } from '../report/machine-readable.js';
import { standardError, standardOutput } from '../core/std-streams.js';
import { markReported, setFailurePrinter, wasReported } from '../report/failure-printer.js';

/** The reporting options every command shares (the seed's -v, -sll, -fll, -hp, plus --machine-readable). */
export interface ReportOptions {
  verbose: boolean;
  stdoutLogLevel?: Level;
  fileLogLevel?: Level;
  hideProgress: boolean;
  machineReadable: boolean;
}

/** Secrets that must never be printed: the upload credentials from the environment. */
export function secretsFrom(env: NodeJS.ProcessEnv): string[] {
  return ['AIOP_UPLOAD_PASSWORD', 'AIOP_UPLOAD_TOKEN'].map((k) => env[k]).filter((v): v is string => typeof v === 'string' && v.length > 0);
}


/**
 * In machine-readable mode, a failure found before the reporters exist still ends stdout
 * with `error-count` and `error` lines, so parsers always find them.
 */
export function machineReadableFailures(program: 'aiop' | 'aap', enabled: boolean): void {
  if (!enabled) return;
  setFailurePrinter((message, error) => {
    standardError().write(`${message}\n`);
    if (wasReported(error)) return;
    const now = Math.floor(Date.now() / 1000);
    standardOutput().write(machineLine(now, '', 'error-count', '1') + machineLine(now, program, 'error', error.message));
  });
}

export interface Reporting {
  stream: EventStream;
  reporters: Reporters;
  /** Notes that `error` went through the reporters, so that it is not printed again at exit. */
  markReported(error: AiopError): void;
  /** Whether `error` went through the reporters. */
  reported(error: AiopError): boolean;
}

/** What reporting needs: resolved once, before anything is written. */
export interface ReportingSettings {
  program: 'aiop' | 'aap';
  options: ReportOptions;
  userConfig: UserConfig;
  /** The playbook root (or the folder standing in for it): the default log folder is under it. */
  root: string;
  /** The log file's name: the package id, `build_all` or `aap`. */
  logName: string;
  env: NodeJS.ProcessEnv;
  /** Reporter settings beyond the common ones (build_all's per-package logs, aap's console). */
  extra?: Partial<ReportSettings>;
}

/** Attaches the reporters for one run. */
export async function startReporting(opts: ReportingSettings): Promise<Reporting> {
  const { options, userConfig } = opts;
  const { stdoutLevel, fileLevel } = resolveSettings(options, userConfig);
  const stream = new EventStream();
  const reporters = await attachReporters(stream, {
    program: opts.program,
    verbose: options.verbose,
    stdoutLevel,
    fileLevel,
    machineReadable: options.machineReadable,
    hideProgress: options.hideProgress,
    logDir: userConfig.log_dir ?? join(opts.root, '.aiop', 'logs'),
    logKeep: userConfig.log_keep,
    logName: opts.logName,
    env: opts.env,
    secrets: secretsFrom(opts.env),
    ...opts.extra,
  });
  return {
    stream,
    reporters,
    markReported,
    reported: wasReported,
  };
}
