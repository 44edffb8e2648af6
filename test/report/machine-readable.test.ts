import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EventStream } from '../../src/core/events.js';
import { attachReporters, type ReportSettings } from '../../src/report/index.js';
import { escapeField, machineLine, unescapeField } from '../../src/report/machine-readable.js';
import { Collector, PKG, failedBuild, successfulBuild } from './helpers.js';
import { decode, parseMachineReadable } from './packer-parser.js';

function settings(stdout: Collector, stderr: Collector, extra: Partial<ReportSettings> = {}): ReportSettings {
  return {
    program: 'aiop',
    verbose: false,
    stdoutLevel: 'INFO',
    fileLevel: 'DEBUG',
    machineReadable: true,
    hideProgress: false,
    logKeep: 5,
    logName: 'mr',
    stdout,
    stderr,
    env: {},
    ...extra,
  };
}

describe('escapeField / unescapeField / machineLine', () => {
  it('escapes as Packer does', () => {
    assert.equal(escapeField('a,b\r\nc'), 'a%!(PACKER_COMMA)b\\r\\nc');
    assert.equal(machineLine(1700000000, 'pkg', 'artifact', '0', 'string', 'x,y\nz'), '1700000000,pkg,artifact,0,string,x%!(PACKER_COMMA)y\\nz\n');
    assert.equal(machineLine(1700000000.9, '', 'ui', 'say', 'hi'), '1700000000,,ui,say,hi\n');
  });

  // Packer's format is ambiguous for a backslash before n/r and for the marker text itself.
  const decodable = (s: string): boolean => !s.includes('\\') && !s.includes('%!(PACKER_COMMA)');

  it('round-trips any string without backslashes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ',', '\n', '\r', '%', '!', '(', ')', 'P', 'é', ' ', '𝄞') }).filter(decodable),
        (s) => {
          assert.equal(unescapeField(escapeField(s)), s);
          assert.equal(decode(escapeField(s)), s);
        },
      ),
    );
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }).filter(decodable), (s) => unescapeField(escapeField(s)) === s));
  });

  it('never emits a raw newline inside a line, and the field count is fixed', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.array(fc.string({ unit: fc.constantFrom('x', ',', '\n', '\r') }), { maxLength: 5 }), (target, type, data) => {
        const line = machineLine(1, target, type.replace(/[,\r\n]/g, ''), ...data);
        assert.ok(line.endsWith('\n'));
        assert.ok(!line.slice(0, -1).includes('\n'));
        assert.ok(!line.includes('\r'));
        assert.equal(line.slice(0, -1).split(',').length, 3 + data.length);
      }),
    );
  });
});

