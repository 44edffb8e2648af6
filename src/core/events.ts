/**
 * The one event stream of aiop. The core (playbook, engine, artifacts, pack, publish, ci)
 * only ever emits these values; reporters (console, log file, progress box,
 * machine-readable) subscribe and decide what to show. Nothing in the core prints.
 */

/** Log levels, weakest first. DISABLED is only a threshold, never an event level. */
export const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'DISABLED'] as const;
export type Level = (typeof LEVELS)[number];
export type EventLevel = Exclude<Level, 'DISABLED'>;

/** Phases of one package build, in order. */
export type Phase = 'load' | 'fetch' | 'recipe' | 'pack' | 'upload' | 'done';

/** Kinds of output a package build produces; the machine-readable builder id is `aiop.<kind>`. */
export type OutputKind = 'folder' | 'zip' | 'deb' | 'rpm' | 'upload';

/** Why a target runs (or, for `target-skip`, why not). Used by `aap -d explain` and `--profile`. */
export type TargetReason =
  | 'forced'
  | 'never-built'
  | 'output-missing'
  | 'output-changed'
  | 'sources-changed'
  | 'commands-changed'
  | 'dependencies-changed'
  | 'marked-changed'
  | 'virtual'
  | 'up-to-date';

export type AiopEvent =
  /** Free text for people, with a level. `source` names the module that speaks (`engine`, `artifacts`, ...). */
  | { type: 'log'; level: EventLevel; source: string; message: string; pkg?: string }
  | { type: 'phase'; phase: Phase; pkg?: string }
  | { type: 'package-start'; pkg: string; systemTarget: string; compat: Record<string, string> }
  | { type: 'package-done'; pkg: string; ok: boolean; error?: string; logFile?: string; durationMs: number }
  /** The engine knows how many targets the goal needs. */
  /** `upToDate`: how many of them are known to be up to date without a check each (the no-op fast path). */
  | { type: 'targets-planned'; pkg?: string; total: number; upToDate?: number }
  | { type: 'target-start'; pkg?: string; target: string; reason: TargetReason; detail?: string }
  | { type: 'target-skip'; pkg?: string; target: string; reason: TargetReason; detail?: string }
  | { type: 'target-done'; pkg?: string; target: string; durationMs: number; changed: boolean }
  | { type: 'target-fail'; pkg?: string; target: string; error: string }
  /** One recipe command about to run (already expanded). `builtin` for `:commands`. */
  | { type: 'command'; pkg?: string; target: string; command: string; builtin: boolean }
  /** `output`: what the command printed on stdout and stderr, in one piece (see src/engine/capture.ts); absent when nothing. */
  | { type: 'command-end'; pkg?: string; target: string; command: string; durationMs: number; ok: boolean; output?: string }
  /** Output of a running command as it comes, for the log file; `text` ends with a newline. */
  | { type: 'command-output'; pkg?: string; target: string; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'download-start'; pkg?: string; name: string; url: string; total?: number; attempt: number }
  | { type: 'download-progress'; pkg?: string; name: string; url: string; bytes: number; total?: number; rate: number }
  | { type: 'download-retry'; pkg?: string; name: string; url: string; attempt: number; reason: string; delayMs: number }
  | { type: 'download-done'; pkg?: string; name: string; url: string; bytes: number; fromCache: boolean; integrity: string }
  | { type: 'cache-hit'; pkg?: string; name: string; url: string; integrity: string }
  /** A finished output of a package build; the machine-readable reporter turns these into `artifact` lines. */
  | {
      type: 'output';
      pkg: string;
      kind: OutputKind;
      id: string;
      description: string;
      files: string[];
      /** How many `files` there are, given where the list is read lazily (from a record): counting them need not split it. */
      fileCount?: number;
    }
  | { type: 'upload-start'; pkg?: string; file: string; url: string; attempt: number }
  | { type: 'upload-retry'; pkg?: string; file: string; url: string; attempt: number; reason: string; delayMs: number }
  | { type: 'upload-done'; pkg?: string; file: string; url: string; bytes: number }
  /** A failure reported at the end, per target (package id, or recipe target for `aap`). */
  | { type: 'failure'; pkg?: string; target: string; message: string };

export type AiopEventType = AiopEvent['type'];
export type EventOf<T extends AiopEventType> = Extract<AiopEvent, { type: T }>;

/** Where the core sends events. Cheap to call; never throws. */
export type Emit = (event: AiopEvent) => void;

/** A tiny synchronous fan-out: one stream, many sinks. */
export class EventStream {
  readonly #sinks: Array<(event: AiopEvent) => void> = [];

  /** Subscribes a sink; returns a function that unsubscribes it. */
  subscribe(sink: (event: AiopEvent) => void): () => void {
    this.#sinks.push(sink);
    return () => {
      const i = this.#sinks.indexOf(sink);
      if (i >= 0) this.#sinks.splice(i, 1);
    };
  }

  /** Bound, so it can be handed around as an {@link Emit}. */
  readonly emit: Emit = (event) => {
    for (const sink of this.#sinks) sink(event);
  };
}

/** Convenience for the core: a log event. */
export function log(emit: Emit, level: EventLevel, source: string, message: string, pkg?: string): void {
  emit(pkg === undefined ? { type: 'log', level, source, message } : { type: 'log', level, source, message, pkg });
}
