/**
 * `aiop build` when nothing changed since the same command last succeeded: answered from
 * the no-op record (src/store/noop.ts) before the command-line parser, the playbook or the
 * engine is even loaded, because on a large recipe the answer is mostly Node's start-up
 * plus one stat per file. The reporters get the same events a full build of nothing would
 * give them, so what is printed and logged is the same.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkNoop, noopKey, reportOnlyFields, type Unchanged } from '../store/noop.js';
import type { BuildOptions } from '../options/build-options.js';
import { VERSION } from '../core/version.js';
import { recordLastBuild } from '../store/last-build.js';
import type { UserConfig } from '../playbook/schema.js';

/** What a full build stores in its no-op record for this fast path. */
export interface NoopContext {
  pkg: string;
  /** The parsed options of the recorded command (report-only switches are taken from the current one). */
  options: BuildOptions;
  userConfig: UserConfig;
  compat: Record<string, string>;
  targets: number;
  /** The package's lock file: while it exists another build may be writing. */
  lockFile: string;
  /**
   * How the record's paths are laid out: the inputs (up to the package folder), then its
   * entries, then the outputs; and which entries are folders (package-relative).
   */
  layout: { inputs: number; entries: number; folders: string[] };
  /** The id of the delta record written with this one, when the next build may use it. */
  delta?: string;
}

/** The recorded build's options with the report-only switches of the command typed now. */
export function reportOptions(argv: string[], context: NoopContext): BuildOptions {
  return { ...context.options, ...reportOnlyFields(argv) };
}

/** The answer, or, when the full build must run, the files known not to have changed. */
export type NoopReplay = { status: number } | { status: undefined; unchanged?: Unchanged };

/**
 * Answers `aiop build ARGV` from the no-op record with the exit status. When the record
 * does not hold, the full build runs and decides everything; it gets the files whose stat
 * still matched, so that it need not stat and hash them again.
 */
export async function replayNoop(argv: string[], io: { cwd: string; env: NodeJS.ProcessEnv }): Promise<NoopReplay> {
  // The record lives in the playbook root, and builds only run from there: elsewhere there is none.
  const root = resolve(io.cwd);
  const key = noopKey(argv, root, io.env, VERSION);
  const check = checkNoop(root, key);
  if (check.record === undefined) {
    if (!check.stale) return { status: undefined };
    // Only some files changed: the incremental fast path may build from the delta record.
    if ((check.stale.context as unknown as NoopContext).delta !== undefined) {
      const { replayDelta } = await import('./delta-replay.js');
      const status = await replayDelta(argv, io, root, key, check.stale);
      if (status !== undefined) return { status };
    }
    return { status: undefined, unchanged: check.stale };
  }
  const record = check.record;
  const context = record.context as unknown as NoopContext;
  // While another build of this package writes, its folder may be half-updated: no fast answer then.
  if (existsSync(context.lockFile)) return { status: undefined };
  const options = reportOptions(argv, context);
  const { Session } = await import('./session.js');
  // The same command as recorded, but `build_again` replays the last one typed.
  await recordLastBuild(root, argv);
  const pkg = context.pkg;
  const session = await Session.open({ program: 'aiop', options, userConfig: context.userConfig, root, logName: pkg, env: io.env });
  // No lock: nothing is written to the package, and a build holding it was seen above.
  await session.runPackage({ pkg, systemTarget: options.systemTarget, compat: context.compat, lock: 'none' }, async ({ emit }) => {
    emit({ type: 'log', level: 'DEBUG', source: 'build', pkg, message: 'nothing changed since the last identical build (no-op fast path)' });
    emit({ type: 'targets-planned', pkg, total: context.targets, upToDate: context.targets });
    for (const event of record.outputs) emit(event);
    emit({ type: 'phase', phase: 'done', pkg });
  }, 'throw');
  await session.close();
  return { status: 0 };
}
