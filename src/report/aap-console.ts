/**
 * The console of `aap` (SPEC section 3): a reporter of src/report/ like the others, chosen
 * by {@link attachReporters} when the session is aap's.
 */
import type { AiopEvent, EventStream, Level } from '../core/events.js';
import { LEVELS } from '../core/events.js';
import type { ReportSettings, Reporters } from './index.js';
import { ArtifactCollector, machineLine, unixNow } from './machine-readable.js';
import { redactor } from './redact.js';
import { standardError, standardOutput } from '../core/std-streams.js';

/** What only aap's console needs beyond the common report settings. */
export interface AapConsoleSettings {
  /** The `-d` flags: explain, expand, sign. */
  debug: ReadonlySet<string>;
  /** `-n`: say what would run. */
  nobuild: boolean;
}

/**
 * The console of `aap`, as A-A-P users know it: people's text on stderr, the recipe's own
 * `:print` on stdout; `-d` output on stderr whatever the level; `--machine-readable` turns
 * every shown message into a `ui` line on stdout and ends with aiop build's artifact and
 * error blocks (see docs/output.md). Every line passes through redaction.
 */
export function attachAapConsole(stream: EventStream, settings: ReportSettings, aap: AapConsoleSettings): Reporters {
  const level: Level = settings.verbose ? 'DEBUG' : settings.stdoutLevel;
  const threshold = LEVELS.indexOf(level);
  const { debug } = aap;
  const machine = settings.machineReadable;
  const clean = redactor(settings.secrets);
  const io = { stdout: settings.stdout ?? standardOutput(), stderr: settings.stderr ?? standardError() };
  const options = { nobuild: aap.nobuild };
  // The end-of-run block is aiop build's, from the same collector: the run is one package, `aap`.
  const artifacts = new ArtifactCollector();
  let targetFailed = false;
  /** Shows a message; in machine-readable mode as aiop build does (headings `say`, DEBUG on stderr). */
  const say = (l: Exclude<Level, 'DISABLED'>, text: string, toStdout = false, heading = false): void => {
    if (level === 'DISABLED' || LEVELS.indexOf(l) < threshold) return;
    if (machine && l !== 'DEBUG') {
      const kind = LEVELS.indexOf(l) >= LEVELS.indexOf('ERROR') ? 'error' : heading ? 'say' : 'message';
      io.stdout.write(machineLine(unixNow(), '', 'ui', kind, clean(text)));
    } else (toStdout && !machine ? io.stdout : io.stderr).write(`${clean(text)}\n`);
  };
  const debugLine = (flag: string, text: string): void => {
    if (machine) io.stdout.write(machineLine(unixNow(), '', 'ui', 'message', clean(`${flag}: ${text}`)));
    else io.stderr.write(`${clean(`${flag}: ${text}`)}\n`);
  };
  const name = (e: { pkg?: string; target: string }): string => (e.pkg ? `${e.pkg}: ${e.target}` : e.target);
  const unsubscribe = stream.subscribe((e: AiopEvent) => {
    switch (e.type) {
      case 'log':
        if (e.source === 'expand' || e.source === 'sign') {
          if (debug.has(e.source)) debugLine(e.source, e.pkg ? `${e.pkg}: ${e.message}` : e.message);
          break;
        }
        if (e.source === 'recipe') say(e.level, e.message, true);
        else say(e.level, `${e.level === 'INFO' ? '' : `${e.level}: `}${e.pkg ? `${e.pkg}: ` : ''}${e.message}`);
        break;
      case 'target-start':
        if (debug.has('explain')) debugLine('explain', `${name(e)}: runs because ${explainReason(e.reason)}${e.detail ? ` (${e.detail})` : ''}`);
        say('INFO', `==> ${name(e)}${options.nobuild ? ' (would run)' : ''}`, false, true);
        break;
      case 'target-skip':
        if (debug.has('explain')) debugLine('explain', `${name(e)}: not run: up to date (output, sources, commands and dependencies unchanged)`);
        say('DEBUG', `    ${name(e)} is up to date`);
        break;
      case 'command':
        say(options.nobuild ? 'INFO' : 'DEBUG', `    $ ${e.command}`);
        break;
      case 'command-output':
        say('DEBUG', `    | ${e.text.replace(/\n$/, '')}`);
        break;
      case 'command-end':
        // A command's output in one piece when it ends, as ninja shows it: on stdout beside
        // `:print` when it succeeded, on stderr before the error when it failed. With -v it
        // was shown line by line already.
        if (e.output !== undefined && threshold > LEVELS.indexOf('DEBUG')) say(e.ok ? 'INFO' : 'ERROR', e.output, e.ok);
        break;
      case 'target-fail':
        say('ERROR', `ERROR: ${e.error}`);
        break;
      case 'download-done':
        say('DEBUG', `    downloaded ${e.url} (${e.bytes} bytes)`);
        break;
      case 'failure':
        // The session's own failure of the whole run (pkg "aap", always the last) sums up the
        // targets' failures: listed only when no target's failure was.
        if (e.pkg === 'aap' && targetFailed) break;
        if (e.pkg !== 'aap') targetFailed = true;
        artifacts.add(e);
        break;
      case 'package-start':
      case 'package-done':
      case 'output':
        artifacts.add(e);
        break;
      default:
        break;
    }
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe();
      if (!machine) return;
      for (const line of artifacts.closingLines(unixNow(), clean)) io.stdout.write(line);
    })();
    return closing;
  };
  return { progress: false, packageLogFile: () => undefined, close };
}

function explainReason(reason: string): string {
  switch (reason) {
    case 'forced':
      return 'of -F (force)';
    case 'never-built':
      return 'it was never built (no signature recorded)';
    case 'output-missing':
      return 'its output does not exist';
    case 'output-changed':
      return 'its output was changed since it was built';
    case 'sources-changed':
      return 'its sources changed';
    case 'commands-changed':
      return 'its build commands changed';
    case 'dependencies-changed':
      return 'a dependency changed';
    case 'marked-changed':
      return 'a source was named by --changed';
    case 'virtual':
      return 'it is a virtual target with commands (always run)';
    default:
      return reason;
  }
}
