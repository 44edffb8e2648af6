/**
 * SIGINT and SIGTERM: abort the work (which ends every running command's process group and
 * removes temporary folders), then exit 130. A second signal exits at once.
 */
import { EXIT } from '../core/errors.js';

/** Aborts `controller` on SIGINT/SIGTERM; returns a function that stops listening. */
export function onInterrupt(controller: AbortController, graceMs = 1500): () => void {
  let count = 0;
  const handler = (): void => {
    count++;
    if (count > 1) process.exit(EXIT.interrupted);
    controller.abort();
    // Imported now: a build that never ran a shell command has not loaded child_process at all.
    void import('../engine/shell.js').then(({ killAllCommands }) => killAllCommands(graceMs));
    // Whatever happens, do not outlive the user's patience: cleanup has this long.
    setTimeout(() => process.exit(EXIT.interrupted), graceMs + 400).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
