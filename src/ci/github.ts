/**
 * A GitHub Actions matrix for `build_all --ci github`: a plan job appends the line it prints
 * (`matrix=<JSON>`) to `$GITHUB_OUTPUT`, and a build job takes
 * `strategy.matrix: ${{ fromJSON(...) }}` and runs `${{ matrix.command }} build ${{ matrix.args }}`
 * for each package.
 */
import { AiopError } from '../core/errors.js';
import { buildArgs, type PackageSpec } from './packages.js';
import { packageOutputs, outputPaths } from './outputs.js';
import { shellJoin } from './shell.js';
import { JOB_COMMANDS } from './command.js';

export { detectCi, type CiKind } from './detect.js';

/** GitHub refuses a matrix that makes more jobs than this in one workflow run. */
export const GITHUB_MATRIX_LIMIT = 256;

/** One matrix row: everything a build job needs for its package. */
export interface GithubMatrixEntry {
  /** Package id; also a good artifact name. */
  id: string;
  system_target: string;
  /** How the job runs aiop: `ci.command`, else the way `build_all` found it (see {@link jobCommand}). */
  command: string;
  /** The `aiop build` arguments, shell-quoted, to paste after `aiop build`. */
  args: string;
  /** The package's outputs, one per line, for `actions/upload-artifact`'s `path:`. */
  paths: string;
}

/** The matrix value for `strategy.matrix` through `fromJSON`. */
export interface GithubMatrix {
  include: GithubMatrixEntry[];
}

/**
 * `{ include: [{ id, system_target, command, args: "linux debian12 amd64 --zip_pack ...", paths }, ...] }`.
 * `command` is `opts.command` (default `aiop`). Throws when there are more packages than
 * GitHub allows in one matrix.
 */
export function githubMatrix(specs: PackageSpec[], opts: { outputDir?: string; command?: string } = {}): GithubMatrix {
  if (specs.length > GITHUB_MATRIX_LIMIT) {
    throw new AiopError(
      'config',
      `packages.yml lists ${specs.length} packages; a GitHub Actions matrix holds at most ${GITHUB_MATRIX_LIMIT} jobs`,
    );
  }
  return {
    include: specs.map((spec) => ({
      id: spec.id,
      system_target: spec.systemTarget,
      command: opts.command ?? JOB_COMMANDS.path,
      args: shellJoin(buildArgs(spec)),
      paths: outputPaths(packageOutputs(spec, opts.outputDir)).join('\n'),
    })),
  };
}

/** The line to append to `$GITHUB_OUTPUT`: `name=<JSON on one line>`, as GitHub requires. */
export function githubOutputLine(matrix: GithubMatrix, name = 'matrix'): string {
  return `${name}=${JSON.stringify(matrix)}\n`;
}
