/**
 * One full garbage collection, on purpose. Parsing a 10,000-target recipe or planning its build
 * leaves about 100 MB of garbage in the old generation, and V8, whose limit grew with it, keeps
 * it (and the resident memory) for the rest of the run unless told. `gc` is exposed at run time
 * because the CLI starts Node without flags; where that fails, nothing happens (only memory is
 * at stake). A collection of such a heap costs tens of milliseconds: callers use it only after
 * work that took far longer.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Runs a full, compacting garbage collection now. */
export function compactHeap(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Only memory is at stake.
  }
}
