/**
 * The one place where expected failures become messages and exit statuses. Every
 * executable wraps its work in {@link main}. Unexpected errors keep their stack.
 */
import { AiopError, EXIT, exitStatusFor, fileSystemFailure, formatFailure } from '../core/errors.js';
import { printFailure, wasShown } from '../report/failure-printer.js';
import { standardError } from '../core/std-streams.js';

/** Runs a command body and exits with its status. */
export function main(program: string, body: () => Promise<number>): void {
  // The standard streams are made where something is written (src/core/std-streams.ts).
  body().then(
    (status) => {
      process.exitCode = status;
    },
    (thrown: unknown) => {
      const error = fileSystemFailure(thrown);
      if (error instanceof AiopError) {
        // A failure the run's reporters showed (then the log file) is not said again; aap's
        // console, or a console level that hides errors, leaves it to this line.
        if (!wasShown(error)) printFailure(`${program}: error: ${formatFailure(error)}`, error);
        process.exitCode = exitStatusFor(error.reason);
        return;
      }
      standardError().write(`${program}: internal error (a bug, please report it):\n`);
      standardError().write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 70;
    },
  );
}

export { EXIT };
