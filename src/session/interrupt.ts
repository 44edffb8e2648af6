/**
 * SIGINT, SIGTERM and SIGHUP: abort the work (which ends every running command's process
 * group, SIGTERM then SIGKILL, and removes temporary folders), then exit 130 (129 for SIGHUP).
 * A second signal does not wait: every command's process group gets SIGKILL at once, and the
 * build's clean-up (the `.partial` folder, the lock) still runs before the process exits.
 */
import { noteInterruptSignal, exitStatusFor } from '../core/errors.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** After a second signal, how long the clean-up may take before the process exits anyway. */
const ESCALATED_MS = 1000;

/** Aborts `controller` on SIGINT/SIGTERM/SIGHUP; returns a function that stops listening. */
export function onInterrupt(controller: AbortController, graceMs = 1500): () => void {
  let count = 0;
  const kill = (grace: number): void => {
    // Imported now: a build that never ran a shell command has not loaded child_process at all.
    void import('../engine/shell.js').then(({ killAllCommands }) => killAllCommands(grace));
  };
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    noteInterruptSignal(signal);
    const status = exitStatusFor('interrupted');
    if (count > 1) {
      kill(0);
      // Clean-ups registered with cleanupOnExit run on exit, whatever is still pending.
      setTimeout(() => process.exit(status), ESCALATED_MS).unref();
      return;
    }
    controller.abort();
    kill(graceMs);
    // Whatever happens, do not outlive the user's patience: cleanup has this long.
    setTimeout(() => process.exit(status), graceMs + 400).unref();
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of SIGNALS) process.off(signal, handler);
  };
}