describe('machine-readable run', () => {
  it('prints only documented lines: ui messages, artifacts per package, then errors', async () => {
    const stdout = new Collector();
    const stderr = new Collector();
    const stream = new EventStream();
    const reporters = await attachReporters(stream, settings(stdout, stderr));
    const ok = 'hello-1.4.0-linux-debian12-amd64';
    const bad = 'hello-1.4.0-linux-ubuntu22.04-arm64';
    const empty = 'hello-1.4.0-linux-debian12-arm64';
    for (const e of successfulBuild(ok)) stream.emit(e);
    for (const e of failedBuild(bad)) stream.emit(e);
    stream.emit({ type: 'package-start', pkg: empty, systemTarget: 'linux', compat: { distro: 'debian12', arch: 'arm64' } });
    stream.emit({ type: 'package-done', pkg: empty, ok: true, durationMs: 3 });
    await reporters.close();

    const run = parseMachineReadable(stdout.text);
    assert.deepEqual([...run.artifacts.keys()], [ok, bad, empty], 'packages in the order they started');
    const arts = run.artifacts.get(ok)!;
    assert.equal(arts.length, 2);
    assert.equal(arts[0]!.builderId, 'aiop.folder');
    assert.equal(arts[0]!.id, `/tmp/.build/${ok}`);
    assert.equal(arts[0]!.string, 'Says hello, politely.\nA longer description, on two lines.', 'description round-trips');
    assert.deepEqual(arts[0]!.files, ['bin/hello', 'share/doc/hello/README']);
    assert.equal(arts[1]!.builderId, 'aiop.zip');
    assert.deepEqual(run.artifacts.get(bad), [], 'a failed package that made nothing has no artifacts');
    assert.deepEqual(run.artifacts.get(empty), [{ files: [], nil: true }], 'nil artifact');
    assert.equal(run.errorCount, 1);
    assert.deepEqual(run.errors, [{ target: bad, message: 'command failed, see below:\nfalse: exit status 1' }]);
    assert.ok(run.ui.some((u) => u.kind === 'say' && u.text.includes('Fetching artifacts')), 'phase headings are ui,say');
    assert.ok(run.ui.some((u) => u.kind === 'message' && u.text.includes('a warning, with a comma')), 'warnings decode');
    assert.ok(run.ui.some((u) => u.kind === 'error' && u.text.includes('bin/hello failed')), 'errors are ui,error');
    assert.ok(!run.ui.some((u) => u.text.includes('read .aiop/inventory_config.yml')), 'DEBUG is below the console level');
    // The raw lines keep the escaped forms.
    assert.match(stdout.text, /artifact,0,string,Says hello%!\(PACKER_COMMA\) politely\.\\nA longer/);
    assert.ok(stdout.text.split('\n').filter((l) => l.includes(',error-count,')).every((l) => /^\d+,,error-count,1$/.test(l)));
    assert.equal(stderr.text, '', 'nothing at DEBUG asked, so nothing on stderr');
  });

  it('with -v, DEBUG lines go to stderr and stdout stays parseable', async () => {
    const stdout = new Collector();
    const stderr = new Collector();
    const stream = new EventStream();
    const reporters = await attachReporters(stream, settings(stdout, stderr, { verbose: true, stdoutLevel: 'DISABLED' }));
    for (const e of successfulBuild()) stream.emit(e);
    await reporters.close();
    const run = parseMachineReadable(stdout.text);
    assert.equal(run.errorCount, 0);
    assert.equal(run.artifacts.get(PKG)?.length, 2);
    assert.match(stderr.text, /debug: read \.aiop\/inventory_config\.yml/);
    assert.doesNotMatch(stdout.text, /inventory_config/);
  });

  it('a run with no package still ends with error-count', async () => {
    const stdout = new Collector();
    const stream = new EventStream();
    const reporters = await attachReporters(stream, settings(stdout, new Collector(), { stdoutLevel: 'DISABLED' }));
    stream.emit({ type: 'failure', target: 'bin/hello', message: 'no rule, no file' });
    await reporters.close();
    const run = parseMachineReadable(stdout.text);
    assert.deepEqual(run.errors, [{ target: 'bin/hello', message: 'no rule, no file' }]);
    assert.equal(run.ui.length, 0);
    assert.equal(run.artifacts.size, 0);
  });
});

describe('the documentation parser itself', () => {
  it('rejects what Packer does not allow', () => {
    const bad = [
      '1,p,artifact,0,id,x\n', // artifact before artifact-count
      'x,p,artifact-count,0\n', // non-integer timestamp
      '1,p\n', // fewer than 3 fields
      '1,p,artifact-count,1\n1,p,artifact,0,id,x\n', // never closed by end
      '1,p,artifact-count,1\n1,p,artifact,0,files-count,2\n1,p,artifact,0,file,0,a\n1,p,artifact,0,end\n', // files-count != files
      '1,,error-count,2\n1,t,error,x\n', // error-count != errors
      '1,t,error,x\n', // error before error-count
      '1,,ui,shout,x\n', // unknown ui subtype
      'hello\n', // anything else on stdout
    ];
    for (const text of bad) assert.throws(() => parseMachineReadable(text), assert.AssertionError, JSON.stringify(text));
    parseMachineReadable('1,p,artifact-count,1\n1,p,artifact,0,nil\n1,p,artifact,0,end\n1,,error-count,0\n');
  });
});
