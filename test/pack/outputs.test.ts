import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packOutputs } from '../../src/pack/outputs.js';
import type { AiopEvent } from '../../src/core/events.js';
import { tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { helloInfo, makePackage } from './fixture.js';

test('packOutputs writes zip and .deb beside the package folder and a SHA256SUMS that verifies', async (t) => {
  if (!requireTools(t, 'sha256sum', 'unzip')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { pkgDir, postinst } = await makePackage(dir);
  const events: AiopEvent[] = [];
  const result = await packOutputs({
    pkgDir,
    packageId: 'hello-1.4.0-linux-debian12-all',
    mtime: new Date('2024-01-01T00:00:00Z'),
    zip: true,
    deb: { info: helloInfo(postinst), installerName: 'hello-setup' },
    emit: (e) => events.push(e),
  });
  assert.equal(result.zip, join(dir, 'hello-1.4.0-linux-debian12-all.zip'));
  assert.equal(result.deb, join(dir, 'hello-setup.deb'));
  assert.deepEqual(result.outputs.map((o) => [o.kind, o.path]), [
    ['folder', 'pkg'],
    ['zip', 'hello-1.4.0-linux-debian12-all.zip'],
    ['deb', 'hello-setup.deb'],
  ]);
  const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
  assert.deepEqual(sums.trimEnd().split('\n').map((l) => l.slice(66)), ['hello-1.4.0-linux-debian12-all.zip', 'hello-setup.deb']);
  assert.ok(sums.includes(result.outputs[1]!.sha256!));
  execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir });
  assert.match(execFileSync('unzip', ['-l', result.zip!], { encoding: 'utf8' }), /hello-1\.4\.0-linux-debian12-all\/bin\/hello/);
  assert.equal(events.filter((e) => e.type === 'log').length, 2);
});
