/**
 * The reporting switches on a command line (the seed's -v, -sll, -fll, -hp, and
 * --machine-readable), found and replaced without the parser: `build_again` replays the
 * recorded build with its own reporting switches instead of the recorded ones.
 */

import { optionsOf, takesValue, wordsOf } from './table.js';

/** The reporting switches: the options of `build_again` in the table of options. */
const REPORTING = optionsOf('build_again');
/** Reporting switches that take no value, by canonical name. */
const FLAGS = new Set(REPORTING.filter((o) => !takesValue(o)).flatMap(wordsOf).map(canonical));
/** Reporting switches that take a value (`-sll DEBUG` or `--stdout_log_level=DEBUG`). */
const WITH_VALUE = new Set(REPORTING.filter(takesValue).flatMap(wordsOf).map(canonical));

/** A word's switch name with `-` and `_` made the same (`--machine-readable` is `--machine_readable`). */
function canonical(word: string): string {
  const eq = word.indexOf('=');
  const head = eq > 0 ? word.slice(0, eq) : word;
  return head.startsWith('--') ? `--${head.slice(2).replaceAll('-', '_')}` : head;
}

/** Splits `argv` into its reporting switches (with their values) and every other word, in order. */
function split(argv: readonly string[]): { report: string[]; rest: string[] } {
  const report: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const name = canonical(word);
    if (FLAGS.has(name) && !word.includes('=')) report.push(word);
    else if (WITH_VALUE.has(name)) {
      report.push(word);
      if (!word.includes('=') && i + 1 < argv.length) report.push(argv[++i]!);
    } else rest.push(word);
  }
  return { report, rest };
}

/** The reporting switches of `argv`, with their values. */
export function reportWordsOf(argv: readonly string[]): string[] {
  return split(argv).report;
}

/** `argv` with its reporting switches replaced by `own`. */
export function withReportWords(argv: readonly string[], own: readonly string[]): string[] {
  const { rest } = split(argv);
  // Before a `--`, after which every word is an operand.
  const end = rest.indexOf('--');
  return end < 0 ? [...rest, ...own] : [...rest.slice(0, end), ...own, ...rest.slice(end)];
}
