/**
 * The command line of the last `aiop build` of a playbook, for `aiop build_again`. Every
 * build records it, the full path and both fast paths alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { knownSecrets } from '../report/known-secrets.js';
import { redact } from '../report/redact.js';

/** Where the last `aiop build` command line is recorded, relative to the playbook root. */
export const LAST_BUILD = join('.aiop', 'state', 'last-build.json');

/**
 * The command line as recorded for `build_again`: `user:password@` in URLs is never written
 * to disk (a replay takes credentials from AIOP_UPLOAD_USER/PASSWORD or AIOP_UPLOAD_TOKEN).
 */
export function recordableArgv(argv: string[]): string[] {
  // A variable given on the command line may be a URL's password (http://alice:${PW}@...): masked.
  return argv.map((arg) => redact(arg.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi, '$1'), knownSecrets()));
}

/** Records the arguments after `aiop build`; an unchanged record is not written again. */
export async function recordLastBuild(root: string, argv: string[]): Promise<void> {
  const recorded = recordableArgv(argv);
  const stripped = recorded.some((arg, i) => arg !== argv[i]);
  const text = `${JSON.stringify({ argv: recorded, ...(stripped ? { credentialsRemoved: true } : {}) }, null, 2)}\n`;
  const file = join(root, LAST_BUILD);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // Not recorded yet.
  }
  if (current !== text) await writeFileAtomic(file, text);
}
