/**
 * For the bench's helper scripts: `--rss FILE` as their last two arguments makes them append
 * their own peak RSS (KiB) to FILE when they finish, so the timed runs also give the memory
 * figure and no extra run of a large scenario is needed.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';

/** Removes `--rss FILE` from argv and records the peak RSS into FILE at exit. */
export function recordRssFromArgs(argv: string[]): string[] {
  const at = argv.indexOf('--rss');
  if (at < 0) return argv;
  const file = argv[at + 1];
  if (file) process.once('exit', () => appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
  return [...argv.slice(0, at), ...argv.slice(at + 2)];
}

/** The largest peak RSS recorded in FILE, in MB, and the file removed; undefined when none. */
export function takeRssMb(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const values = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  rmSync(file, { force: true });
  return values.length === 0 ? undefined : Math.round(Math.max(...values) / 1024);
}
