/**
 * A Chrome Trace Event Format profile built from engine events (`aap --profile FILE`):
 * one complete event (`"ph":"X"`) per target that ran and per command, an instant event
 * per target found up to date. Open the file in Perfetto or chrome://tracing.
 *
 * Lanes: Perfetto draws events of one thread id as a stack, so events on one tid must
 * nest. Targets run in parallel, so each running target takes the lowest free lane (tid)
 * and its commands are drawn on that same lane, nested inside it.
 */
import { performance } from 'node:perf_hooks';
import { writeFileAtomic } from '../core/atomic.js';
import type { AiopEvent } from '../core/events.js';

/** One event of the trace (the subset of the format we write). */
export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'i' | 'M';
  /** Microseconds since the recorder started. */
  ts: number;
  /** Microseconds (complete events only). */
  dur?: number;
  pid: number;
  tid: number;
  /** Instant event scope: thread. */
  s?: 't';
  args?: Record<string, unknown>;
}

/** The JSON object form of the format. */
export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
}

interface Open {
  lane: number;
  start: number;
  reason: string;
  detail?: string;
  /** Commands of this target that have started and not ended, by command text. */
  commands: Map<string, number[]>;
}

/**
 * Collects trace events from an event stream. Feed it every event ({@link TraceRecorder.record}),
 * then {@link TraceRecorder.toJSON} or {@link TraceRecorder.write}.
 */
export class TraceRecorder {
  readonly #events: TraceEvent[] = [];
  readonly #open = new Map<string, Open>();
  readonly #busy = new Set<number>();
  readonly #origin: number;
  readonly #pid: number;
  #maxLane = 0;

  constructor(pid = process.pid, origin = performance.now()) {
    this.#pid = pid;
    this.#origin = origin;
  }

  #now(): number {
    return Math.round((performance.now() - this.#origin) * 1000);
  }

  /** The key of a target: a package (or child recipe) and the target's name. */
  static #key(event: { pkg?: string; target: string }): string {
    return `${event.pkg ?? ''}\0${event.target}`;
  }

  #takeLane(): number {
    let lane = 1;
    while (this.#busy.has(lane)) lane++;
    this.#busy.add(lane);
    this.#maxLane = Math.max(this.#maxLane, lane);
    return lane;
  }

  #name(event: { pkg?: string; target: string }): string {
    return event.pkg ? `${event.pkg}: ${event.target}` : event.target;
  }

  /** Takes one event; events that say nothing about timing are ignored. Never throws. */
  readonly record = (event: AiopEvent): void => {
    const now = this.#now();
    switch (event.type) {
      case 'target-start': {
        const open: Open = { lane: this.#takeLane(), start: now, reason: event.reason, commands: new Map() };
        if (event.detail !== undefined) open.detail = event.detail;
        this.#open.set(TraceRecorder.#key(event), open);
        break;
      }
      case 'target-done':
      case 'target-fail': {
        const key = TraceRecorder.#key(event);
        const open = this.#open.get(key);
        if (!open) break;
        this.#open.delete(key);
        this.#busy.delete(open.lane);
        const args: Record<string, unknown> = { reason: open.reason };
        if (open.detail !== undefined) args.detail = open.detail;
        if (event.type === 'target-done') args.changed = event.changed;
        else args.error = event.error;
        this.#events.push({ name: this.#name(event), cat: 'target', ph: 'X', ts: open.start, dur: Math.max(0, now - open.start), pid: this.#pid, tid: open.lane, args });
        break;
      }
      case 'target-skip':
        this.#events.push({ name: this.#name(event), cat: 'up-to-date', ph: 'i', s: 't', ts: now, pid: this.#pid, tid: 0, args: { reason: event.reason } });
        break;
      case 'command': {
        const open = this.#open.get(TraceRecorder.#key(event));
        if (!open) break;
        const starts = open.commands.get(event.command) ?? [];
        starts.push(now);
        open.commands.set(event.command, starts);
        break;
      }
      case 'command-end': {
        const open = this.#open.get(TraceRecorder.#key(event));
        const start = open?.commands.get(event.command)?.shift();
        if (!open || start === undefined) break;
        this.#events.push({
          name: event.command,
          cat: 'command',
          ph: 'X',
          ts: start,
          dur: Math.max(0, now - start),
          pid: this.#pid,
          tid: open.lane,
          args: { target: event.target, reason: open.reason, ok: event.ok },
        });
        break;
      }
      default:
        break;
    }
  };

  /** The trace so far, with lane names as metadata events. Targets still open are left out. */
  toJSON(): TraceFile {
    const meta: TraceEvent[] = [{ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid: this.#pid, tid: 0, args: { name: 'aap' } }];
    meta.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: this.#pid, tid: 0, args: { name: 'up to date' } });
    for (let lane = 1; lane <= this.#maxLane; lane++) {
      meta.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: this.#pid, tid: lane, args: { name: `job ${lane}` } });
    }
    const sorted = [...this.#events].sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
    return { traceEvents: [...meta, ...sorted], displayTimeUnit: 'ms' };
  }

  /** Writes the trace to `file` atomically. */
  async write(file: string): Promise<void> {
    await writeFileAtomic(file, `${JSON.stringify(this.toJSON())}\n`);
  }
}
