import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cacache from 'cacache';
import { requireTools } from '../util/tools.js';
import { REPO, runNode, tempDir } from '../util/run.js';
import { startNginx } from '../util/nginx.js';
import { sriOfFile } from '../../src/artifacts/index.js';

const SIZE = 64 * 1024 * 1024;

test('two processes sharing the cache fetch a large artifact at once: both correct, cache intact, memory flat', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir('aiop-procs-');
  t.after(cleanup);
  await mkdir(join(dir, 'www'));
  // A sparse file: large on the wire, cheap to make.
  const big = join(dir, 'www', 'big.bin');
  const fh = await open(big, 'w');
  await fh.truncate(SIZE);
  await fh.write(Buffer.from('tail'), 0, 4, SIZE - 4);
  await fh.close();
  const integrity = await sriOfFile(big, 'sha256');
  const server = await startNginx({ root: join(dir, 'www') });
  t.after(() => server.stop());

  const script = join(dir, 'fetch.mjs');
  await writeFile(
    script,
    `import { placeArtifacts } from ${JSON.stringify(join(REPO, 'dist/src/artifacts/index.js'))};
const [url, integrity, pkg, cacheDir] = process.argv.slice(2);
const placed = await placeArtifacts([{ name: 'big', url, integrity, extract: false, stripComponents: 0, dest: '' }], pkg, {
  cacheDir, retries: 1, noCaching: false, noVerify: false, connectTimeoutMs: 5000, idleTimeoutMs: 10000, emit: () => {} });
process.stdout.write(JSON.stringify({ fromCache: placed[0].fromCache, maxRssKb: process.resourceUsage().maxRSS }));
`,
  );
  const cache = join(dir, 'cache');
  const url = `${server.url}/big.bin`;
  const runs = await Promise.all(['p1', 'p2'].map((p) => runNode(script, [url, integrity, join(dir, p), cache], { cwd: dir })));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const results = runs.map((r) => JSON.parse(r.stdout) as { fromCache: boolean; maxRssKb: number });
  for (const p of ['p1', 'p2']) assert.equal(await sriOfFile(join(dir, p, 'big.bin'), 'sha256'), integrity);
  // Memory does not grow with the artifact: not by its 64 MiB, under the 150 MB floor.
  for (const r of results) assert.ok(r.maxRssKb < 150 * 1024, `peak RSS ${r.maxRssKb} KiB`);

  assert.deepEqual(await readdir(join(cache, 'tmp')), []);
  const report = await cacache.verify(cache);
  assert.equal(report.badContentCount, 0);
  assert.equal(report.verifiedContent, 1);
  // A third process finds it in the cache and sends nothing.
  const before = (await server.accessLog()).length;
  const third = await runNode(script, [url, integrity, join(dir, 'p3'), cache], { cwd: dir });
  assert.equal(third.code, 0, third.stderr);
  assert.equal((JSON.parse(third.stdout) as { fromCache: boolean }).fromCache, true);
  assert.equal((await server.accessLog()).length, before);
});
