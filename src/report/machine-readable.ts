/**
 * Packer's machine-readable format (SPEC 4): `timestamp,target,type,data...` per line on
 * stdout. This module holds the line codec and the reporter that collects `output` and
 * `failure` events and prints the artifact and error blocks when the run closes.
 */
import type { AiopEvent, EventOf } from '../core/events.js';

const COMMA = '%!(PACKER_COMMA)';

/** Escapes one data field the way Packer does: `,` then CR then LF (backslashes are left alone). */
export function escapeField(s: string): string {
  return s.replaceAll(',', COMMA).replaceAll('\r', '\\r').replaceAll('\n', '\\n');
}

/**
 * Reverses {@link escapeField}. Exact for text without backslashes; a literal `\n` (or the
 * text `%!(PACKER_COMMA)`) in the original is ambiguous in Packer's format and comes back
 * as a newline (or a comma).
 */
export function unescapeField(s: string): string {
  return s.replaceAll('\\n', '\n').replaceAll('\\r', '\r').replaceAll(COMMA, ',');
}

/**
 * One machine-readable line, newline included. Data fields are escaped. The target is
 * normally a package id or a recipe target and needs nothing, but it is escaped too: a
 * comma or newline in it would otherwise break every consumer's split.
 */
export function machineLine(timestamp: number, target: string, type: string, ...data: string[]): string {
  const fields = [String(Math.floor(timestamp)), escapeField(target), type, ...data.map(escapeField)];
  return `${fields.join(',')}\n`;
}

/** The current time as Packer writes it: whole Unix seconds, UTC. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** Which `ui` subtype a person's message becomes. */
export type UiKind = 'say' | 'message' | 'error';

/** A `ui` line: always an empty target (Packer puts the build name inside the text). */
export function uiLine(timestamp: number, kind: UiKind, text: string): string {
  return machineLine(timestamp, '', 'ui', kind, text);
}

interface PackageRecord {
  outputs: EventOf<'output'>[];
  /** undefined while the package has not reported `package-done`. */
  ok?: boolean;
}

/**
 * Collects what the end-of-run blocks need. Packages keep the order in which they were
 * first seen (their `package-start`, or their first output when a caller emits none).
 */
export class ArtifactCollector {
  readonly #packages = new Map<string, PackageRecord>();
  readonly #failures: EventOf<'failure'>[] = [];

  /** Feeds one event; ignores the kinds this collector does not need. */
  add(event: AiopEvent): void {
    switch (event.type) {
      case 'package-start':
        this.#record(event.pkg);
        break;
      case 'package-done':
        this.#record(event.pkg).ok = event.ok;
        break;
      case 'output':
        this.#record(event.pkg).outputs.push(event);
        break;
      case 'failure':
        this.#failures.push(event);
        break;
      default:
        break;
    }
  }

  #record(pkg: string): PackageRecord {
    let rec = this.#packages.get(pkg);
    if (!rec) {
      rec = { outputs: [] };
      this.#packages.set(pkg, rec);
    }
    return rec;
  }

  /** Failures in the order they were reported. */
  get failures(): readonly EventOf<'failure'>[] {
    return this.#failures;
  }

  /**
   * The artifact block of every package then the error block, as lines.
   * A package that finished without any output gets one `nil` artifact; a failed package
   * that made nothing gets `artifact-count,0` (Packer lists no artifacts for a failed build).
   */
  closingLines(timestamp: number, transform: (text: string) => string = (t) => t): string[] {
    const lines: string[] = [];
    const line = (target: string, type: string, ...data: string[]): void => {
      lines.push(machineLine(timestamp, transform(target), type, ...data.map(transform)));
    };
    for (const [pkg, rec] of this.#packages) {
      if (rec.outputs.length === 0) {
        if (rec.ok === false) {
          line(pkg, 'artifact-count', '0');
        } else {
          line(pkg, 'artifact-count', '1');
          line(pkg, 'artifact', '0', 'nil');
          line(pkg, 'artifact', '0', 'end');
        }
        continue;
      }
      line(pkg, 'artifact-count', String(rec.outputs.length));
      rec.outputs.forEach((out, i) => {
        const index = String(i);
        line(pkg, 'artifact', index, 'builder-id', `aiop.${out.kind}`);
        line(pkg, 'artifact', index, 'id', out.id);
        line(pkg, 'artifact', index, 'string', out.description);
        line(pkg, 'artifact', index, 'files-count', String(out.files.length));
        out.files.forEach((file, j) => line(pkg, 'artifact', index, 'file', String(j), file));
        line(pkg, 'artifact', index, 'end');
      });
    }
    line('', 'error-count', String(this.#failures.length));
    for (const failure of this.#failures) line(failure.target, 'error', failure.message);
    return lines;
  }
}
