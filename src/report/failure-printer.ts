/**
 * Where a failure message goes once a command has failed. The console prints it on stderr;
 * in machine-readable mode a command routes it to `error-count`/`error` lines instead. Kept
 * here, beside the reporters, so that the command line and the commands share one printer.
 */
import type { AiopError } from '../core/errors.js';
import { redactKnown } from './redact.js';
import { standardError } from '../core/std-streams.js';

/** Prints the message of a failure that ends a command. */
export type FailurePrinter = (message: string, error: AiopError) => void;

let printer: FailurePrinter = (message) => {
  standardError().write(`${message}\n`);
};

/** Lets a command route failure messages elsewhere (e.g. to `ui,error` lines). */
export function setFailurePrinter(next: FailurePrinter): void {
  printer = next;
}

/** Prints a failure through the current printer. */
export function printFailure(message: string, error: AiopError): void {
  // A server's error body may echo the credentials it was sent; the machine-readable printer shows error.message.
  error.message = redactKnown(error.message);
  printer(redactKnown(message), error);
}

const reported = new WeakSet<AiopError>();

/** Notes that a failure already went through a run's reporters (so an exit printer can skip it). */
export function markReported(error: AiopError): void {
  reported.add(error);
}

/** Whether a failure already went through a run's reporters. */
export function wasReported(error: AiopError): boolean {
  return reported.has(error);
}

const shown = new WeakSet<AiopError>();

/** Notes that a run's reporters showed a failure to people (then the exit printer says nothing). */
export function markShown(error: AiopError): void {
  shown.add(error);
}

/** Whether a run's reporters showed a failure to people. */
export function wasShown(error: AiopError): boolean {
  return shown.has(error);
}
