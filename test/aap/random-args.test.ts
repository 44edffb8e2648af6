import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aapPlaybook } from './helpers.js';

/**
 * Words an aap command line is made of: every option, good and bad values, assignments,
 * targets that exist and that do not. Values stay harmless (no command that deletes).
 */
const WORDS = [
  '-a', '--nocache', '-c', ':print hi', 'echo x', '--changed', 'src/a.in', '-C', '--contents', '-d', 'explain',
  'explain,sign', 'bogus', '-f', 'NONE', 'nope.yml', 'http://127.0.0.1:1/r.yml', '-F', '--force', '-I', 'inc',
  '--install', 'tool', '-j', '2', '0', '-k', '-l', '-n', '-N', '--profile', 'p.json', '-R', '-s', '-S',
  '-t', '-u', '-v', '-V', '-h', '--', '-', '--machine-readable', '--bogus', '-x', 'all', 'a.txt', 'c.txt',
  'missing', '$GREETING', '$NOPE', '$($)', 'GREETING=Hi', 'PKGDIR=out', 'X=', '=', 'a=b=c', '-nF', '-j4',
  '--jobs=3', '--debug=expand', '', '.', 'src',
];

test('random argument lists: exit 0, 1 or 2 and never an internal error', async (t) => {
  const pb = await aapPlaybook(t);
  // An unreachable recipe URL fails at once instead of after the retries' backoff.
  pb.env.AIOP_DOWNLOAD_RETRIES = '0';
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }), async (args) => {
      const result = await pb.run(args, pb.root, '');
      assert.ok([0, 1, 2].includes(result.code ?? -1), `aap ${JSON.stringify(args)} exited ${result.code}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /internal error/, `aap ${JSON.stringify(args)}`);
      if (result.code !== 0) assert.match(result.stderr + result.stdout, /aap: error: /, `a failure says why: ${JSON.stringify(args)}`);
    }),
    { numRuns: 25 },
  );
});
