import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { killAllCommands, plainCommand, runShell, spawnShell, type ShellOptions, type ShellResult } from '../../src/engine/shell.js';
import { tempDir } from '../util/run.js';

interface Ran extends ShellResult {
  stdout: string[];
  stderr: string[];
}

const ENV: NodeJS.ProcessEnv = { ...process.env, SHLVL: '1', AIOP_TEST_VALUE: 'a b  "c"' };

async function run(command: string, options: Partial<ShellOptions> = {}, how = runShell): Promise<Ran> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const result = await how(command, {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? ENV,
    ...(options.signal ? { signal: options.signal } : {}),
    onOutput: (stream, line) => (stream === 'stdout' ? stdout : stderr).push(line),
  });
  return { ...result, stdout, stderr };
}

/** Running, not a zombie. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

test('output reaches onOutput line by line, stdout and stderr apart, a last line without newline included', async () => {
  const ran = await run(`printf 'one\\ntwo\\n'; printf 'err1\\n' >&2; printf 'tail'; printf 'etail' >&2`);
  assert.deepEqual(ran.stdout, ['one', 'two', 'tail']);
  assert.deepEqual(ran.stderr, ['err1', 'etail']);
  assert.equal(ran.code, 0);
  assert.equal(ran.signal, null);
});

test('the exit status comes back; the next command on the same launcher is not disturbed', async () => {
  assert.equal((await run('exit 7')).code, 7);
  const after = await run('echo fine');
  assert.deepEqual(after.stdout, ['fine']);
  assert.equal(after.code, 0);
});

test('commands run with /bin/sh -c semantics: several lines, quotes, the folder and environment given', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const ran = await run('x=1\nif [ "$x" = 1 ]; then echo "multi line"; fi\npwd\nprintf "%s|" "$AIOP_TEST_VALUE" "$0"; echo', { cwd: dir });
  assert.deepEqual(ran.stdout, ['multi line', dir, 'a b  "c"|/bin/sh|']);
});

test('commands see exactly their environment: no launcher variable, SHLVL as given', async () => {
  const env = { ...ENV, SHLVL: '3' };
  const ran = await run('env', { env });
  const seen = new Map(ran.stdout.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(seen.get('SHLVL'), '3');
  assert.equal(seen.get('AIOP_TEST_VALUE'), 'a b  "c"');
  assert.deepEqual([...seen.keys()].filter((k) => k.startsWith('__aiop')), []);
  const without = { ...ENV };
  delete without.SHLVL;
  const unset = await run('echo "${SHLVL-unset}" $PPID', { env: without });
  assert.deepEqual(unset.stdout, [`unset ${process.pid}`], 'without SHLVL the command is spawned directly');
});

test('each command has its own process group, stdin from /dev/null, SIGINT not ignored', async () => {
  const ran = await run(
    `cut -d' ' -f5 /proc/$$/stat; echo $$; readlink /proc/self/fd/0 </dev/stdin; grep SigIgn /proc/$$/status | tr -d '\\t'`,
  );
  const [pgid, pid, stdin, ignored] = ran.stdout;
  assert.equal(pgid, pid, 'the shell leads its own process group');
  assert.notEqual(Number(pgid), process.pid);
  assert.equal(stdin, '/dev/null');
  // Bit 2 is SIGINT, bit 3 SIGQUIT: an asynchronous list without job control would ignore both.
  assert.equal((BigInt(`0x${ignored!.split(':')[1]}`) & 0b110n), 0n);
});

test('plain words are started by the launcher itself with the result /bin/sh gives; everything else goes to /bin/sh', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await mkdir(join(dir, 'bin'));
  // Without `#!` a script is read by /bin/sh (dash: `echo -e` prints -e), never by the launcher's bash.
  await writeFile(join(dir, 'bin/no-shebang'), 'echo -e no shebang\n', { mode: 0o755 });
  await writeFile(join(dir, 'bin/with-shebang'), '#!/bin/sh\necho "with shebang $1"\n', { mode: 0o755 });
  await writeFile(join(dir, 'bin/not-executable'), 'echo never\n', { mode: 0o644 });
  await writeFile(join(dir, 'a.txt'), 'a\n');
  const env = { ...ENV, PATH: `${join(dir, 'bin')}:${ENV.PATH}` };
  const plain = ['cp a.txt b.txt', 'seq 3', 'expr 2 + 3', 'dd if=a.txt of=c.txt status=none', 'no-shebang', 'with-shebang x', 'not-executable', 'no-such-program x', 'cat missing.txt', 'ls -d .'];
  const shell = ['echo -e x', 'true', 'FOO=1 printenv FOO', './bin/with-shebang', 'cp $HOME x', 'cat a.txt | wc -l', 'cp "a.txt" d.txt', 'ls a*', 'cd bin', 'exit 4', 'ls ~', 'seq 2 # comment', 'seq\t2'];
  for (const command of plain) assert.equal(plainCommand(command), true, command);
  for (const command of shell) assert.equal(plainCommand(command), false, command);
  for (const command of [...plain, ...shell]) {
    const viaLauncher = await run(command, { cwd: dir, env });
    const viaSh = await run(command, { cwd: dir, env }, spawnShell);
    assert.deepEqual(viaLauncher, viaSh, command);
  }
  assert.equal(await readFile(join(dir, 'c.txt'), 'utf8'), 'a\n');
  // Started without /bin/sh: bash gives a program it starts through /bin/sh `_=/bin/sh`, one it starts itself none.
  const underscore = async (command: string): Promise<string[]> => (await run(command, { cwd: dir, env })).stdout.filter((l) => l.startsWith('_='));
  assert.deepEqual(await underscore('env'), []);
  assert.deepEqual(await underscore('env | cat'), ['_=/bin/sh']);
});

test('two commands with the same folder and environment reuse one launcher', async () => {
  const first = await run('echo $PPID');
  const second = await run('echo $PPID');
  assert.equal(first.stdout[0], second.stdout[0]);
  assert.notEqual(Number(first.stdout[0]), process.pid, 'started by a launcher, not by Node');
});

test('an environment that changes how bash starts is not given to a launcher: the command is spawned directly', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const ran = await run('echo $PPID', { env: { ...ENV, BASH_ENV: join(dir, 'never-read.sh') } });
  assert.equal(Number(ran.stdout[0]), process.pid);
});

test('the direct spawn gives the same results', async () => {
  const ran = await run(`printf 'a\\nb'; exit 3`, {}, spawnShell);
  assert.deepEqual(ran.stdout, ['a', 'b']);
  assert.equal(ran.code, 3);
});

test('abort ends the whole process group: the command and what it started', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const controller = new AbortController();
  const pidFile = join(dir, 'grandchild.pid');
  const running = run(`sleep 60 & echo $! > ${pidFile}; wait`, { signal: controller.signal });
  let pid = 0;
  for (let i = 0; i < 200 && pid === 0; i++) {
    await sleep(25);
    pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
  }
  assert.ok(pid > 0);
  controller.abort();
  const ran = await running;
  assert.equal(ran.signal, 'SIGTERM');
  assert.equal(ran.code, null);
  await sleep(100);
  assert.equal(await alive(pid), false);
  // The launcher survives an abort and runs the next command.
  assert.deepEqual((await run('echo next')).stdout, ['next']);
});

test('killAllCommands ends every running command', async () => {
  const runs = [run('sleep 60'), run('sleep 60'), run('sleep 60', { env: { ...ENV, BASH_ENV: '/nonexistent' } })];
  await sleep(200);
  // Not awaited: its timers do not hold the process open once the commands are gone.
  void killAllCommands(2000);
  const results = await Promise.all(runs);
  for (const r of results) assert.ok(r.signal === 'SIGTERM' || r.code === 143, JSON.stringify(r));
});

test('property: any printable output, with or without final newline, comes back intact', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.stringMatching(/^[ -~]{0,40}$/), { minLength: 1, maxLength: 5 }), fc.boolean(), async (lines, final) => {
      const text = lines.join('\n') + (final ? '\n' : '');
      const ran = await run(`printf '%s' "$AIOP_TEXT"`, { env: { ...ENV, AIOP_TEXT: text } });
      // Lines as a splitter sees them: a final newline ends the last line, it does not start another.
      const expected = text === '' ? [] : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
      assert.deepEqual(ran.stdout, expected);
    }),
    { numRuns: 40 },
  );
});

test('a folder removed and made again at the same path gets a new launcher', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const work = join(dir, 'work');
  await mkdir(work);
  const first = await run('echo $PPID; pwd -P', { cwd: work });
  await rm(work, { recursive: true });
  await mkdir(work);
  await writeFile(join(work, 'marker'), 'here\n');
  const second = await run('echo $PPID; cat marker', { cwd: work });
  assert.notEqual(second.stdout[0], first.stdout[0]);
  assert.equal(second.stdout[1], 'here');
});
