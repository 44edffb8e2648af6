/**
 * `aiop build_again`: the last `aiop build` of this playbook, printed first, with the
 * reporting switches typed now (-v, -sll, -fll, -hp, --machine-readable) instead of the
 * recorded ones. The result is run as that `aiop build` (src/cli/aiop.ts), so it takes the
 * same strategies, fast paths included.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AiopError } from '../core/errors.js';
import { shellJoin } from '../ci/shell.js';
import { withReportWords } from '../options/report-words.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { LAST_BUILD } from '../store/last-build.js';

/** The words after `aiop build` to run now; `reportWords` are build_again's own reporting switches. */
export async function buildAgainArgv(io: { cwd: string }, reportWords: readonly string[]): Promise<string[]> {
  const root = await findPlaybookRoot(io.cwd);
  let recorded: string[];
  let credentialsRemoved = false;
  try {
    const record = JSON.parse(await readFile(join(root, LAST_BUILD), 'utf8')) as { argv?: unknown; credentialsRemoved?: unknown };
    if (!Array.isArray(record.argv) || !record.argv.every((a) => typeof a === 'string')) throw new Error('bad record');
    recorded = record.argv as string[];
    credentialsRemoved = record.credentialsRemoved === true;
  } catch {
    throw new AiopError('usage', `no build recorded for this playbook yet (${LAST_BUILD}); run "aiop build {system_target} {params}" first`);
  }
  const argv = withReportWords(recorded, reportWords);
  process.stderr.write(`aiop build ${shellJoin(argv)}\n`);
  if (credentialsRemoved) {
    process.stderr.write('aiop: note: credentials given in URLs are never recorded; give them through AIOP_UPLOAD_USER/AIOP_UPLOAD_PASSWORD or AIOP_UPLOAD_TOKEN\n');
  }
  return argv;
}
