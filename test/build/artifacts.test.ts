import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { writePlaybook } from '../util/playbook.js';
import { requireTools } from '../util/tools.js';
import { startNginx } from '../util/nginx.js';

/** A tool archive served by nginx: jq-1.7-<arch>.tar.gz with jq-1.7/bin/jq inside. */
async function serveTool(dir: string): Promise<{ root: string; sha: Record<string, string> }> {
  const root = join(dir, 'www');
  const sha: Record<string, string> = {};
  for (const arch of ['amd64', 'arm64']) {
    const src = join(dir, `src-${arch}`, 'jq-1.7', 'bin');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'jq'), `#!/bin/sh\necho jq for ${arch}\n`);
    await mkdir(root, { recursive: true });
    const archive = join(root, `jq-1.7-${arch}.tar.gz`);
    execFileSync('tar', ['czf', archive, '-C', join(dir, `src-${arch}`), 'jq-1.7']);
    sha[arch] = createHash('sha256').update(await readFile(archive)).digest('hex');
  }
  return { root, sha };
}

function inventory(url: string, sha: Record<string, string>, wrongFor?: string): string {
  return `package:
  name: demo
  version: 1.0.0
  maintainer: Demo Team <demo@example.com>
  description: Demo package.
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [d1, d2, d3, d4, d5] }
      - { name: arch, choices: [amd64, arm64] }
    artifacts:
${['amd64', 'arm64']
  .map(
    (arch) => `      - name: jq
        url: ${url}/jq-1.7-\${arch}.tar.gz
        sha256: ${arch === wrongFor ? '0'.repeat(64) : sha[arch]}
        when: { arch: ${arch} }
        extract: true
        strip_components: 1
        mode: "0755"`,
  )
  .join('\n')}
`;
}

const RECIPE = `default: all
targets:
  all: { virtual: true, depends: [share/jq-version] }
  share/jq-version:
    sources: [bin/jq]
    commands: ["sh $source > $target"]
`;

test('artifacts: downloaded once, placed before the recipe, served from the cache afterwards, fetched again with --no_caching', async (t) => {
  if (!requireTools(t, 'nginx', 'tar')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { root: www, sha } = await serveTool(dir);
  const nginx = await startNginx({ root: www });
  t.after(() => nginx.stop());
  const root = await writePlaybook(join(dir, 'pb'), { inventory: inventory(nginx.url, sha), recipe: RECIPE });
  const env = isolatedEnv(dir);
  const requests = async (): Promise<number> => (await nginx.accessLog()).filter((l) => l.includes('jq-1.7-amd64')).length;
  const build = async (...extra: string[]): Promise<void> => {
    const result = await aiop(['build', 'linux', 'd1', 'amd64', ...extra], { cwd: root, env });
    assert.equal(result.code, 0, result.stderr);
  };
  await build();
  const pkg = join(root, '.build/demo-1.0.0-linux-d1-amd64');
  assert.equal(await readFile(join(pkg, 'share/jq-version'), 'utf8'), 'jq for amd64\n');
  assert.equal(((await stat(join(pkg, 'bin/jq'))).mode & 0o777).toString(8), '755');
  assert.equal(await requests(), 1);
  const manifest = JSON.parse(await readFile(join(root, '.build/demo-1.0.0-linux-d1-amd64.manifest.json'), 'utf8')) as { artifacts: Array<{ url: string }> };
  assert.deepEqual(manifest.artifacts.map((a) => a.url), [`${nginx.url}/jq-1.7-amd64.tar.gz`]);

  await rm(pkg, { recursive: true });
  await build();
  assert.equal(await requests(), 1, 'a warm cache sends no request');
  await build('--no_caching', '--force');
  assert.equal(await requests(), 2, '--no_caching downloads again');
});

test('build_all: six packages share one artifact download; one with a wrong checksum fails alone', async (t) => {
  if (!requireTools(t, 'nginx', 'tar')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const { root: www, sha } = await serveTool(dir);
  const nginx = await startNginx({ root: www });
  t.after(() => nginx.stop());
  // arm64's checksum is wrong: only the one arm64 package may fail.
  const root = await writePlaybook(join(dir, 'pb'), {
    inventory: inventory(nginx.url, sha, 'arm64'),
    recipe: RECIPE,
    packages: `packages:
  - system_target: linux
    matrix: { distro: [d1, d2, d3, d4, d5], arch: [amd64] }
  - system_target: linux
    compat_args: [d1, arm64]
    options: { retries: 0 }
`,
  });
  const result = await aiop(['build_all', '--threads', '4'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /Succeeded \(5\)/);
  // The playbook writes sha256: in hex, so the digests are hex, expected above actual.
  assert.match(result.stderr, new RegExp(`demo-1\\.0\\.0-linux-d1-arm64: .*jq-1\\.7-arm64\\.tar\\.gz.*\\n\\s+expected sha256: 0{64}\\n\\s+actual   sha256: ${sha.arm64} \\(log: [^)]+\\.log\\)`, 's'));
  for (const distro of ['d1', 'd2', 'd3', 'd4', 'd5']) {
    assert.equal(await readFile(join(root, `.build/demo-1.0.0-linux-${distro}-amd64/share/jq-version`), 'utf8'), 'jq for amd64\n');
  }
  const log = await nginx.accessLog();
  assert.equal(log.filter((l) => l.includes('jq-1.7-amd64')).length, 1, 'one download for five packages');
  assert.equal(log.filter((l) => l.includes('jq-1.7-arm64')).length, 1, '--retries 0: one try');
});
