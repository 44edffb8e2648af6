import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AIOP, aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';

const run = promisify(execFile);
const BOX_TOP = '╭─ aiop';

/** Runs aiop under a real pseudo-terminal (util-linux `script`), as a person would. */
async function underTerminal(cwd: string, env: Record<string, string | undefined>, args: string[]): Promise<string> {
  const command = [process.execPath, AIOP, ...args].map((w) => `'${w}'`).join(' ');
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], { cwd, env: { ...process.env, ...env, CI: undefined, TERM: 'xterm' } as NodeJS.ProcessEnv });
  return stdout;
}

test('on a terminal the progress box appears, and -hp removes it; piped output has no escape sequences', async (t) => {
  if (!requireTools(t, 'script')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  const shown = await underTerminal(root, env, ['build', 'linux', 'debian12', 'amd64', '--force']);
  assert.ok(shown.includes(BOX_TOP), shown);
  const hidden = await underTerminal(root, env, ['build', 'linux', 'debian12', 'amd64', '--force', '-hp']);
  assert.ok(!hidden.includes(BOX_TOP), hidden);
  assert.match(hidden, /^Outputs of hello-1\.4\.0-linux-debian12-amd64:/m);

  const piped = await aiop(['build', 'linux', 'debian12', 'amd64', '--force'], { cwd: root, env: { ...env, CI: undefined } });
  assert.equal(piped.code, 0, piped.stderr);
  assert.ok(!piped.stdout.includes('\u001b') && !piped.stderr.includes('\u001b'), 'no escape sequences when piped');
  assert.ok(!piped.stderr.includes(BOX_TOP));
});
