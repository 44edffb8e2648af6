import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ProgressState, frame, formatClock } from '../../src/report/progress.js';
import { REPO, runNode } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { failedBuild, successfulBuild } from './helpers.js';

const FEED = join(REPO, 'dist/test/report/fixtures/feed.js');
const ESC = '\x1b';

/** Environment of a child: the settings for the feed script, and no CI unless asked. */
function feedEnv(settings: object, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { REPORT_FEED: JSON.stringify(settings), CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color', ...extra };
}

/** Runs the feed script under a real pseudo-terminal (util-linux `script`); returns what the terminal received. */
function underTerminal(settings: object, extra: Record<string, string | undefined> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...feedEnv(settings, extra) };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const command = `'${process.execPath}' '${FEED}'`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function needsScript(t: TestContext): boolean {
  return requireTools(t, 'script');
}

describe('progress box state', () => {
  it('shows phase, targets done of total, current target, bytes and rate for one package', () => {
    const state = new ProgressState(0);
    const events = successfulBuild();
    // Up to the download progress: phase fetch, 2048 bytes at 1024 B/s.
    for (const e of events.slice(0, 6)) state.add(e);
    let rows = state.rows(65_000);
    assert.deepEqual(rows, [
      'hello-1.4.0-linux-debian12-amd64',
      'phase fetching  targets 0/?  elapsed 01:05',
      'current -',
      'downloaded 2.0 KiB at 1.0 KiB/s',
    ]);
    for (const e of events.slice(6, 12)) state.add(e);
    rows = state.rows(1000);
    assert.equal(rows[1], 'phase recipe  targets 0/3  elapsed 00:01');
    assert.equal(rows[2], 'current bin/hello');
    assert.equal(rows[3], 'downloaded 4.0 KiB', 'a finished download has no rate');
  });

  it('shows the newest of several running targets and how many run beside it', () => {
    const state = new ProgressState(0);
    for (const target of ['a', 'b', 'c']) state.add({ type: 'target-start', target, reason: 'never-built' });
    assert.equal(state.rows(0)[1], 'current c (+2)');
    state.add({ type: 'target-done', target: 'c', durationMs: 1, changed: true });
    state.add({ type: 'target-fail', target: 'a', error: 'x' });
    assert.equal(state.rows(0)[1], 'current b');
    assert.equal(state.rows(0)[0], 'phase starting  targets 2/?  elapsed 00:00');
  });

  it('has one row per package for build_all', () => {
    const state = new ProgressState(0);
    for (const e of [...successfulBuild('p-a'), ...failedBuild('p-b')]) state.add(e);
    state.add({ type: 'package-start', pkg: 'p-c', systemTarget: 'linux', compat: {} });
    assert.deepEqual(state.rows(3_725_000), [
      'packages 2/3  downloaded 4.0 KiB  elapsed 1:02:05',
      '+ p-a  done  targets 3/3',
      'x p-b  failed  targets 1/1',
      '  p-c  waiting  targets 0/?',
    ]);
  });

  it('frames rows without ever exceeding the terminal width', () => {
    const lines = frame('aiop', ['short', 'x'.repeat(500)], 40);
    for (const line of lines) assert.ok([...line].length <= 39, line);
    assert.ok(lines[2]!.includes('~'), 'long rows are cut visibly');
    assert.equal(formatClock(59_999), '00:59');
  });
});

describe('progress box on a terminal', () => {
  it('appears on a real terminal', async (t) => {
    if (!needsScript(t)) return;
    const { code, output } = await underTerminal({});
    assert.equal(code, 0, output);
    assert.ok(output.includes('╭─ aiop'), output);
    assert.match(output, /phase recipe {2}targets 0\/3/, 'redrawn while a target runs');
    assert.match(output, /current bin\/hello/);
    assert.match(output, /downloaded 2\.0 KiB at 1\.0 KiB\/s/, 'redrawn during a download');
    assert.ok(output.includes('\x1b[6A'), 'the box is redrawn in place');
    assert.match(output, /==> Fetching artifacts/);
  });

  it('is removed by hideProgress, by CI=true and by machine-readable mode', async (t) => {
    if (!needsScript(t)) return;
    for (const [settings, extra] of [
      [{ hideProgress: true }, {}],
      [{}, { CI: 'true' }],
      [{ machineReadable: true }, {}],
    ] as const) {
      const { code, output } = await underTerminal(settings, extra);
      assert.equal(code, 0, output);
      assert.ok(!output.includes('╭'), `no box with ${JSON.stringify([settings, extra])}:\n${output}`);
      assert.ok(!output.includes('\x1b[6A'), 'no redraws');
      assert.match(output, /Fetching artifacts/, 'the run did print (the test can fail)');
    }
  });

  it('piped output carries no escape sequences at all', async () => {
    const { code, stdout, stderr } = await runNode(FEED, [], { cwd: REPO, env: feedEnv({ stdoutLevel: 'DEBUG' }) });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /==> Fetching artifacts/);
    assert.ok(!stderr.includes(ESC) && !stdout.includes(ESC), JSON.stringify(stderr));
    assert.ok(!stderr.includes('╭'));
  });
});
