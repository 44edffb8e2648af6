/**
 * A checksum mismatch shows both digests in the form the playbook wrote them, expected above
 * actual: hexadecimal for `sha256:` (comparable with `sha256sum`), SRI for `integrity:`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';

const WRONG_HEX = '5f3c0b6ea2c2f1b0e9a2b4d0c2c7e2f5a7c6b3d2e1f0a9b8c7d6e5f4a3b2c1d0';

function inventory(url: string, digest: string): string {
  return `package:
  name: demo
  version: 1.0.0
  maintainer: Demo Team <demo@example.com>
  description: |
    Demo package.
    Used by the tests.
system_targets:
  linux:
    compatibility:
      - { name: arch, choices: [amd64] }
    artifacts:
      - name: tool
        url: ${url}
        ${digest}
`;
}

async function mismatch(t: { after: (fn: () => Promise<void>) => void }, digest: string): Promise<{ stderr: string; file: string }> {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'tool.bin');
  await writeFile(file, 'hello artifact\n');
  const root = await writePlaybook(join(dir, 'pb'), { inventory: inventory(`file://${file}`, digest) });
  const run = await aiop(['build', 'linux', 'amd64', '--retries', '1'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(run.code, 1, run.stderr);
  return { stderr: run.stderr, file };
}

test('sha256: written in hex: the mismatch shows hex digests, expected above actual, as sha256sum prints them', async (t) => {
  const { stderr, file } = await mismatch(t, `sha256: ${WRONG_HEX}`);
  const actual = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l.includes(`checksum mismatch for file://${file} (artifact tool) after 2 tries:`));
  assert.ok(at >= 0, stderr);
  assert.deepEqual(lines.slice(at + 1, at + 3).map((l) => l.trim()), [`expected sha256: ${WRONG_HEX}`, `actual   sha256: ${actual}`]);
  // Each failed try says it in the same form.
  assert.ok(stderr.includes(`checksum mismatch: expected ${WRONG_HEX}, got ${actual}`), stderr);
  assert.doesNotMatch(stderr, /sha256-[A-Za-z0-9+/]+=*/, 'no SRI base64 when the playbook wrote hex');
});

test('integrity: written as SRI: the mismatch shows SRI digests', async (t) => {
  const wrong = `sha256-${Buffer.from(WRONG_HEX, 'hex').toString('base64')}`;
  const { stderr } = await mismatch(t, `integrity: ${wrong}`);
  const actual = `sha256-${createHash('sha256').update('hello artifact\n').digest('base64')}`;
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l.includes('(artifact tool) after 2 tries:'));
  assert.ok(at >= 0, stderr);
  assert.deepEqual(lines.slice(at + 1, at + 3).map((l) => l.trim()), [`expected integrity: ${wrong}`, `actual   integrity: ${actual}`]);
});
