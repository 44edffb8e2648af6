/** `aiop build_again`: replays the last `aiop build` of this playbook, printing it first. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AiopError } from '../core/errors.js';
import type { BuildOptions } from '../options/build-options.js';
import { shellJoin } from '../ci/shell.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { buildCommand, LAST_BUILD, type BuildCommandIo } from './build.js';

export async function buildAgainCommand(
  io: Omit<BuildCommandIo, 'argv'>,
  parse: (argv: string[]) => BuildOptions,
): Promise<number> {
  const root = await findPlaybookRoot(io.cwd);
  let argv: string[];
  let credentialsRemoved = false;
  try {
    const record = JSON.parse(await readFile(join(root, LAST_BUILD), 'utf8')) as { argv?: unknown; credentialsRemoved?: unknown };
    if (!Array.isArray(record.argv) || !record.argv.every((a) => typeof a === 'string')) throw new Error('bad record');
    argv = record.argv as string[];
    credentialsRemoved = record.credentialsRemoved === true;
  } catch {
    throw new AiopError('usage', `no build recorded for this playbook yet (${LAST_BUILD}); run "aiop build {system_target} {params}" first`);
  }
  process.stderr.write(`aiop build ${shellJoin(argv)}\n`);
  if (credentialsRemoved) {
    process.stderr.write('aiop: note: credentials given in URLs are never recorded; give them through AIOP_UPLOAD_USER/AIOP_UPLOAD_PASSWORD or AIOP_UPLOAD_TOKEN\n');
  }
  return buildCommand(parse(argv), { ...io, argv });
}
