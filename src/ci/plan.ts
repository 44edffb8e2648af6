/** Writes what `build_all` hands to a CI system instead of building: the files of SPEC section 3. */
import { join } from 'node:path';
import type { PackagesConfig } from '../playbook/schema.js';
import { writeFileAtomic } from '../core/atomic.js';
import { log, type Emit } from '../core/events.js';
import type { CiKind } from './detect.js';
import { gitlabChildPipeline } from './gitlab.js';
import { githubMatrix, githubOutputLine } from './github.js';
import type { PackageSpec } from './packages.js';
import { DEFAULT_OUTPUT_DIR } from './outputs.js';

/** File names in the output folder. */
export const CI_FILES = { gitlab: 'aiop-pipeline.yml', github: 'aiop-matrix.json' } as const;

/** What was written. */
export interface CiPlan {
  kind: CiKind;
  /** Absolute path of the file written. */
  file: string;
  /** Its path relative to the playbook root (what a parent GitLab job names as `artifact:`). */
  relativeFile: string;
  /** Its content; for GitHub, one line of JSON. */
  text: string;
  /** What to print on stdout: for GitHub the `matrix=<JSON>` line for `$GITHUB_OUTPUT`, else nothing. */
  stdout: string;
}

/**
 * Writes `.build/aiop-pipeline.yml` (GitLab) or `.build/aiop-matrix.json` (GitHub)
 * atomically under the playbook root and says where, at INFO. `command` is how the jobs run
 * aiop when packages.yml's `ci.command` does not say (see {@link jobCommand}).
 */
export async function writeCiPlan(
  kind: CiKind,
  specs: PackageSpec[],
  ci: PackagesConfig['ci'],
  opts: { root: string; emit: Emit; outputDir?: string; command?: string },
): Promise<CiPlan> {
  const outputDir = opts.outputDir ?? DEFAULT_OUTPUT_DIR;
  const relativeFile = `${outputDir}/${CI_FILES[kind]}`;
  const command = ci?.command ?? opts.command;
  const generated = { outputDir, ...(command === undefined ? {} : { command }) };
  const matrix = kind === 'github' ? githubMatrix(specs, generated) : undefined;
  const text = matrix === undefined ? gitlabChildPipeline(specs, ci, generated) : JSON.stringify(matrix);
  const file = join(opts.root, relativeFile);
  await writeFileAtomic(file, kind === 'gitlab' ? text : `${text}\n`);
  const what = kind === 'gitlab' ? 'GitLab child pipeline' : 'GitHub Actions matrix';
  log(opts.emit, 'INFO', 'ci', `${what} for ${specs.length} package(s) written to ${relativeFile}`);
  return { kind, file, relativeFile, text, stdout: matrix === undefined ? '' : githubOutputLine(matrix) };
}
