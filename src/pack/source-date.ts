/** The one timestamp every reproducible output carries (reproducible-builds.org SOURCE_DATE_EPOCH). */
import { execFile } from 'node:child_process';
import { UsageError } from '../core/errors.js';

/** 1980-01-01 UTC: the earliest time a zip's DOS timestamp can hold. */
export const DOS_EPOCH = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

function gitCommitTime(root: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    // `-- .` so a playbook inside a bigger repository gets its own last change, not the repository's.
    execFile('git', ['log', '-1', '--format=%ct', '--', '.'], { cwd: root, timeout: 30_000 }, (error, stdout) => {
      const text = String(stdout ?? '').trim();
      resolve(error || !/^\d+$/.test(text) ? undefined : Number(text));
    });
  });
}

/** SOURCE_DATE_EPOCH, else the playbook's last git commit time (git log -1 --format=%ct), else 1980-01-01 UTC. */
export async function sourceDate(playbookRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<Date> {
  const fromEnv = checkSourceDateEpoch(env);
  if (fromEnv !== undefined) return new Date(Number(fromEnv) * 1000);
  const commit = await gitCommitTime(playbookRoot);
  return commit === undefined ? DOS_EPOCH : new Date(commit * 1000);
}

/**
 * SOURCE_DATE_EPOCH when set (undefined when unset or empty); a value that is not a whole
 * number of seconds is a usage error, checked before a build that packs starts.
 */
export function checkSourceDateEpoch(env: NodeJS.ProcessEnv): number | undefined {
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (!/^\d+$/.test(fromEnv)) {
    throw new UsageError(`SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01 UTC, got "${fromEnv}"`, 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or leave it unset');
  }
  return Number(fromEnv);
}
