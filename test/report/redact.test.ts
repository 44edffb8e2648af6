import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EventStream, type AiopEvent } from '../../src/core/events.js';
import { attachReporters } from '../../src/report/index.js';
import { MASK, redact } from '../../src/report/redact.js';
import { tempDir } from '../util/run.js';
import { Collector, PKG, successfulBuild } from './helpers.js';

const PASSWORD = 'p@ss,w0rd\nx';
const TOKEN = 'tok-5ecr3t-T0KEN';

describe('redact', () => {
  it('masks given secrets, their URL-encoded form, URL credentials and Authorization values', () => {
    assert.equal(redact('token is tok-5ecr3t-T0KEN.', [TOKEN]), `token is ${MASK}.`);
    assert.equal(redact(`https://u:${encodeURIComponent('p@ss word')}@h/x`, ['p@ss word']), `https://${MASK}@h/x`);
    assert.equal(redact('GET https://alice:hunter2@repo.example.com/a.zip', []), `GET https://${MASK}@repo.example.com/a.zip`);
    assert.equal(redact('git clone https://ghp_abc123@github.com/o/r', []), `git clone https://${MASK}@github.com/o/r`);
    assert.equal(redact('Authorization: Basic YWxpY2U6aHVudGVyMg==', []), `Authorization: Basic ${MASK}`);
    assert.equal(redact('authorization=Bearer abc.def', []), `authorization=Bearer ${MASK}`);
    assert.equal(redact('{"Authorization":"token abc"}', []), `{"Authorization":"token ${MASK}"}`);
    assert.equal(redact('sent bearer eyJhbGciOi.x.y', []), `sent bearer ${MASK}`);
    assert.equal(redact('nothing to hide, mail me@example.com', ['']), 'nothing to hide, mail me@example.com');
    assert.equal(redact('abcdef', ['abc', 'abcdef']), MASK, 'the longer secret is masked whole');
  });

  it('never lets a secret through, wherever it sits', () => {
    const secretChars = fc.constantFrom(...'abcXYZ019-_.:/@%+=,\n'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: secretChars, minLength: 4, maxLength: 20 }), fc.string(), fc.string(), (secret, before, after) => {
        const out = redact(`${before}${secret}${after}${secret}`, [secret]);
        assert.ok(!out.includes(secret), JSON.stringify({ out, secret }));
      }),
    );
  });
});

describe('redaction in every sink', () => {
  const events = (): AiopEvent[] => [
    ...successfulBuild(),
    { type: 'log', level: 'INFO', source: 'publish', message: `using password ${PASSWORD} and ${TOKEN}`, pkg: PKG },
    { type: 'upload-start', pkg: PKG, file: 'a.zip', url: `https://bob:${encodeURIComponent(PASSWORD)}@up.example.com/r`, attempt: 1 },
    { type: 'command', pkg: PKG, target: 'bin/hello', command: `curl -H 'Authorization: Bearer ${TOKEN}' x`, builtin: false },
    // A secret split across two output chunks must still be caught.
    { type: 'command-output', pkg: PKG, target: 'bin/hello', stream: 'stderr', text: `leak tok-5ecr` },
    { type: 'command-output', pkg: PKG, target: 'bin/hello', stream: 'stderr', text: `3t-T0KEN here\n` },
    { type: 'output', pkg: PKG, kind: 'upload', id: `https://up.example.com/r/a.zip?t=${TOKEN}`, description: `uploaded with ${TOKEN}`, files: [] },
    { type: 'failure', target: PKG, message: `upload refused for ${PASSWORD}` },
  ];

  for (const machineReadable of [false, true]) {
    it(`console, log file${machineReadable ? ' and machine-readable stdout' : ''} never show credentials`, async (t) => {
      const tmp = await tempDir();
      t.after(tmp.cleanup);
      const stdout = new Collector();
      const stderr = new Collector();
      const stream = new EventStream();
      const reporters = await attachReporters(stream, {
        program: 'aiop',
        verbose: true,
        stdoutLevel: 'DEBUG',
        fileLevel: 'DEBUG',
        machineReadable,
        hideProgress: true,
        logDir: tmp.dir,
        logKeep: 2,
        logName: 'redact',
        stdout,
        stderr,
        env: {},
        secrets: [PASSWORD, TOKEN, ''],
      });
      for (const e of events()) stream.emit(e);
      await reporters.close();
      const file = await readFile(reporters.logFile!, 'utf8');
      for (const [name, text] of [['stdout', stdout.text], ['stderr', stderr.text], ['file', file]] as const) {
        for (const secret of [PASSWORD, TOKEN, encodeURIComponent(PASSWORD), 'tok-5ecr', 'p@ss']) {
          assert.ok(!text.includes(secret), `${name} leaks ${JSON.stringify(secret)}`);
        }
      }
      // The lines are still there, masked: the test would notice if they had simply vanished.
      assert.match(file, /bin\/hello\| leak \*\*\* here/);
      assert.match(file, /using password \*\*\* and \*\*\*/);
      assert.match(machineReadable ? stdout.text : stderr.text, /using password \*\*\*/);
      if (machineReadable) assert.match(stdout.text, /,error,upload refused for \*\*\*\n/);
    });
  }
});
