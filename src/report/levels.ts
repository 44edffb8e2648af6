/**
 * Log levels as thresholds. Console and log file have their own threshold; `-v` forces
 * DEBUG on both and wins over `-sll`/`-fll` (the seed's two examples).
 */
import { LEVELS, type EventLevel, type Level } from '../core/events.js';

/** Position of a level in {@link LEVELS}; DISABLED is the highest, so nothing reaches it. */
export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** Whether a message at `level` passes a sink whose threshold is `threshold`. */
export function passes(level: EventLevel, threshold: Level): boolean {
  return threshold !== 'DISABLED' && levelRank(level) >= levelRank(threshold);
}

/** Parses a level name given by a person (case-insensitive); undefined when it is none. */
export function parseLevel(text: string): Level | undefined {
  const upper = text.trim().toUpperCase();
  // WARN is what many tools call WARNING; accepting it costs nothing and saves a retry.
  const name = upper === 'WARN' ? 'WARNING' : upper;
  return (LEVELS as readonly string[]).includes(name) ? (name as Level) : undefined;
}

/** The thresholds actually used: verbose means DEBUG everywhere, whatever else was asked. */
export function effectiveLevels(settings: { verbose: boolean; stdoutLevel: Level; fileLevel: Level }): {
  console: Level;
  file: Level;
} {
  if (settings.verbose) return { console: 'DEBUG', file: 'DEBUG' };
  return { console: settings.stdoutLevel, file: settings.fileLevel };
}
