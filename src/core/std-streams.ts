/**
 * The process's standard output and error, made on first use. Node builds `process.stdout`
 * and `process.stderr` (and loads its stream modules) the first time they are read, so a
 * quiet build that prints nothing never pays for them; whoever writes takes them from here,
 * and gets them with the one rule for a reader that went away.
 */

type StdStream = NodeJS.WriteStream;

const guarded = new WeakSet<StdStream>();

/** A reader that went away (`aiop ... | head`) is not an error of ours: the process ends quietly. */
function guard(stream: StdStream): StdStream {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  return stream;
}

/** `process.stdout`, guarded. */
export function standardOutput(): StdStream {
  return guard(process.stdout);
}

/** `process.stderr`, guarded. */
export function standardError(): StdStream {
  return guard(process.stderr);
}

/** Makes and guards both at once, for code that writes to `process.stdout` itself (a parser's help text). */
export function guardStandardStreams(): void {
  standardOutput();
  standardError();
}
