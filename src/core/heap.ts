/**
 * One full garbage collection, on purpose. Parsing a 10,000-target recipe or planning its build
 * leaves about 100 MB of garbage in the old generation, and V8, whose limit grew with it, keeps
 * it (and the resident memory) for the rest of the run unless told. `gc` is exposed at run time
 * because the CLI starts Node without flags; where that fails, nothing happens (only memory is
 * at stake). A collection of such a heap costs tens of milliseconds: callers use it only after
 * work that took far longer.
 */
import { createRequire } from 'node:module';

/** Runs a full, compacting garbage collection now. */
export function compactHeap(): void {
  try {
    // Required here, not imported: `v8` brings perf_hooks with it, start-up time that a small
    // build (and the incremental fast path, which imports the engine) never needs.
    const require = createRequire(import.meta.url);
    const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
    const { runInNewContext } = require('node:vm') as typeof import('node:vm');
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Only memory is at stake.
  }
}
