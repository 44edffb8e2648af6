/** Whether `build_all` builds here or hands its packages to a CI system. */
import { UsageError } from '../core/errors.js';

/** The CI systems that `build_all` can hand packages to. */
export type CiKind = 'gitlab' | 'github';

/**
 * Which CI we generate for: `--ci` wins, then `GITLAB_CI=true` means GitLab; undefined means
 * build locally. `--local` forces a local build even inside a pipeline. GitHub is never
 * guessed from the environment: the matrix's own jobs run inside GitHub Actions too, and
 * a plain `build_all` there should build, not plan.
 * Both `--ci` and `--local` at once contradict each other: a usage error.
 */
export function detectCi(flag: CiKind | undefined, local: boolean, env: NodeJS.ProcessEnv = process.env): CiKind | undefined {
  if (flag !== undefined && local) throw new UsageError(`--ci ${flag} and --local contradict each other`, 'give one of them');
  if (local) return undefined;
  if (flag !== undefined) return flag;
  if (env.GITLAB_CI === 'true') return 'gitlab';
  return undefined;
}
