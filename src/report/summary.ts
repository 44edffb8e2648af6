/**
 * The human end-of-run summary: what was built and where, sizes, time taken, targets
 * made versus up to date, downloads versus cache hits, failures with their log files.
 */
import { isAbsolute, join } from 'node:path';
import type { AiopEvent, EventLevel, EventOf } from '../core/events.js';
import { formatBytes, formatDuration } from './format.js';
import { statOrUndefined } from '../store/stamp.js';

/** One summary line with the level it is shown at. */
export interface SummaryLine {
  level: EventLevel;
  text: string;
}

interface PackageSummary {
  ok?: boolean;
  error?: string;
  logFile?: string;
  durationMs?: number;
  outputs: EventOf<'output'>[];
}

/** Beyond this many files a folder's size is left out: the summary must stay quick. */
const MAX_FILES_TO_SIZE = 2000;

/** Counts what the summary reports, from the events of the run. */
export class RunStats {
  readonly startedAt: number;
  readonly packages = new Map<string, PackageSummary>();
  targetsMade = 0;
  targetsFailed = 0;
  targetsUpToDate = 0;
  downloads = 0;
  downloadedBytes = 0;
  uploads = 0;
  readonly #cacheHits = new Set<string>();
  readonly failures: EventOf<'failure'>[] = [];
  /** Virtual targets are names, not work: they do not count as made. */
  readonly #virtual = new Set<string>();

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  get cacheHits(): number {
    return this.#cacheHits.size;
  }

