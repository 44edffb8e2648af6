import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AIOP, copyExample, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { completeWords } from '../../src/commands/completion.js';
import { loadStats } from '../../src/playbook/load.js';

/** A folder holding an `aiop` executable (the built one), for the shells' PATH. */
async function aiopOnPath(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'aiop'), `#!/bin/sh\nexec "${process.execPath}" "${AIOP}" "$@"\n`);
  await chmod(join(bin, 'aiop'), 0o755);
  return bin;
}

async function setup(t: import('node:test').TestContext): Promise<{ dir: string; root: string; env: NodeJS.ProcessEnv }> {
  const { dir } = await tempDir();
  // A shell killed with its terminal may still be writing (history, playbook cache) for a moment.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 }));
  const root = await copyExample('hello', dir);
  const bin = await aiopOnPath(dir);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: dir, HISTFILE: '/dev/null', XDG_CONFIG_HOME: join(dir, 'xdg'), AIOP_CONFIG: join(dir, 'none.yml') };
  return { dir, root, env };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout: 30_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/**
 * Types `keys` into an interactive shell inside tmux and waits until every string of
 * `expect` is on the screen (completion listings); returns the screen.
 */
async function typeInTmux(dir: string, cwd: string, env: NodeJS.ProcessEnv, shell: string[], setupLine: string, keys: string[], expect: string[]): Promise<string> {
  const socket = join(dir, 'tmux.sock');
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', socket, ...args], { cwd, env, encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 't', '-x', '160', '-y', '40', ...shell);
  try {
    tmux('send-keys', '-t', 't', setupLine, 'Enter');
    // The output line alone, not the typed command that contains it.
    await waitFor(() => tmux('capture-pane', '-p', '-t', 't'), ['SETUP-DONE'], true);
    tmux('send-keys', '-t', 't', ...keys);
    return await waitFor(() => tmux('capture-pane', '-p', '-t', 't'), expect);
  } finally {
    tmux('kill-server');
  }
}

async function waitFor(screen: () => string, expect: string[], wholeLine = false): Promise<string> {
  let text = '';
  for (let i = 0; i < 200; i++) {
    text = screen();
    const lines = text.split('\n');
    if (expect.every((e) => lines.some((line) => (wholeLine ? line.trim() === e : line.includes(e) && !line.includes('SETUP-DONE'))))) return text;
    await sleep(50);
  }
  throw new Error(`never saw ${expect.join(', ')} on the screen:\n${text}`);
}

test('bash: the completion function completes `aiop build linux ` to the first parameter\'s choices', async (t) => {
  if (!requireTools(t, 'bash')) return;
  const { root, env } = await setup(t);
  const script = `source <(aiop completion bash)
complete -p aiop
try() { COMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; read -r -a COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _aiop; echo "$1 => \${COMPREPLY[*]}"; }
try "aiop build linux "
try "aiop build linux debian12 "
try "aiop build linux --zip_pack ubuntu22.04 a"
try "aiop b"
try "aiop cache "
try "aiop build --installer "
try "aiop build li"
`;
  const out = await run('bash', ['--norc', '--noprofile', '-c', script], root, env);
  const lines = out.trimEnd().split('\n');
  assert.deepEqual(lines, [
    'complete -o default -F _aiop aiop',
    'aiop build linux  => debian12 ubuntu22.04',
    'aiop build linux debian12  => amd64 arm64',
    'aiop build linux --zip_pack ubuntu22.04 a => amd64 arm64',
    'aiop b => build build_all build_again',
    'aiop cache  => ls verify clean',
    'aiop build --installer  => deb rpm',
    'aiop build li => linux',
  ]);
});

test('bash through its own completion machinery in a terminal (tmux): aiop build linux <TAB><TAB>', async (t) => {
  if (!requireTools(t, 'bash', 'tmux')) return;
  const { dir, root, env } = await setup(t);
  const screen = await typeInTmux(dir, root, env, ['bash', '--norc', '--noprofile', '-i'], 'source <(aiop completion bash) && echo SETUP-DONE', ['aiop build linux ', 'Tab', 'Tab'], ['debian12', 'ubuntu22.04']);
  assert.match(screen, /debian12\s+ubuntu22\.04/);
});

test('zsh through compinit in a terminal (tmux): aiop build linux <TAB>', async (t) => {
  if (!requireTools(t, 'zsh', 'tmux')) return;
  const { dir, root, env } = await setup(t);
  const screen = await typeInTmux(
    dir,
    root,
    { ...env, ZDOTDIR: dir },
    ['zsh', '-f', '-i'],
    'autoload -Uz compinit && compinit -u -D && source <(aiop completion zsh) && echo SETUP-DONE',
    ['aiop build linux ', 'Tab'],
    ['debian12', 'ubuntu22.04'],
  );
  assert.match(screen, /debian12\s+ubuntu22\.04/);
});

test('fish: complete -C "aiop build linux " gives the first parameter\'s choices', async (t) => {
  if (!requireTools(t, 'fish')) return;
  const { root, env } = await setup(t);
  const out = await run('fish', ['--no-config', '-c', 'aiop completion fish | source; complete -C "aiop build linux "; echo ---; complete -C "aiop build linux debian12 "; echo ---; complete -C "aiop build macos "; echo ---; complete -C "aiop vali"'], root, { ...env, XDG_CONFIG_HOME: join(root, '..', 'xdg') });
  assert.deepEqual(out.trimEnd().split('\n---\n').map((s) => s.split('\n')), [['debian12', 'ubuntu22.04'], ['amd64', 'arm64'], ['13', '14'], ['validate']]);
});

test('completion candidates: options, option values, name=value forms; a warm playbook cache reads no YAML', async (t) => {
  const { root } = await setup(t);
  // Files younger than a second are never trusted from the cache (racy timestamps): let them age.
  await sleep(1100);
  const hits = loadStats.cacheHits;
  const misses = loadStats.cacheMisses;
  assert.deepEqual(await completeWords(['build', 'linux', ''], root), ['debian12', 'ubuntu22.04']);
  assert.equal(loadStats.cacheMisses, misses + 1);
  assert.deepEqual(await completeWords(['build', 'linux', 'arch='], root), ['arch=amd64', 'arch=arm64']);
  assert.deepEqual(await completeWords(['build', 'linux', 'distro=debian12', ''], root), ['amd64', 'arm64']);
  assert.equal(loadStats.cacheHits, hits + 2, 'served from .aiop/state/playbook-cache.json');
  assert.equal(loadStats.cacheMisses, misses + 1);
  assert.deepEqual(await completeWords(['build', '--zip'], root), ['--zip_pack']);
  assert.deepEqual(await completeWords(['build', '-sll', 'D'], root), ['DEBUG', 'DISABLED']);
  assert.deepEqual(await completeWords(['build_all', '--ci', ''], root), ['gitlab', 'github']);
  assert.deepEqual(await completeWords(['build', 'linux', '--upload', 'z'], root), ['zip']);
  assert.deepEqual(await completeWords(['completion', ''], root), ['bash', 'zsh', 'fish']);
  assert.deepEqual(await completeWords(['build', ''], join(root, 'files')), [], 'no playbook here: no targets');
});
