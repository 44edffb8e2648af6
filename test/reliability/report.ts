/**
 * What the reliability tests tried and what held, as JSON lines appended to the file named
 * by `AIOP_RELIABILITY_REPORT` (set by `npm run reliability`, which turns them into the
 * table of docs/RELIABILITY.md). Without that variable nothing is written.
 */
import { appendFileSync } from 'node:fs';

/** The table's rows: one kind of thing tried. */
export type Category = 'kill' | 'concurrency' | 'fault' | 'hostile' | 'fuzz' | 'secret';

/** One thing tried: `held` is whether the promise was kept (the test also asserts it). */
export interface Trial {
  category: Category;
  /** What was tried, short (e.g. "SIGKILL during a first build"). */
  what: string;
  held: boolean;
  /** How many times (fuzz runs, kills); default 1. */
  count?: number;
}

/** Records a trial when a report file is asked for. */
export function recordTrial(trial: Trial): void {
  const file = process.env['AIOP_RELIABILITY_REPORT'];
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ count: 1, ...trial })}\n`);
}

/** Whether the slow variants run (CI, or asked for). */
export function slowTests(): boolean {
  return process.env['CI'] === 'true' || process.env['AIOP_SLOW_TESTS'] === '1';
}

/** A small seeded generator (mulberry32), so a failing run can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
