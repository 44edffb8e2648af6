import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gotoPack } from '../../src/publish/goto-pack.js';
import { tempDir } from '../util/run.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'goto-child.js');

function runChild(folder: string, env: Record<string, string | undefined>): { opened: boolean; reason?: string } {
  const result = spawnSync(process.execPath, [CHILD, folder], { env, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'nothing printed by the core');
  return JSON.parse(result.stdout) as { opened: boolean; reason?: string };
}

test('without a desktop, or for a missing folder, gotoPack reports why instead of throwing', { skip: process.platform !== 'linux' && 'Linux rules' }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  assert.deepEqual(await gotoPack(dir, {}), { opened: false, reason: 'no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)' });
  const missing = await gotoPack(join(dir, 'nope'), { DISPLAY: ':0' });
  assert.equal(missing.opened, false);
  assert.match(missing.reason!, /does not exist/);
});

test('with a desktop the folder is handed to the launcher; a launcher that fails gives opened: false', { skip: process.platform !== 'linux' && 'Linux rules' }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const marker = join(dir, 'marker');
  const browser = join(dir, 'fake-browser');
  await writeFile(browser, `#!/bin/sh\necho "$@" > '${marker}'\n`);
  await chmod(browser, 0o755);
  // xdg-open (bundled with `open`) falls back to $BROWSER when no desktop environment is detected.
  const base = { PATH: '/usr/bin:/bin', HOME: dir };
  assert.deepEqual(runChild(dir, { ...base, DISPLAY: ':99', BROWSER: browser }), { opened: true });
  assert.equal((await readFile(marker, 'utf8')).trim(), dir);
  const failed = runChild(dir, { ...base, DISPLAY: ':99', PATH: dir });
  assert.equal(failed.opened, false);
  assert.match(failed.reason!, /exited with status [1-9]/);
});
