/**
 * Injected faults never ship a wrong package and never lose a good one: a download that
 * drops, sends wrong bytes, answers 503/429 or stalls is retried and the package comes out
 * byte-identical to a clean build's; a download that stays wrong fails clearly and leaves
 * the previous good package, zip and .deb as they were; a flaky upload is retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startFaultServer, type Behaviour } from '../util/fault-server.js';
import { BUILD_ARGS, PKG, crashInventory, debris, fingerprint, makeToolArchive, writeCrashPlaybook } from './fixture.js';
import { recordTrial } from './report.js';

const ARCHIVE = '/tool-1.tar.gz';

test('download faults are retried and the package comes out identical; a download that stays wrong loses nothing', async (t) => {
  if (!requireTools(t, 'tar', 'gzip', 'sha256sum')) return;
  const { dir, cleanup } = await tempDir('aiop-faults-');
  t.after(cleanup);
  const sha = await makeToolArchive(dir, join(dir, 'www'), '1', 200_000);
  const body = await readFile(join(dir, 'www', 'tool-1.tar.gz'));
  const wrong = Buffer.from(body);
  wrong[wrong.length - 100] = wrong[wrong.length - 100]! ^ 0xff;
  const server = await startFaultServer({ [ARCHIVE]: [{ kind: 'ok', body }] });
  t.after(() => server.stop());
  const root = await writeCrashPlaybook(join(dir, 'pb'), crashInventory(server.url, '1', sha));
  // A short idle timeout only where a stall is the fault: on a loaded machine a healthy
  // answer can also pause for a second, which would count as one more try.
  const config = join(dir, 'config.yml');
  const idleTimeout = (seconds: number): Promise<void> => writeFile(config, `idle_timeout: ${seconds}\nconnect_timeout: 30\n`);
  await idleTimeout(60);
  const env = { ...isolatedEnv(dir), AIOP_CONFIG: config, SOURCE_DATE_EPOCH: '1700000000' };
  const cold = (): Promise<void> => rm(join(dir, 'xdg-cache'), { recursive: true, force: true });

  assert.equal((await aiop(BUILD_ARGS, { cwd: root, env })).code, 0);
  const reference = await fingerprint(root);

  const faults: Array<[string, Behaviour[], number, number]> = [
    ['connection dropped mid-body', [{ kind: 'drop', body, after: 5000 }, { kind: 'ok', body }], 2, 60],
    ['wrong bytes (checksum mismatch)', [{ kind: 'ok', body: wrong }, { kind: 'ok', body }], 2, 60],
    ['503 then 429 with Retry-After', [{ kind: 'status', status: 503 }, { kind: 'status', status: 429, headers: { 'retry-after': '0' } }, { kind: 'ok', body }], 3, 60],
    ['stalled mid-body (idle timeout)', [{ kind: 'stall', body, after: 1000 }, { kind: 'ok', body }], 2, 2],
  ];
  for (const [name, script, requests, idle] of faults) {
    await cold();
    await idleTimeout(idle);
    server.script(ARCHIVE, script);
    const started = Date.now();
    const result = await aiop([...BUILD_ARGS, '--force', '--retries', '3'], { cwd: root, env });
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    if (idle < 60) {
      // The stall is given up after `idle` seconds; the good answer after it may itself pause
      // that long on a loaded machine, and then one more try is right.
      assert.ok(server.count(ARCHIVE) >= requests, `${name}: tries ${server.count(ARCHIVE)}`);
      assert.ok(Date.now() - started >= idle * 1000, `${name}: gave up the stall before ${idle} s`);
    } else {
      assert.equal(server.count(ARCHIVE), requests, `${name}: tries`);
    }
    assert.deepEqual(await fingerprint(root), reference, `${name}: the package differs from a clean build's`);
    assert.deepEqual(await debris(root, join(dir, 'xdg-cache/aiop')), [], `${name}: debris`);
    recordTrial({ category: 'fault', what: `download: ${name}`, held: true });
  }

  // Wrong bytes on every try, for a new version: the build fails, the good package stays.
  await cold();
  await idleTimeout(60);
  server.script('/tool-2.tar.gz', [{ kind: 'ok', body: wrong }]);
  await writeCrashPlaybook(root, crashInventory(server.url, '2', sha));
  const result = await aiop([...BUILD_ARGS, '--retries', '2'], { cwd: root, env });
  assert.equal(result.code, 1, result.stderr);
  // sha256: is written in hex: the digests are shown so, expected above actual.
  assert.match(result.stderr, /tool-2\.tar\.gz.*\n\s+expected sha256: [0-9a-f]{64}\n\s+actual   sha256: [0-9a-f]{64}/s);
  assert.equal(server.count('/tool-2.tar.gz'), 3, '--retries 2: three tries');
  assert.deepEqual(await fingerprint(root), reference, 'the previous good package, zip and .deb are untouched');
  assert.ok((await readFile(join(root, '.build', `${PKG}.manifest.json`), 'utf8')).includes(PKG));
  recordTrial({ category: 'fault', what: 'download wrong on every try: fails, good package kept', held: true });
});

test('a flaky upload (503, then 502) is retried until it is accepted', async (t) => {
  const { dir, cleanup } = await tempDir('aiop-faults-');
  t.after(cleanup);
  const sha = await makeToolArchive(dir, join(dir, 'www'), '1', 20_000);
  const body = await readFile(join(dir, 'www', 'tool-1.tar.gz'));
  const server = await startFaultServer({ [ARCHIVE]: [{ kind: 'ok', body }] });
  t.after(() => server.stop());
  const root = await writeCrashPlaybook(join(dir, 'pb'), crashInventory(server.url, '1', sha));
  const put = `/up/${PKG}.zip`;
  server.script(put, [{ kind: 'status', status: 503 }, { kind: 'status', status: 502 }, { kind: 'status', status: 201 }]);
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--upload', 'zip', '--upload_url', `${server.url}/up`], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(server.count(put), 3);
  recordTrial({ category: 'fault', what: 'upload: 503 then 502, retried', held: true });
});
