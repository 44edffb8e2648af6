/** POSIX shell quoting for the command lines that generated CI jobs run. */

/** Words made only of these characters mean the same to every POSIX shell when left bare. */
const SAFE_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * One word as the POSIX shell reads it back: bare when that is unambiguous, otherwise in
 * single quotes (the only quoting in which nothing is special), each `'` written as `'\''`.
 */
export function shellQuote(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words joined into one command line, each quoted as needed. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
