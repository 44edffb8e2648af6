/**
 * Debian tools that tests rely on. Where one is missing a test skips with a visible
 * reason, except in CI (`CI=true`), where `.ci/run` installed them and a skip would hide
 * a failure: there a missing tool fails the test.
 */
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const found = new Map<string, string | undefined>();

/** Absolute path of an executable on PATH (or in /usr/sbin, where nginx lives), or undefined. */
export function which(tool: string): string | undefined {
  if (!found.has(tool)) {
    let path: string | undefined;
    try {
      path = execFileSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      path = undefined;
    }
    found.set(tool, path);
  }
  return found.get(tool);
}

/**
 * Returns true when every tool is there. Otherwise skips the test with the reason and
 * returns false, or, in CI, throws.
 */
export function requireTools(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((tool) => which(tool) === undefined);
  if (missing.length === 0) return true;
  const reason = `needs ${missing.join(', ')} (apt-get install ${missing.join(' ')})`;
  if (process.env.CI === 'true') throw new Error(`CI must have ${missing.join(', ')}: ${reason}`);
  t.skip(reason);
  return false;
}
