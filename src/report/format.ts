/**
 * How events read to people: which level each event has, which module speaks, and its
 * text. The console, the log file and the `ui` lines of machine-readable mode all use this
 * one mapping, so they never disagree.
 */
import type { AiopEvent, EventLevel, Phase } from '../core/events.js';

/** One line (or a few, joined by newlines) for people. */
export interface Message {
  level: EventLevel;
  source: string;
  text: string;
  pkg?: string;
  /** A heading (phase change): machine-readable `ui,say` rather than `ui,message`. */
  heading?: boolean;
  /** The text already names its package: do not prefix it again. */
  named?: boolean;
}

const PHASE_TEXT: Record<Phase, string> = {
  load: 'Loading the playbook',
  fetch: 'Fetching artifacts',
  recipe: 'Running the recipe',
  pack: 'Packing',
  upload: 'Uploading',
  done: 'Done',
};

/** A short human size: 1536 -> `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A short human duration: `850 ms`, `3.2 s`, `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

function withPkg(message: Message, pkg: string | undefined): Message {
  return pkg === undefined ? message : { ...message, pkg };
}

/**
 * The message for an event, or undefined for events that are never logged
 * (`download-progress` feeds the progress box only; `command-output` is split into lines
 * by the caller, which buffers partial lines first).
 */
export function describe(event: AiopEvent): Message | undefined {
  switch (event.type) {
    case 'log':
      return withPkg({ level: event.level, source: event.source, text: event.message }, event.pkg);
    case 'phase':
      return withPkg({ level: 'INFO', source: 'build', text: PHASE_TEXT[event.phase], heading: true }, event.pkg);
    case 'package-start': {
      const values = Object.values(event.compat).join(' ');
      const text = `Building ${event.pkg} (${event.systemTarget}${values ? ` ${values}` : ''})`;
      return { level: 'INFO', source: 'build', text, pkg: event.pkg, heading: true, named: true };
    }
    case 'package-done':
      if (event.ok) {
        return { level: 'INFO', source: 'build', text: `Built ${event.pkg} in ${formatDuration(event.durationMs)}`, pkg: event.pkg, named: true };
      }
      return {
        level: 'ERROR',
        source: 'build',
        text: `${event.pkg} failed after ${formatDuration(event.durationMs)}${event.error ? `: ${event.error}` : ''}${event.logFile ? ` (log: ${event.logFile})` : ''}`,
        pkg: event.pkg,
        named: true,
      };
    case 'targets-planned':
      return withPkg({ level: 'DEBUG', source: 'engine', text: `${event.total} targets planned` }, event.pkg);
    case 'target-start': {
      const why = `${event.reason}${event.detail ? `: ${event.detail}` : ''}`;
      // Virtual targets are names, not work: only worth a line when debugging.
      const level = event.reason === 'virtual' ? 'DEBUG' : 'INFO';
      return withPkg({ level, source: 'engine', text: `Making ${event.target} (${why})` }, event.pkg);
    }
    case 'target-skip':
      return withPkg(
        { level: 'DEBUG', source: 'engine', text: `${event.target} is up to date${event.detail ? ` (${event.detail})` : ''}` },
        event.pkg,
      );
    case 'target-done':
      return withPkg(
        {
          level: 'DEBUG',
          source: 'engine',
          text: `${event.target} made in ${formatDuration(event.durationMs)}${event.changed ? '' : ' (output unchanged)'}`,
        },
        event.pkg,
      );
    case 'target-fail':
      // The engine's messages already name the target (`target "bin/hello": ...`).
      return withPkg(
        { level: 'ERROR', source: 'engine', text: event.error.startsWith(`target "${event.target}"`) ? event.error : `${event.target} failed: ${event.error}` },
        event.pkg,
      );
    case 'command':
      // Shell commands are echoed like make and A-A-P do; built-ins are bookkeeping.
      return withPkg(
        { level: event.builtin ? 'DEBUG' : 'INFO', source: 'engine', text: `${event.target}: ${event.command}` },
        event.pkg,
      );
    case 'command-end':
      return withPkg(
        {
          level: 'DEBUG',
          source: 'engine',
          text: `${event.target}: ${event.ok ? 'finished' : 'FAILED'} in ${formatDuration(event.durationMs)}: ${event.command}`,
        },
        event.pkg,
      );
    case 'command-output':
    case 'download-progress':
      return undefined;
    case 'download-start': {
      const size = event.total !== undefined ? ` (${formatBytes(event.total)})` : '';
      const attempt = event.attempt > 1 ? `, attempt ${event.attempt}` : '';
      return withPkg({ level: 'INFO', source: 'artifacts', text: `Downloading ${event.name}${size} from ${event.url}${attempt}` }, event.pkg);
    }
    case 'download-retry':
      return withPkg(
        {
          level: 'WARNING',
          source: 'artifacts',
          text: `Download of ${event.name} failed (${event.reason}); retrying in ${formatDuration(event.delayMs)} (attempt ${event.attempt})`,
        },
        event.pkg,
      );
    case 'download-done':
      return withPkg(
        {
          level: event.fromCache ? 'DEBUG' : 'INFO',
          source: 'artifacts',
          text: `${event.fromCache ? 'Took' : 'Downloaded'} ${event.name} (${formatBytes(event.bytes)}, ${event.integrity})${event.fromCache ? ' from the cache' : ''}`,
        },
        event.pkg,
      );
    case 'cache-hit':
      return withPkg({ level: 'INFO', source: 'artifacts', text: `${event.name} found in the cache (${event.integrity})` }, event.pkg);
    case 'output':
      // Listed with their sizes by the summary at the end.
      return { level: 'DEBUG', source: 'pack', text: `Output (${event.kind}): ${event.id}`, pkg: event.pkg };
    case 'upload-start': {
      const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
      return withPkg({ level: 'INFO', source: 'publish', text: `Uploading ${event.file} to ${event.url}${attempt}` }, event.pkg);
    }
    case 'upload-retry':
      return withPkg(
        {
          level: 'WARNING',
          source: 'publish',
          text: `Upload of ${event.file} failed (${event.reason}); retrying in ${formatDuration(event.delayMs)} (attempt ${event.attempt})`,
        },
        event.pkg,
      );
    case 'upload-done':
      return withPkg({ level: 'INFO', source: 'publish', text: `Uploaded ${event.file} (${formatBytes(event.bytes)}) to ${event.url}` }, event.pkg);
    case 'failure':
      return withPkg({ level: 'ERROR', source: 'build', text: `${event.target}: ${event.message}` }, event.pkg);
  }
}
