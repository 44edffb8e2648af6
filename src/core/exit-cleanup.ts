/**
 * Clean-ups that must happen even when the process exits before the code that normally does
 * them runs (a second Ctrl-C, the grace period of an interruption running out): removing a
 * half-built `.partial` folder, releasing a lock. Each runs synchronously from Node's 'exit'
 * event, and only if it was not forgotten first (the normal path forgets it once done).
 */
const pending = new Map<symbol, () => void>();
let installed = false;

/** Runs `action` when the process exits, unless the returned function is called first. */
export function cleanupOnExit(action: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const run of pending.values()) {
        try {
          run();
        } catch {
          // Best effort: exiting goes on.
        }
      }
      pending.clear();
    });
  }
  const key = Symbol('cleanup');
  pending.set(key, action);
  return () => {
    pending.delete(key);
  };
}
