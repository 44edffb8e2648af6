import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, updateSha256Sums } from '../../src/pack/checksums.js';
import { describeOutput, writeManifest, type BuildManifest } from '../../src/pack/manifest.js';
import { tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';

test('sha256File matches sha256sum; SHA256SUMS lines are replaced, kept and sorted, and sha256sum -c accepts them', async (t) => {
  if (!requireTools(t, 'sha256sum')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeFile(join(dir, 'b.zip'), 'bee');
  await writeFile(join(dir, 'a_1_all.deb'), 'ay');
  await writeFile(join(dir, 'B.zip'), 'upper');
  assert.equal(await sha256File(join(dir, 'b.zip')), execFileSync('sha256sum', ['b.zip'], { cwd: dir, encoding: 'utf8' }).split(' ')[0]);

  await updateSha256Sums(dir, ['b.zip']);
  await writeFile(join(dir, 'b.zip'), 'bee, rebuilt');
  await updateSha256Sums(dir, ['a_1_all.deb', 'b.zip', 'B.zip']);
  const lines = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => l.slice(66)), ['B.zip', 'a_1_all.deb', 'b.zip'], 'bytewise order, one line each');
  assert.match(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' }), /b\.zip: OK/);

  // A line for a file not named this time (another package's output) is kept.
  await writeFile(join(dir, 'c.zip'), 'see');
  await updateSha256Sums(dir, ['c.zip']);
  assert.equal((await readFile(join(dir, 'SHA256SUMS'), 'utf8')).trimEnd().split('\n').length, 4);
  await assert.rejects(updateSha256Sums(dir, ['../x']), /plain file names/);
  assert.deepEqual((await readdir(dir)).filter((n) => n.includes('.tmp-')), []);
});

test('the manifest is stable JSON with sizes and digests of the outputs', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeFile(join(dir, 'hello.zip'), 'zip bytes');
  const manifest: BuildManifest = {
    packageId: 'hello-1.4.0-linux-debian12-amd64',
    systemTarget: 'linux',
    compat: { distro: 'debian12', arch: 'amd64' },
    version: '1.4.0',
    tool: { name: 'aiop', version: '0.1.0' },
    outputs: [{ kind: 'folder', path: 'hello-1.4.0-linux-debian12-amd64' }, await describeOutput('zip', 'hello.zip', join(dir, 'hello.zip'))],
    artifacts: [{ name: 'jq', url: 'https://example.com/jq', integrity: 'sha256-abc' }],
    uploads: [],
  };
  const file = join(dir, 'hello.manifest.json');
  await writeManifest(file, manifest);
  const text = await readFile(file, 'utf8');
  const parsed = JSON.parse(text);
  assert.equal(parsed.format, 1);
  assert.deepEqual(parsed.outputs[1], { kind: 'zip', path: 'hello.zip', size: 9, sha256: await sha256File(join(dir, 'hello.zip')) });
  assert.deepEqual(Object.keys(parsed), ['format', 'packageId', 'systemTarget', 'compat', 'version', 'tool', 'outputs', 'artifacts', 'uploads']);
  // Same input, same bytes, whatever the key order of the caller's object.
  await writeManifest(file, { ...manifest, uploads: [], tool: { version: '0.1.0', name: 'aiop' } } as BuildManifest);
  assert.equal(await readFile(file, 'utf8'), text);
});
