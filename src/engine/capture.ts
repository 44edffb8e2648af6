/**
 * One command's output, both streams in the order their lines came, kept so that it can be
 * shown in one piece when the command ends (as ninja does): on the console, two commands
 * running at once never mix their lines. The log file gets every line as it comes
 * (`command-output` events); this copy is bounded and keeps the end, where a failing
 * command usually says why.
 */

/** What a command's output is kept up to, in characters; beyond it the earliest lines are left out. */
export const CAPTURE_LIMIT = 1024 * 1024;

/** Collects the lines of one command. */
export class OutputCapture {
  readonly #lines: string[] = [];
  #size = 0;
  #dropped = 0;

  constructor(private readonly limit = CAPTURE_LIMIT) {}

  /** Adds one line (without its newline). */
  add(line: string): void {
    if (line.length > this.limit) line = `[...] ${line.slice(line.length - this.limit)}`;
    this.#lines.push(line);
    this.#size += line.length + 1;
    while (this.#size > this.limit && this.#lines.length > 1) {
      this.#size -= this.#lines.shift()!.length + 1;
      this.#dropped++;
    }
  }

  /** The output as one text without a final newline, or undefined when the command printed nothing. */
  text(): string | undefined {
    if (this.#lines.length === 0) return undefined;
    const kept = this.#lines.join('\n');
    return this.#dropped > 0 ? `[... ${this.#dropped} earlier line${this.#dropped === 1 ? '' : 's'} left out ...]\n${kept}` : kept;
  }
}
