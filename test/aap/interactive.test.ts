import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNginx } from '../util/nginx.js';
import { AAP, isolatedEnv, tempDir } from '../util/run.js';
import { requireTools } from '../util/tools.js';
import { aapPlaybook } from './helpers.js';
import { StateFile } from '../../src/store/state-file.js';

/** Runs a shell command line under a pseudo-terminal (util-linux `script`), feeding `input`. */
function underTerminal(line: string, cwd: string, env: Record<string, string | undefined>, input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      // Answer once the question is on the screen, as a person would.
      if (output.includes('[y/N]') && !child.stdin.writableEnded) child.stdin.end(input);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('-f URL on a terminal asks before overwriting an existing recipe', async (t) => {
  if (!requireTools(t, 'nginx', 'script')) return;
  const pb = await aapPlaybook(t);
  await writeFile(join(pb.dir, 'remote.yml'), 'default: r.txt\ntargets:\n  r.txt: { commands: ["echo served > $target"] }\n');
  const server = await startNginx({ root: pb.dir });
  t.after(() => server.stop());
  await writeFile(join(pb.root, 'remote.yml'), 'default: r.txt\ntargets:\n  r.txt: { commands: ["echo local > $target"] }\n');
  const line = `${JSON.stringify(process.execPath)} ${JSON.stringify(AAP)} -f ${server.url}/remote.yml`;

  const no = await underTerminal(line, pb.root, pb.env, 'n\n');
  assert.equal(no.code, 2, no.output);
  assert.match(no.output, /remote\.yml already exists: overwrite\? \[y\/N\]/);
  assert.match(no.output, /not overwriting it/);
  assert.match(await readFile(join(pb.root, 'remote.yml'), 'utf8'), /local/);

  const yes = await underTerminal(line, pb.root, pb.env, 'y\n');
  assert.equal(yes.code, 0, yes.output);
  assert.match(await readFile(join(pb.root, 'remote.yml'), 'utf8'), /served/);
  assert.equal(await readFile(join(pb.root, '.build/aap/r.txt'), 'utf8'), 'served\n');
});

test('-f URL outside a playbook asks the same question on a terminal, and y fetches and builds', async (t) => {
  if (!requireTools(t, 'nginx', 'script')) return;
  const { dir, cleanup } = await tempDir('aiop-aap-ask-');
  t.after(cleanup);
  const env = { ...isolatedEnv(dir), CI: undefined };
  await mkdir(join(dir, 'www'));
  await mkdir(join(dir, 'work'));
  await writeFile(join(dir, 'www/remote.yml'), 'default: r.txt\ntargets:\n  r.txt: { commands: ["echo served > $target"] }\n');
  const server = await startNginx({ root: join(dir, 'www') });
  t.after(() => server.stop());
  await writeFile(join(dir, 'work/remote.yml'), 'default: r.txt\ntargets:\n  r.txt: { commands: ["echo local > $target"] }\n');
  const line = `${JSON.stringify(process.execPath)} ${JSON.stringify(AAP)} -f ${server.url}/remote.yml`;
  const yes = await underTerminal(line, join(dir, 'work'), env, 'y\n');
  assert.equal(yes.code, 0, yes.output);
  assert.match(yes.output, /remote\.yml already exists: overwrite\? \[y\/N\]/);
  assert.match(await readFile(join(dir, 'work/remote.yml'), 'utf8'), /served/);
  assert.equal(await readFile(join(dir, 'work/.build/aap/r.txt'), 'utf8'), 'served\n');
});

test('SIGINT ends the running command and exits 130; the interrupted target is not recorded as built', async (t) => {
  const pb = await aapPlaybook(t, {
    recipe: 'default: slow.txt\ntargets:\n  slow.txt: { commands: ["touch started; sleep 30", "echo done > $target"] }\n',
  });
  const child = spawn(process.execPath, [AAP], { cwd: pb.root, env: { ...process.env, ...pb.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Wait for the command to be running (its marker file), then interrupt aap alone.
  for (let i = 0; i < 400 && !existsSync(join(pb.root, 'started')); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(existsSync(join(pb.root, 'started')), 'the command started');
  child.kill('SIGINT');
  assert.equal(await closed, 130, stderr);
  assert.equal(existsSync(join(pb.root, '.build/aap/slow.txt')), false);
  // No signature was recorded for it, so the next run builds it.
  const state = join(pb.root, '.aiop/state/aap');
  const files = existsSync(state) ? await readdir(state) : [];
  for (const file of files) {
    assert.equal(StateFile.load(join(state, file)).target('slow.txt'), undefined);
  }
});
