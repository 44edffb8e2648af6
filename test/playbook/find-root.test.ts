import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, realpath } from 'node:fs/promises';
import { tempDir } from '../util/run.js';
import { AiopError } from '../../src/core/errors.js';
import { findPlaybookRoot, searchPlaybookRootUpward } from '../../src/playbook/find-root.js';
import { INVENTORY, writeFiles } from './helpers.js';

test('findPlaybookRoot: the root itself is accepted; a subfolder names the root', async () => {
  const { dir, cleanup } = await tempDir('aiop-root-');
  try {
    const root = await realpath(dir);
    await writeFiles(root, { '.aiop/inventory_config.yml': INVENTORY });
    const sub = join(root, 'files', 'deep');
    await mkdir(sub, { recursive: true });
    assert.equal(await findPlaybookRoot(root), root);
    await assert.rejects(findPlaybookRoot(sub), (error: unknown) => {
      assert.ok(error instanceof AiopError);
      assert.equal(error.reason, 'not-playbook');
      assert.ok(error.message.includes(`the nearest playbook root is ${root}: run aiop from there`), error.message);
      return true;
    });
    assert.equal(await searchPlaybookRootUpward(sub), root);
    assert.equal(await searchPlaybookRootUpward(root), root);
  } finally {
    await cleanup();
  }
});

test('findPlaybookRoot: no playbook anywhere above says so', async () => {
  const { dir, cleanup } = await tempDir('aiop-root-');
  try {
    await assert.rejects(findPlaybookRoot(dir), (error: unknown) => {
      assert.ok(error instanceof AiopError && error.reason === 'not-playbook');
      assert.match(error.message, /no \.aiop\/inventory_config\.yml here or in any folder above/);
      return true;
    });
    assert.equal(await searchPlaybookRootUpward(dir), undefined);
  } finally {
    await cleanup();
  }
});
