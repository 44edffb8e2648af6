import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventStream } from '../../src/core/events.js';
import { attachReporters } from '../../src/report/index.js';
import fc from 'fast-check';
import { LogFile, fileTimestamp, isoTimestamp, logFilePattern, rotateLogs } from '../../src/report/log-file.js';
import { tempDir } from '../util/run.js';
import { Collector, failedBuild, successfulBuild } from './helpers.js';

describe('log files', () => {
  it('writes the same UTC timestamps as toISOString, for any date', () => {
    // Every valid date (years -271821 to 275760), so the forms with a sign and six digits are covered too.
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => {
        const date = new Date(ms);
        assert.equal(isoTimestamp(date), date.toISOString());
      }),
      { numRuns: 2000 },
    );
    assert.equal(isoTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))), '2026-01-02T03:04:05.006Z');
  });

  it('names files <logName>-<UTC timestamp>.log and never reuses one', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const now = new Date(Date.UTC(2026, 10, 22, 3, 4, 5, 67));
    assert.equal(fileTimestamp(now), '20261122T030405067Z');
    const a = LogFile.open(tmp.dir, 'pkg', 10, now);
    const b = LogFile.open(tmp.dir, 'pkg', 10, now);
    assert.equal(a.path, join(tmp.dir, 'pkg-20261122T030405067Z.log'));
    assert.equal(b.path, join(tmp.dir, 'pkg-20261122T030405067Z-1.log'));
    a.write('INFO', 'test', 'one\ntwo', now);
    await a.close();
    await b.close();
    assert.equal(
      await readFile(a.path, 'utf8'),
      '2026-11-22T03:04:05.067Z INFO     [test] one\n2026-11-22T03:04:05.067Z INFO     [test] two\n',
    );
  });

  it('keeps the newest logKeep files of that name and touches nothing else', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const old = ['20250101T000000000Z', '20250102T000000000Z', '20250103T000000000Z', '20250104T000000000Z'];
    for (const ts of old) await writeFile(join(tmp.dir, `hello-${ts}.log`), 'old\n');
    // Another package whose id starts with this one's, and unrelated files.
    await writeFile(join(tmp.dir, 'hello-arm64-20240101T000000000Z.log'), 'other\n');
    await writeFile(join(tmp.dir, 'notes.txt'), 'keep\n');
    const stream = new EventStream();
    const reporters = await attachReporters(stream, {
      program: 'aiop',
      verbose: false,
      stdoutLevel: 'DISABLED',
      fileLevel: 'INFO',
      machineReadable: false,
      hideProgress: true,
      logDir: tmp.dir,
      logKeep: 3,
      logName: 'hello',
      stdout: new Collector(),
      stderr: new Collector(),
      env: {},
    });
    await reporters.close();
    const names = (await readdir(tmp.dir)).sort();
    const mine = names.filter((n) => logFilePattern('hello').test(n));
    assert.equal(mine.length, 3);
    assert.ok(mine.includes('hello-20250103T000000000Z.log'));
    assert.ok(mine.includes('hello-20250104T000000000Z.log'));
    assert.ok(reporters.logFile && mine.includes(reporters.logFile.slice(tmp.dir.length + 1)), 'the new file is kept');
    assert.ok(names.includes('hello-arm64-20240101T000000000Z.log'));
    assert.ok(names.includes('notes.txt'));
    // A collision twin is younger than the file it collided with.
    await writeFile(join(tmp.dir, 'x-20250101T000000000Z.log'), '');
    await writeFile(join(tmp.dir, 'x-20250101T000000000Z-1.log'), '');
    assert.deepEqual(rotateLogs(tmp.dir, 'x', 1), [join(tmp.dir, 'x-20250101T000000000Z.log')]);
  });

  it('holds no progress box and no ANSI codes even when the console is a terminal', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const stdout = new Collector();
    const stderr = new Collector();
    stdout.isTTY = true;
    stderr.isTTY = true;
    const stream = new EventStream();
    const reporters = await attachReporters(stream, {
      program: 'aiop',
      verbose: true,
      stdoutLevel: 'DEBUG',
      fileLevel: 'DEBUG',
      machineReadable: false,
      hideProgress: false,
      logDir: tmp.dir,
      logKeep: 3,
      logName: 'tty',
      stdout,
      stderr,
      env: { TERM: 'xterm-256color' },
    });
    assert.equal(reporters.progress, true);
    for (const e of successfulBuild()) stream.emit(e);
    await reporters.close();
    assert.ok(stderr.text.includes('\x1b['), 'the console got escape sequences (box and colours)');
    assert.ok(stderr.text.includes('╭─ aiop'), 'the console got the box');
    const file = await readFile(reporters.logFile!, 'utf8');
    assert.ok(!file.includes('\x1b'), 'no ESC in the file');
    assert.ok(!/[╭╰│]/.test(file), 'no box in the file');
    assert.match(file, /DEBUG +\[stdout hello-1\.4\.0-linux-debian12-amd64\] bin\/hello\| copied$/m);
  });

  it('build_all: one log file per package with only its lines, named in the failure summary', async (t) => {
    const tmp = await tempDir();
    t.after(tmp.cleanup);
    const stderr = new Collector();
    const stream = new EventStream();
    const reporters = await attachReporters(stream, {
      program: 'aiop',
      verbose: false,
      stdoutLevel: 'DISABLED',
      fileLevel: 'DEBUG',
      machineReadable: false,
      hideProgress: true,
      logDir: tmp.dir,
      logKeep: 3,
      logName: 'build_all',
      stdout: new Collector(),
      stderr,
      env: {},
      perPackageLogs: true,
      alwaysShowSummary: true,
    });
    for (const e of [...successfulBuild('p-ok'), ...failedBuild('p-bad')]) stream.emit(e);
    const okLog = reporters.packageLogFile('p-ok');
    const badLog = reporters.packageLogFile('p-bad');
    await reporters.close();
    assert.ok(okLog && badLog && reporters.logFile);
    assert.match(okLog, /[/\\]p-ok-\d{8}T\d{9}Z\.log$/);
    const ok = await readFile(okLog, 'utf8');
    const bad = await readFile(badLog, 'utf8');
    const all = await readFile(reporters.logFile, 'utf8');
    assert.match(ok, /\[engine\] Making bin\/hello/);
    assert.doesNotMatch(ok, /p-bad/);
    assert.match(bad, /ERROR +\[engine\] bin\/hello failed: exit status 1/);
    assert.doesNotMatch(bad, /p-ok/);
    assert.match(all, /p-ok/);
    assert.match(all, /p-bad/);
    assert.ok(stderr.text.includes(`p-bad: command failed (log: ${badLog})`), stderr.text);
  });
});
