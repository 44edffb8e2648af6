/**
 * Crash consistency: `aiop build` (download, recipe commands, zip, .deb) is SIGKILLed at
 * seeded random moments, of first builds (cold or warm cache) and of in-place updates.
 * After each kill a normal build must succeed, produce outputs byte-identical to a clean
 * build's, and leave no temporary debris. 30 kills with CI=true or AIOP_SLOW_TESTS=1, else 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, aiop, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { startNginx } from '../util/nginx.js';
import { BUILD_ARGS, crashInventory, debris, fingerprint, makeToolArchive, processesIn, writeCrashPlaybook } from './fixture.js';
import { recordTrial, seeded, slowTests } from './report.js';

const SEED = Number(process.env['AIOP_CRASH_SEED'] ?? 20261122);
const KILLS = slowTests() ? 30 : 3;

/** Starts a build and SIGKILLs it after `delayMs`; resolves with whether it was still running. */
async function killAfter(root: string, env: Record<string, string | undefined>, delayMs: number): Promise<boolean> {
  const child = spawn(process.execPath, [AIOP, ...BUILD_ARGS], { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  let done = false;
  const exited = new Promise<void>((resolve) => child.on('exit', () => ((done = true), resolve())));
  await Promise.race([exited, sleep(delayMs)]);
  const killed = !done;
  if (killed) child.kill('SIGKILL');
  await exited;
  // Recipe commands run in their own process groups, so they outlive a SIGKILLed aiop for
  // a moment, as they would for a user: wait until none is left in the playbook.
  for (let i = 0; i < 200 && (await processesIn(root)).length > 0; i++) await sleep(50);
  return killed;
}

test(`crash consistency: ${KILLS} SIGKILLs at random moments (seed ${SEED}), each followed by a build identical to a clean one`, async (t) => {
  if (!requireTools(t, 'nginx', 'tar', 'gzip', 'sha256sum')) return;
  const { dir, cleanup } = await tempDir('aiop-crash-');
  t.after(cleanup);
  const www = join(dir, 'www');
  const sha1 = await makeToolArchive(dir, www, '1');
  const sha2 = await makeToolArchive(dir, www, '2');
  const nginx = await startNginx({ root: www });
  t.after(() => nginx.stop());
  const v1 = crashInventory(nginx.url, '1', sha1);
  const v2 = crashInventory(nginx.url, '2', sha2);
  const root = join(dir, 'pb');
  await writeCrashPlaybook(root, v1);
  const env = { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
  const cacheDir = join(dir, 'xdg-cache', 'aiop');

  const build = async (what: string): Promise<void> => {
    const result = await aiop(BUILD_ARGS, { cwd: root, env });
    assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  };
  // How long each kind of build takes here, so that the kill moments spread over the whole build.
  const timed = async (what: string): Promise<number> => {
    const started = Date.now();
    await build(what);
    return Math.round(Math.max(300, (Date.now() - started) * 1.1));
  };
  const coldSpan = await timed('clean build');
  const reference = await fingerprint(root);
  await rm(join(root, '.build'), { recursive: true, force: true });
  await rm(join(root, '.aiop/state'), { recursive: true, force: true });
  const warmSpan = await timed('clean build, warm cache');
  assert.deepEqual(await fingerprint(root), reference, 'a warm-cache build gives the same outputs');

  const random = seeded(SEED);
  let killedMidway = 0;
  for (let i = 0; i < KILLS; i++) {
    const kind = (['first, cold cache', 'first, warm cache', 'in-place update'] as const)[i % 3]!;
    if (kind === 'in-place update') {
      // A finished build of other inputs (other artifact, other README), then back to the reference's.
      await writeCrashPlaybook(root, v2, 'Version two of $name\n');
      await build(`kill ${i}: preparing an update`);
      await writeCrashPlaybook(root, v1);
    } else {
      await rm(join(root, '.build'), { recursive: true, force: true });
      await rm(join(root, '.aiop/state'), { recursive: true, force: true });
      if (kind === 'first, cold cache') await rm(cacheDir, { recursive: true, force: true });
    }
    const span = kind === 'first, cold cache' ? coldSpan : warmSpan;
    const delay = Math.round(random() * span);
    const killed = await killAfter(root, env, delay);
    if (killed) killedMidway++;
    await build(`kill ${i} (${kind}, after ${delay} ms): the next build`);
    const after = await fingerprint(root);
    const held = JSON.stringify(after) === JSON.stringify(reference);
    assert.deepEqual(after, reference, `kill ${i} (${kind}, after ${delay} ms): outputs differ from a clean build's`);
    const left = await debris(root, cacheDir);
    assert.deepEqual(left, [], `kill ${i} (${kind}, after ${delay} ms): debris left`);
    const during = kind === 'in-place update' ? 'an in-place update' : `a first build (${kind.slice(7)})`;
    // A kill drawn after the build had already ended still checks the next build, but is not counted as a kill.
    recordTrial({ category: 'kill', what: killed ? `SIGKILL during ${during}` : `(control: kill drawn after ${during} had ended)`, held: held && left.length === 0 });
  }
  // Not an assertion on timing: just proof that the kills did land during builds.
  assert.ok(killedMidway > 0, 'at least one kill hit a running build');
  t.diagnostic(`${killedMidway} of ${KILLS} kills hit a running build (windows: cold ${coldSpan} ms, warm ${warmSpan} ms)`);
});
