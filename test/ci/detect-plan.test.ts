import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { detectCi } from '../../src/ci/github.js';
import { shellJoin, shellQuote } from '../../src/ci/shell.js';
import { writeCiPlan } from '../../src/ci/plan.js';
import { expandPackages } from '../../src/ci/packages.js';
import { UsageError } from '../../src/core/errors.js';
import type { AiopEvent } from '../../src/core/events.js';
import { tempDir } from '../util/run.js';
import { inventory, packages } from './fixtures.js';

test('detectCi: --ci wins, then GITLAB_CI=true; --local builds here; GitHub is never guessed', () => {
  assert.equal(detectCi(undefined, false, {}), undefined);
  assert.equal(detectCi(undefined, false, { GITLAB_CI: 'true' }), 'gitlab');
  assert.equal(detectCi(undefined, false, { GITLAB_CI: 'false' }), undefined);
  assert.equal(detectCi(undefined, false, { GITHUB_ACTIONS: 'true' }), undefined);
  assert.equal(detectCi('github', false, { GITLAB_CI: 'true' }), 'github');
  assert.equal(detectCi('gitlab', false, {}), 'gitlab');
  assert.equal(detectCi(undefined, true, { GITLAB_CI: 'true' }), undefined);
  assert.throws(() => detectCi('gitlab', true, {}), (error: unknown) => error instanceof UsageError && /contradict/.test(error.message));
});

test('shell quoting: the shell reads back exactly the words, whatever they hold (property, real sh)', () => {
  // NUL cannot be in an argument at all; everything else must survive.
  const word = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0'));
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), (words) => {
      const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellJoin(words)}`], { encoding: 'utf8' });
      assert.deepEqual(out.split('\0').slice(0, -1), words);
    }),
    { numRuns: 60 },
  );
  assert.equal(shellQuote('linux'), 'linux');
  assert.equal(shellQuote('https://x.example/a?b'), `'https://x.example/a?b'`);
  assert.equal(shellQuote(''), `''`);
});

test('writeCiPlan writes the GitLab pipeline or the GitHub matrix atomically in .build/ and says where', async () => {
  const { dir, cleanup } = await tempDir('aiop-ci-plan-');
  try {
    const config = packages('packages: [{ system_target: linux, matrix: { distro: [debian12], arch: [amd64, arm64] } }]');
    const specs = expandPackages(config, inventory());
    const events: AiopEvent[] = [];
    const emit = (e: AiopEvent) => events.push(e);

    const lab = await writeCiPlan('gitlab', specs, config.ci, { root: dir, emit });
    assert.equal(lab.relativeFile, '.build/aiop-pipeline.yml');
    assert.equal(lab.file, join(dir, '.build', 'aiop-pipeline.yml'));
    assert.equal(await readFile(lab.file, 'utf8'), lab.text);
    assert.deepEqual(Object.keys(parse(lab.text) as object), ['stages', ...specs.map((s) => s.id)]);

    const hub = await writeCiPlan('github', specs, config.ci, { root: dir, emit });
    assert.equal(hub.relativeFile, '.build/aiop-matrix.json');
    assert.equal(await readFile(hub.file, 'utf8'), `${hub.text}\n`);
    assert.equal((JSON.parse(hub.text) as { include: unknown[] }).include.length, 2);
    assert.ok(!hub.text.includes('\n'));

    // Only the two files: no temporary file left behind.
    assert.deepEqual((await readdir(join(dir, '.build'))).sort(), ['aiop-matrix.json', 'aiop-pipeline.yml']);
    assert.deepEqual(
      events.map((e) => (e.type === 'log' ? `${e.level} ${e.message}` : e.type)),
      [
        'INFO GitLab child pipeline for 2 package(s) written to .build/aiop-pipeline.yml',
        'INFO GitHub Actions matrix for 2 package(s) written to .build/aiop-matrix.json',
      ],
    );
  } finally {
    await cleanup();
  }
});
