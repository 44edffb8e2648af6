import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sourceDate, DOS_EPOCH } from '../../src/pack/source-date.js';
import { AiopError } from '../../src/core/errors.js';
import { tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';

test('SOURCE_DATE_EPOCH wins, a malformed one is a usage error', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  assert.equal((await sourceDate(dir, { SOURCE_DATE_EPOCH: '1700000000' })).toISOString(), '2023-11-14T22:13:20.000Z');
  await assert.rejects(sourceDate(dir, { SOURCE_DATE_EPOCH: 'yesterday' }), (e: unknown) => e instanceof AiopError && e.reason === 'usage');
});

test('outside git the date is 1980-01-01 UTC; inside, the last commit touching the playbook folder', async (t) => {
  if (!requireTools(t, 'git')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const repo = join(dir, 'repo');
  const playbook = join(repo, 'playbook');
  await mkdir(playbook, { recursive: true });
  assert.equal((await sourceDate(playbook, {})).getTime(), DOS_EPOCH.getTime());
  assert.equal(DOS_EPOCH.toISOString(), '1980-01-01T00:00:00.000Z');
  const git = (date: number, ...args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd: repo,
      env: { ...process.env, GIT_AUTHOR_DATE: `@${date} +0000`, GIT_COMMITTER_DATE: `@${date} +0000`, GIT_CONFIG_NOSYSTEM: '1', HOME: dir },
    });
  };
  git(0, 'init', '-q');
  // An empty repository: no commit yet, still the fallback.
  assert.equal((await sourceDate(playbook, {})).getTime(), DOS_EPOCH.getTime());
  execFileSync('sh', ['-c', 'echo a > playbook/a && echo b > other'], { cwd: repo });
  git(1_600_000_000, 'add', 'playbook/a');
  git(1_600_000_000, 'commit', '-q', '-m', 'playbook');
  git(1_700_000_000, 'add', 'other');
  git(1_700_000_000, 'commit', '-q', '-m', 'elsewhere');
  assert.equal((await sourceDate(playbook, {})).getTime(), 1_600_000_000_000);
  assert.equal((await sourceDate(repo, {})).getTime(), 1_700_000_000_000);
});