  #pkg(pkg: string): PackageSummary {
    let p = this.packages.get(pkg);
    if (!p) {
      p = { outputs: [] };
      this.packages.set(pkg, p);
    }
    return p;
  }

  /** Feeds one event. */
  add(event: AiopEvent): void {
    switch (event.type) {
      case 'package-start':
        this.#pkg(event.pkg);
        break;
      case 'package-done': {
        const p = this.#pkg(event.pkg);
        p.ok = event.ok;
        p.error = event.error;
        p.logFile = event.logFile;
        p.durationMs = event.durationMs;
        break;
      }
      case 'output':
        this.#pkg(event.pkg).outputs.push(event);
        break;
      case 'target-start':
        if (event.reason === 'virtual') this.#virtual.add(`${event.pkg ?? ''} ${event.target}`);
        break;
      case 'target-done':
        if (!this.#virtual.has(`${event.pkg ?? ''} ${event.target}`)) this.targetsMade += 1;
        break;
      case 'target-fail':
        this.targetsFailed += 1;
        break;
      case 'target-skip':
        this.targetsUpToDate += 1;
        break;
      case 'targets-planned':
        this.targetsUpToDate += event.upToDate ?? 0;
        break;
      case 'download-done':
        if (event.fromCache) this.#cacheHits.add(`${event.pkg ?? ''} ${event.name} ${event.url}`);
        else {
          this.downloads += 1;
          this.downloadedBytes += event.bytes;
        }
        break;
      case 'cache-hit':
        // A cache hit may be announced by both `cache-hit` and `download-done{fromCache}`: count it once.
        this.#cacheHits.add(`${event.pkg ?? ''} ${event.name} ${event.url}`);
        break;
      case 'upload-done':
        this.uploads += 1;
        break;
      case 'failure':
        this.failures.push(event);
        break;
      default:
        break;
    }
  }

  /** The summary lines; sizes are read from the file system (missing files are left out). */
  /**
   * `shown`: packages whose failure the console already showed; a single build does not list
   * it again (several builds keep their list of failures, the one place they are together).
   */
  lines(now = Date.now(), logOf: (pkg: string) => string | undefined = () => undefined, shown: ReadonlySet<string> = new Set()): SummaryLine[] {
    const out: SummaryLine[] = [];
    const many = this.packages.size > 1;
    const succeeded: string[] = [];
    const failed: string[] = [];
    for (const [pkg, p] of this.packages) {
      if (p.ok === false) {
        if (!many && shown.has(pkg)) continue;
        const log = p.logFile ?? logOf(pkg);
        failed.push(`  ${pkg}: ${p.error ?? 'failed'}${log ? ` (log: ${log})` : ''}`);
        continue;
      }
      if (p.ok) succeeded.push(pkg);
      if (p.outputs.length === 0) continue;
      // A single build's time is the run's, on the last line.
      const took = many && p.durationMs !== undefined ? ` in ${formatDuration(p.durationMs)}` : '';
      out.push({ level: 'INFO', text: `Outputs of ${pkg}${took ? ` (built${took})` : ''}:` });
      for (const o of p.outputs) out.push({ level: 'INFO', text: `  ${o.kind.padEnd(6)} ${o.id}${sizeNote(o)}` });
    }
    if (many) {
      if (succeeded.length > 0) out.push({ level: 'INFO', text: `Succeeded (${succeeded.length}): ${succeeded.join(', ')}` });
      if (failed.length > 0) out.push({ level: 'ERROR', text: `Failed (${failed.length}):\n${failed.join('\n')}` });
    } else if (failed.length > 0) {
      out.push({ level: 'ERROR', text: `Failed:\n${failed.join('\n')}` });
    }
    const packageFailures = new Set([...this.packages].filter(([, p]) => p.ok === false).map(([k]) => k));
    // Failures of packages already listed above would only repeat themselves.
    const others = this.failures.filter((f) => !packageFailures.has(f.target));
    if (others.length > 0) {
      out.push({ level: 'ERROR', text: `Errors (${others.length}):\n${others.map((f) => `  ${f.target}: ${f.message}`).join('\n')}` });
    }
    const parts = [
      `${this.targetsMade} target${this.targetsMade === 1 ? '' : 's'} made, ${this.targetsUpToDate} up to date${this.targetsFailed ? `, ${this.targetsFailed} failed` : ''}` +
        (this.targetsMade + this.targetsFailed === 0 && this.targetsUpToDate > 0 ? ' (everything was up to date)' : ''),
      `${this.downloads} download${this.downloads === 1 ? '' : 's'}${this.downloads ? ` (${formatBytes(this.downloadedBytes)})` : ''}, ${this.cacheHits} from the cache`,
    ];
    if (this.uploads) parts.push(`${this.uploads} upload${this.uploads === 1 ? '' : 's'}`);
    // A run stopped before any work (a usage error, say) has nothing worth totalling.
    const worked = this.packages.size + this.targetsMade + this.targetsUpToDate + this.targetsFailed + this.downloads + this.cacheHits + this.uploads > 0;
    if (worked) out.push({ level: 'INFO', text: `${parts.join('; ')}; took ${formatDuration(now - this.startedAt)}` });
    return out;
  }
}

/** ` (12 files, 1.2 MiB)` for a folder, ` (340.0 KiB)` for a file, '' when unknown. */
function sizeNote(output: EventOf<'output'>): string {
  if (output.kind === 'upload') return '';
  // Synchronous on purpose: an awaited stat is a trip through the thread pool (about 0.1 ms)
  // where the stat itself takes a few microseconds, and a folder may hold MAX_FILES_TO_SIZE files.
  const size = (path: string): number | undefined => {
    // Sizes are a courtesy: a path that cannot be stat-ed is tried the other way, then left out.
    for (const candidate of isAbsolute(path) ? [path] : [path, join(output.id, path)]) {
      const s = statOrUndefined(candidate);
      if (s?.isFile()) return s.size;
    }
    return undefined;
  };
  if (output.kind === 'folder') {
    const count = output.fileCount ?? output.files.length;
    if (count > MAX_FILES_TO_SIZE) return ` (${count} files)`;
    let total = 0;
    for (const f of output.files) total += size(f) ?? 0;
    return ` (${count} file${count === 1 ? '' : 's'}, ${formatBytes(total)})`;
  }
  const first = output.files[0] ?? output.id;
  const bytes = size(first);
  return bytes === undefined ? '' : ` (${formatBytes(bytes)})`;
}
