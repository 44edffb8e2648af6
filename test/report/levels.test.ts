import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { EventStream, type AiopEvent } from '../../src/core/events.js';
import { attachReporters, type ReportSettings } from '../../src/report/index.js';
import { effectiveLevels, parseLevel, passes } from '../../src/report/levels.js';
import { tempDir } from '../util/run.js';
import { Collector, successfulBuild } from './helpers.js';

async function run(extra: Partial<ReportSettings>, events: AiopEvent[] = successfulBuild()) {
  const stdout = new Collector();
  const stderr = new Collector();
  const stream = new EventStream();
  const reporters = await attachReporters(stream, {
    program: 'aiop',
    verbose: false,
    stdoutLevel: 'INFO',
    fileLevel: 'DEBUG',
    machineReadable: false,
    hideProgress: false,
    logKeep: 5,
    logName: 'levels',
    stdout,
    stderr,
    env: {},
    ...extra,
  });
  for (const e of events) stream.emit(e);
  await reporters.close();
  const file = reporters.logFile ? await readFile(reporters.logFile, 'utf8') : undefined;
  return { stdout: stdout.text, stderr: stderr.text, file, logFile: reporters.logFile };
}

describe('levels', () => {
  it('parses names and compares thresholds', () => {
    assert.equal(parseLevel('debug'), 'DEBUG');
    assert.equal(parseLevel('Warn'), 'WARNING');
    assert.equal(parseLevel('DISABLED'), 'DISABLED');
    assert.equal(parseLevel('LOUD'), undefined);
    assert.ok(passes('ERROR', 'WARNING'));
    assert.ok(!passes('INFO', 'WARNING'));
    assert.ok(!passes('CRITICAL', 'DISABLED'));
  });

  it('-v wins over -sll and -fll', () => {
    assert.deepEqual(effectiveLevels({ verbose: true, stdoutLevel: 'INFO', fileLevel: 'ERROR' }), { console: 'DEBUG', file: 'DEBUG' });
    assert.deepEqual(effectiveLevels({ verbose: false, stdoutLevel: 'INFO', fileLevel: 'ERROR' }), { console: 'INFO', file: 'ERROR' });
  });

  it('seed example: --verbose --stdout_log_level INFO shows DEBUG lines', async () => {
    const { stderr } = await run({ verbose: true, stdoutLevel: 'INFO' });
    assert.match(stderr, /^debug: read \.aiop\/inventory_config\.yml$/m);
    const plain = await run({ verbose: false, stdoutLevel: 'INFO' });
    assert.doesNotMatch(plain.stderr, /debug:/, 'without -v, INFO hides DEBUG');
    assert.match(plain.stderr, /^==> Fetching artifacts$/m);
  });

  it('seed example: --verbose --stdout_log_level DISABLED still shows DEBUG lines', async () => {
    const { stderr } = await run({ verbose: true, stdoutLevel: 'DISABLED' });
    assert.match(stderr, /^debug: read \.aiop\/inventory_config\.yml$/m);
  });

  it('-sll DISABLED prints nothing at all on success, while the log file is still written', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const { stdout, stderr, file, logFile } = await run({ stdoutLevel: 'DISABLED', logDir: tmp.dir });
    assert.equal(stderr, '');
    assert.equal(stdout, '');
    assert.ok(logFile);
    assert.match(file ?? '', /INFO +\[build hello-1\.4\.0-linux-debian12-amd64\] Fetching artifacts/);
    const info = await run({ stdoutLevel: 'INFO', logDir: tmp.dir });
    assert.match(info.stderr, new RegExp(`^Log file: ${info.logFile!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'the path line is INFO');
  });

  it('-fll ERROR writes only ERROR and CRITICAL lines', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const events: AiopEvent[] = [
      ...successfulBuild(),
      { type: 'log', level: 'ERROR', source: 'engine', message: 'an error line' },
      { type: 'log', level: 'CRITICAL', source: 'engine', message: 'a critical line' },
      { type: 'target-fail', target: 'x', error: 'boom' },
    ];
    const { file } = await run({ fileLevel: 'ERROR', logDir: tmp.dir }, events);
    const lines = (file ?? '').split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, 'something was written');
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|CRITICAL) +\[[^\]]+\] /);
    assert.ok(lines.some((l) => l.includes('CRITICAL') && l.endsWith('a critical line')));
    assert.ok(lines.some((l) => l.includes('x failed: boom')));
  });

  it('-fll DISABLED writes no log file; -v writes DEBUG to the file even with -fll ERROR', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const off = await run({ fileLevel: 'DISABLED', logDir: tmp.dir });
    assert.equal(off.logFile, undefined);
    const verbose = await run({ verbose: true, fileLevel: 'ERROR', logDir: tmp.dir });
    assert.match(verbose.file ?? '', / DEBUG +\[playbook hello-1\.4\.0-linux-debian12-amd64\] read \.aiop\/inventory_config\.yml/);
  });
});
