import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventStream, type AiopEvent } from '../../src/core/events.js';
import { attachReporters, type ReportSettings } from '../../src/report/index.js';
import { tempDir } from '../util/run.js';
import { Collector, PKG, failedBuild, successfulBuild } from './helpers.js';

async function run(events: AiopEvent[], extra: Partial<ReportSettings>) {
  const stdout = new Collector();
  const stderr = new Collector();
  const stream = new EventStream();
  const reporters = await attachReporters(stream, {
    program: 'aiop',
    verbose: false,
    stdoutLevel: 'INFO',
    fileLevel: 'INFO',
    machineReadable: false,
    hideProgress: true,
    logKeep: 5,
    logName: 'summary',
    stdout,
    stderr,
    env: {},
    ...extra,
  });
  for (const e of events) stream.emit(e);
  await reporters.close();
  return { stdout: stdout.text, stderr: stderr.text, logFile: reporters.logFile };
}

describe('human summary', () => {
  it('says what was built, where, how big, how long, and what was reused', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const folder = join(tmp.dir, '.build', PKG);
    await mkdir(join(folder, 'bin'), { recursive: true });
    await mkdir(join(folder, 'share/doc/hello'), { recursive: true });
    await writeFile(join(folder, 'bin/hello'), 'x'.repeat(1000));
    await writeFile(join(folder, 'share/doc/hello/README'), 'y'.repeat(48));
    await writeFile(`${folder}.zip`, 'z'.repeat(3 * 1024));
    const { stdout, stderr, logFile } = await run(successfulBuild(PKG, folder), { logDir: join(tmp.dir, 'logs') });
    assert.equal(stdout, '', 'people read stderr; stdout stays clean');
    // One build's time is the run's: said once, on the totals line.
    assert.match(stderr, new RegExp(`^Outputs of ${PKG}:$`, 'm'));
    assert.equal(stderr.match(/\bin \d|took /g)?.length, 1, stderr);
    assert.doesNotMatch(stderr, /^Output \(/m, 'each output is listed once, in the summary');
    assert.ok(stderr.includes(`  folder ${folder} (2 files, 1.0 KiB)\n`), stderr);
    assert.ok(stderr.includes(`  zip    ${folder}.zip (3.0 KiB)\n`), stderr);
    // `package` is virtual: it is not counted as work done.
    assert.match(stderr, /^1 target made, 1 up to date; 1 download \(4\.0 KiB\), 1 from the cache; took \d+(\.\d)? m?s$/m);
    assert.ok(stderr.trimEnd().endsWith(`Log file: ${logFile}`), 'the log path comes last');
  });

  it('build_all: successes and failures with their error and log file, even with console logs off', async () => {
    const events: AiopEvent[] = [
      ...successfulBuild('a-1-linux-x'),
      ...failedBuild('a-1-linux-y').map((e) => (e.type === 'package-done' ? { ...e, logFile: '/logs/a-1-linux-y.log' } : e)),
    ];
    const quiet = await run(events, { stdoutLevel: 'DISABLED' });
    assert.equal(quiet.stderr, '', 'DISABLED hides the summary too by default');
    const { stderr } = await run(events, { stdoutLevel: 'DISABLED', alwaysShowSummary: true });
    assert.match(stderr, /^Succeeded \(1\): a-1-linux-x$/m);
    assert.match(stderr, /^error: Failed \(1\):\n\s+a-1-linux-y: command failed \(log: \/logs\/a-1-linux-y\.log\)$/m);
    assert.doesNotMatch(stderr, /Making bin\/hello/, 'live logs stay off');
  });

  it('prefixes live lines with the package when several build at once', async () => {
    const a = successfulBuild('p-a');
    const b = successfulBuild('p-b');
    const mixed: AiopEvent[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if (a[i]) mixed.push(a[i]!);
      if (b[i]) mixed.push(b[i]!);
    }
    const { stderr } = await run(mixed, {});
    assert.match(stderr, /^p-a: Making bin\/hello \(never-built\)$/m);
    assert.match(stderr, /^p-b: Making bin\/hello \(never-built\)$/m);
    assert.match(stderr, /^Succeeded \(2\): p-a, p-b$/m);
  });
});

describe('summary of a run that did nothing', () => {
  it('prints no totals, only the log file', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const { stderr, logFile } = await run([], { logDir: tmp.dir });
    assert.equal(stderr, `Log file: ${logFile}\n`);
  });
});
