/**
 * The progress box: a few lines redrawn in place at the bottom of the terminal, showing
 * per package the phase, targets done of total, the current target, bytes downloaded with
 * the rate, and the elapsed time.
 *
 * Hand-written rather than listr2: listr2 drives a tree of tasks that it runs itself,
 * while aiop's engine already runs everything and only emits events; its renderers also
 * own the terminal, and here log lines must interleave above the box. What is needed is
 * small: erase N lines, print the log line, redraw N lines.
 */
import type { AiopEvent, Phase } from '../core/events.js';
import { formatBytes } from './format.js';

const PHASE_LABEL: Record<Phase, string> = {
  load: 'loading',
  fetch: 'fetching',
  recipe: 'recipe',
  pack: 'packing',
  upload: 'uploading',
  done: 'done',
};

interface Download {
  bytes: number;
  rate: number;
  active: boolean;
}

interface PackageProgress {
  phase?: Phase;
  total?: number;
  done: number;
  /** Targets running now, oldest first (several with -j). */
  running: string[];
  downloads: Map<string, Download>;
  ok?: boolean;
}

/** Keeps the state the box shows; pure, so it can be tested without a terminal. */
export class ProgressState {
  readonly #packages = new Map<string, PackageProgress>();
  readonly startedAt: number;

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  #pkg(key: string | undefined): PackageProgress {
    const k = key ?? '';
    let p = this.#packages.get(k);
    if (!p) {
      p = { done: 0, running: [], downloads: new Map() };
      this.#packages.set(k, p);
    }
    return p;
  }

  /** Updates from one event; returns whether anything shown changed. */
  add(event: AiopEvent): boolean {
    switch (event.type) {
      case 'package-start':
        this.#pkg(event.pkg);
        return true;
      case 'phase':
        this.#pkg(event.pkg).phase = event.phase;
        return true;
      case 'targets-planned':
        this.#pkg(event.pkg).total = event.total;
        this.#pkg(event.pkg).done += event.upToDate ?? 0;
        return true;
      case 'target-start':
        this.#pkg(event.pkg).running.push(event.target);
        return true;
      case 'target-done':
      case 'target-skip':
      case 'target-fail': {
        const p = this.#pkg(event.pkg);
        p.done += 1;
        const i = p.running.indexOf(event.target);
        if (i >= 0) p.running.splice(i, 1);
        return true;
      }
      case 'download-start': {
        const d = this.#pkg(event.pkg).downloads;
        d.set(`${event.name} ${event.url}`, { bytes: 0, rate: 0, active: true });
        return true;
      }
      case 'download-progress': {
        const d = this.#pkg(event.pkg).downloads;
        d.set(`${event.name} ${event.url}`, { bytes: event.bytes, rate: event.rate, active: true });
        return true;
      }
      case 'download-done': {
        if (event.fromCache) return false;
        const d = this.#pkg(event.pkg).downloads;
        d.set(`${event.name} ${event.url}`, { bytes: event.bytes, rate: 0, active: false });
        return true;
      }
      case 'package-done': {
        const p = this.#pkg(event.pkg);
        p.ok = event.ok;
        p.running = [];
        return true;
      }
      default:
        return false;
    }
  }

  /** Rows of the box, without frame, each one line. */
  rows(now = Date.now()): string[] {
    const entries = [...this.#packages.entries()];
    const downloaded = (p: PackageProgress): { bytes: number; rate: number } => {
      let bytes = 0;
      let rate = 0;
      for (const d of p.downloads.values()) {
        bytes += d.bytes;
        if (d.active) rate += d.rate;
      }
      return { bytes, rate };
    };
    const targets = (p: PackageProgress): string => `targets ${p.done}/${p.total ?? '?'}`;
    // The newest running target, and how many others run beside it.
    const current = (p: PackageProgress): string | undefined => {
      const last = p.running[p.running.length - 1];
      return last === undefined ? undefined : p.running.length > 1 ? `${last} (+${p.running.length - 1})` : last;
    };
    const net = (x: { bytes: number; rate: number }): string =>
      `${formatBytes(x.bytes)}${x.rate > 0 ? ` at ${formatBytes(x.rate)}/s` : ''}`;
    const elapsed = formatClock(now - this.startedAt);
    const named = entries.filter(([k]) => k !== '');
    if (named.length <= 1) {
      const empty: PackageProgress = { done: 0, running: [], downloads: new Map() };
      const p = named[0]?.[1] ?? this.#packages.get('') ?? empty;
      const title = named[0]?.[0];
      const rows = [
        ...(title ? [title] : []),
        `phase ${p.phase ? PHASE_LABEL[p.phase] : 'starting'}  ${targets(p)}  elapsed ${elapsed}`,
        `current ${current(p) ?? '-'}`,
        `downloaded ${net(downloaded(p))}`,
      ];
      return rows;
    }
    let bytes = 0;
    let rate = 0;
    let finished = 0;
    for (const [, p] of named) {
      const x = downloaded(p);
      bytes += x.bytes;
      rate += x.rate;
      if (p.ok !== undefined) finished += 1;
    }
    const rows = [`packages ${finished}/${named.length}  downloaded ${net({ bytes, rate })}  elapsed ${elapsed}`];
    for (const [pkg, p] of named) {
      const mark = p.ok === undefined ? ' ' : p.ok ? '+' : 'x';
      const phase = p.ok === false ? 'failed' : p.phase ? PHASE_LABEL[p.phase] : 'waiting';
      const now = current(p);
      rows.push(`${mark} ${pkg}  ${phase}  ${targets(p)}${now ? `  ${now}` : ''}`);
    }
    return rows;
  }
}

