/** A temporary playbook for `aap` tests, with a log of which recipe commands ran. */
import type { TestContext } from 'node:test';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { aap, isolatedEnv, tempDir, type RunResult } from '../util/run.js';
import { readLines, writePlaybook, type PlaybookFiles } from '../util/playbook.js';

/**
 * a.txt <- src/a.in, b.txt <- src/b.in, c.txt <- a.txt + b.txt; `all` (the default) needs all
 * three. Every command appends its letter to runs.log, so a test sees exactly what ran.
 */
export const ABC_RECIPE = `variables: { GREETING: Hello }
default: all
targets:
  all: { virtual: true, depends: [a.txt, b.txt, c.txt] }
  a.txt:
    sources: [src/a.in]
    commands: ["echo a >> $PLAYBOOK/runs.log", ":copy $source $target"]
  b.txt:
    sources: [src/b.in]
    commands: ["echo b >> $PLAYBOOK/runs.log", ":copy $source $target"]
  c.txt:
    sources: [a.txt, b.txt]
    commands: ["echo c >> $PLAYBOOK/runs.log", "cat $source > $target"]
`;

export interface AapPlaybook {
  /** The temporary folder holding the playbook (and the isolated config, cache and data). */
  dir: string;
  root: string;
  env: Record<string, string | undefined>;
  /** Runs aap in `cwd` (default: the root). */
  run: (args: string[], cwd?: string, input?: string) => Promise<RunResult>;
  /** The letters in runs.log, then empties it. */
  takeRuns: () => Promise<string[]>;
}

/** Writes a playbook (default: {@link ABC_RECIPE} with its two sources) removed after the test. */
export async function aapPlaybook(t: TestContext, files: PlaybookFiles = {}): Promise<AapPlaybook> {
  const { dir, cleanup } = await tempDir('aiop-aap-');
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: ABC_RECIPE,
    ...files,
    files: { 'src/a.in': 'alpha\n', 'src/b.in': 'beta\n', ...files.files },
  });
  const env = { ...isolatedEnv(dir), XDG_DATA_HOME: join(dir, 'xdg-data'), CI: undefined };
  const log = join(root, 'runs.log');
  return {
    dir,
    root,
    env,
    run: (args, cwd = root, input) => aap(args, { cwd, env, ...(input === undefined ? {} : { input }) }),
    takeRuns: async () => {
      const lines = await readLines(log);
      await rm(log, { force: true });
      return lines;
    },
  };
}

/** Fails with the process's output when the exit status is not the expected one. */
export function expectStatus(result: RunResult, status: number): void {
  if (result.code !== status) {
    throw new Error(`expected exit ${status}, got ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
}