/** `mm:ss`, or `h:mm:ss` past an hour. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** Cuts a line to `width` columns (code points; box text is plain ASCII apart from the frame). */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text + ' '.repeat(width - chars.length) : `${chars.slice(0, Math.max(0, width - 1)).join('')}~`;
}

/** Draws rows inside a frame no wider than the terminal, so no line ever wraps. */
export function frame(title: string, rows: string[], columns: number): string[] {
  const width = Math.max(20, Math.min(columns - 1, 100));
  const inner = width - 4;
  const head = `╭─ ${title} `;
  const top = head + '─'.repeat(Math.max(0, width - [...head].length - 1)) + '╮';
  const bottom = `╰${'─'.repeat(width - 2)}╯`;
  return [top, ...rows.map((r) => `│ ${fit(r, inner)} │`), bottom];
}

/**
 * Owns the bottom of a terminal stream: log lines go through {@link print}, which lifts
 * the box, prints, and puts the box back. Redraws are coalesced (at most every 100 ms)
 * and the elapsed clock ticks once a second; both timers are unref'd so the box never
 * keeps the process alive.
 */
export class ProgressBox {
  readonly #out: NodeJS.WritableStream & { columns?: number };
  readonly #state: ProgressState;
  readonly #title: string;
  #drawn = 0;
  #lastDraw = 0;
  #pending: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(out: NodeJS.WritableStream & { columns?: number }, title: string, state = new ProgressState()) {
    this.#out = out;
    this.#title = title;
    this.#state = state;
  }

  /** Feeds an event; draws at once the first time, then coalesces. */
  add(event: AiopEvent): void {
    if (this.#stopped || !this.#state.add(event)) return;
    if (this.#ticker === undefined) {
      this.#ticker = setInterval(() => this.#redraw(), 1000);
      this.#ticker.unref();
      this.#redraw();
      return;
    }
    this.#schedule();
  }

  /**
   * Prints text (whole lines, newline-terminated) above the box. The box comes back at
   * once unless it was drawn less than 50 ms ago: under a flood of log lines it is redrawn
   * a few times a second rather than after every line (that would multiply the bytes sent
   * to the terminal by the size of the box).
   */
  print(text: string): void {
    if (this.#stopped) {
      this.#out.write(text);
      return;
    }
    const wasDrawn = this.#drawn > 0 || this.#ticker !== undefined;
    const now = Date.now();
    if (wasDrawn && now - this.#lastDraw >= 50) {
      this.#out.write(this.#erase() + text + this.#render(now));
      return;
    }
    this.#out.write(this.#erase() + text);
    if (wasDrawn) this.#schedule();
  }

  #schedule(): void {
    if (this.#pending !== undefined) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#redraw();
    }, 100);
    this.#pending.unref();
  }

  /** Removes the box for good; later prints go straight through. */
  stop(): void {
    if (this.#stopped) return;
    if (this.#pending) clearTimeout(this.#pending);
    if (this.#ticker) clearInterval(this.#ticker);
    this.#out.write(this.#erase());
    this.#stopped = true;
  }

  #redraw(): void {
    if (this.#stopped) return;
    this.#out.write(this.#erase() + this.#render());
  }

  #render(now = Date.now()): string {
    const lines = frame(this.#title, this.#state.rows(now), this.#out.columns || 80);
    this.#drawn = lines.length;
    this.#lastDraw = now;
    return lines.map((l) => `${l}\n`).join('');
  }

  /** Cursor up over the box, then clear to the end of the screen. */
  #erase(): string {
    if (this.#drawn === 0) return '';
    const seq = `\x1b[${this.#drawn}A\r\x1b[0J`;
    this.#drawn = 0;
    return seq;
  }
}
