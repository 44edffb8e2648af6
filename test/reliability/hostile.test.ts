/**
 * Hostile input through the real CLI: each is refused with a clear error (exit 2) and
 * nothing is written outside the playbook's own folders; symlinks pointing out of the
 * package are kept as links in the zip and the .deb, never followed; configuration bombs
 * are refused fast with bounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { AIOP, aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, snapshot, writePlaybook, type PlaybookFiles } from '../util/playbook.js';
import { requireTools } from '../util/tools.js';
import { recordTrial } from './report.js';

const OK_RECIPE = `default: all
targets:
  all: { virtual: true, depends: [bin/hello] }
  bin/hello:
    sources: [files/hello.sh]
    commands: [":copy $source $target"]
`;
const FILES = { 'files/hello.sh': '!#!/bin/sh\necho hello\n' };

const inventoryWith = (extraTarget: string): string => `${SIMPLE_INVENTORY}${extraTarget}`;

interface Case {
  name: string;
  playbook: PlaybookFiles;
  args?: string[];
  /** What the error must say. */
  message: RegExp;
}

const DEB_WITH = (line: string): string => SIMPLE_INVENTORY.replace('    deb:\n      architecture: ${arch}\n', `    deb:\n      architecture: \${arch}\n      install_map: { etc/: /etc/ }\n${line}`);

const ARTIFACT = (dest: string): string => `${SIMPLE_INVENTORY}    artifacts:
      - name: evil
        url: file:///nonexistent/evil.txt
        sha256: ${'0'.repeat(64)}
        dest: ${dest}
`;

const CASES: Case[] = [
  { name: 'target name with ..', playbook: { recipe: OK_RECIPE.replace('bin/hello', '../../../outside/evil').replace('[bin/hello]', '[../../../outside/evil]'), files: FILES }, message: /\.\.\/\.\.\/\.\.\/outside\/evil/ },
  { name: 'absolute target name', playbook: { recipe: `default: all\ntargets:\n  all: { virtual: true, depends: [OUTSIDE/evil] }\n  OUTSIDE/evil:\n    commands: [":touch $target"]\n`, files: FILES }, message: /is an absolute path/ },
  { name: 'artifact dest with ..', playbook: { inventory: ARTIFACT('../../../outside/'), recipe: OK_RECIPE, files: FILES }, message: /dest|outside/ },
  { name: 'absolute artifact dest', playbook: { inventory: ARTIFACT('OUTSIDE/'), recipe: OK_RECIPE, files: FILES }, message: /dest|absolute/ },
  { name: 'conffiles with ..', playbook: { inventory: DEB_WITH('      conffiles: [../../../outside/evil.conf]\n'), recipe: OK_RECIPE, files: FILES }, args: ['--installer', 'deb'], message: /conffile/ },
  { name: 'absolute conffiles', playbook: { inventory: DEB_WITH('      conffiles: [OUTSIDE/evil.conf]\n'), recipe: OK_RECIPE, files: FILES }, args: ['--installer', 'deb'], message: /conffile/ },
  { name: '--installer_name with ..', playbook: { recipe: OK_RECIPE, files: FILES }, args: ['--installer', 'deb', '--installer_name', '../../outside/evil.deb'], message: /installer_name/ },
  { name: 'absolute --installer_name', playbook: { recipe: OK_RECIPE, files: FILES }, args: ['--installer', 'deb', '--installer_name', 'OUTSIDE/evil.deb'], message: /installer_name/ },
  { name: '--destination_path into the sources', playbook: { recipe: OK_RECIPE, files: FILES }, args: ['--destination_path', 'files', '--force'], message: /source|playbook/ },
  { name: '--destination_path the playbook itself', playbook: { recipe: OK_RECIPE, files: FILES }, args: ['--destination_path', '.', '--force'], message: /playbook/ },
  { name: '--destination_path into .aiop', playbook: { recipe: OK_RECIPE, files: FILES }, args: ['--destination_path', '.aiop/x', '--force'], message: /\.aiop/ },
  {
    name: 'self-referencing variable',
    playbook: { recipe: `variables: { A: "x$B", B: "y$C", C: "$A" }\ndefault: all\ntargets:\n  all: { virtual: true, depends: [out] }\n  out:\n    commands: [":print $A > $target"]\n`, files: FILES },
    message: /refers to itself/,
  },
  {
    name: 'billion-laughs alias bomb',
    playbook: {
      recipe: `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\ntargets: {}\n`,
      files: FILES,
    },
    message: /alias/i,
  },
];

/**
 * Runs `aiop` with its JavaScript heap capped at 64 MiB (reading a 100 MB file into a string,
 * or expanding an alias bomb, would die there), and reads its peak resident memory (VmHWM,
 * a high-water mark) from /proc while it runs.
 */
function aiopMeasured(args: string[], cwd: string, env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string; peakMiB: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=64', AIOP, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peakKb: number | undefined;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, 'utf8').then(
        (status) => {
          const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
          if (Number.isFinite(kb)) peakKb = Math.max(peakKb ?? 0, kb);
        },
        () => undefined,
      );
    }, 10);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, stderr, peakMiB: peakKb === undefined ? undefined : peakKb / 1024 });
    });
  });
}

for (const c of CASES) {
  test(`hostile input refused: ${c.name}`, async (t) => {
    const { dir, cleanup } = await tempDir();
    t.after(cleanup);
    const outside = join(dir, 'outside');
    await mkdir(outside);
    const subst = (text: string | undefined): string | undefined => text?.split('OUTSIDE').join(outside);
    const root = await writePlaybook(join(dir, 'pb'), {
      ...c.playbook,
      ...(c.playbook.recipe !== undefined ? { recipe: subst(c.playbook.recipe)! } : {}),
      ...(c.playbook.inventory !== undefined ? { inventory: subst(c.playbook.inventory)! } : {}),
    });
    const args = (c.args ?? []).map((a) => subst(a)!);
    const before = await snapshot(dir);
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', ...args], { cwd: root, env: isolatedEnv(dir), timeoutMs: 30_000 });
    assert.equal(result.code, 2, `exit 2 expected:\n${result.stderr}`);
    assert.match(result.stderr, /^aiop: error: /m);
    assert.match(result.stderr, c.message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'a clear message, not a stack trace');
    // Refused before anything was built: nothing new anywhere but the tool's own state and logs.
    const after = await snapshot(dir, (rel) => rel.startsWith('pb/.aiop/logs') || rel.startsWith('pb/.aiop/state') || rel.startsWith('xdg-'));
    const expected = Object.fromEntries(Object.entries(before).filter(([rel]) => !rel.startsWith('xdg-')));
    assert.deepEqual(after, expected, 'nothing was written');
    recordTrial({ category: 'hostile', what: c.name, held: true });
  });
}

test('symlinks in the package folder pointing outside are kept as links in the zip and the .deb, never followed', async (t) => {
  if (!requireTools(t, 'unzip', 'dpkg-deb')) return;
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const secret = join(dir, 'secret.txt');
  await writeFile(secret, 'TOP-SECRET-CONTENT\n');
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: all
targets:
  all: { virtual: true, depends: [bin/hello, share/abs-link, share/rel-link] }
  bin/hello:
    sources: [files/hello.sh]
    commands: [":copy $source $target"]
  share/abs-link:
    commands: [":symlink ${secret} $target"]
  share/rel-link:
    commands: [":symlink ../../../../secret.txt $target"]
`,
    files: FILES,
  });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 0, result.stderr);
  const zip = join(root, '.build/demo-1.0.0-linux-debian12-amd64.zip');
  const listing = execFileSync('unzip', ['-Z', '-l', zip], { encoding: 'utf8' });
  assert.match(listing, /^l.*share\/abs-link$/m, listing);
  assert.match(listing, /^l.*share\/rel-link$/m, listing);
  assert.equal((await readFile(zip)).includes('TOP-SECRET-CONTENT'), false, 'the zip holds the link, not the file it points to');
  assert.equal(execFileSync('unzip', ['-p', zip, 'demo-1.0.0-linux-debian12-amd64/share/abs-link'], { encoding: 'utf8' }), secret);
  const deb = join(root, '.build/demo_1.0.0_amd64.deb');
  const contents = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  assert.match(contents, new RegExp(`share/abs-link -> ${secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), contents);
  assert.match(contents, /share\/rel-link -> \.\.\/\.\.\/\.\.\/\.\.\/secret\.txt/, contents);
  const data = execFileSync('sh', ['-c', `dpkg-deb --fsys-tarfile "${deb}" | cat`]);
  assert.equal(data.includes('TOP-SECRET-CONTENT'), false, 'the .deb holds the link, not the file');
  recordTrial({ category: 'hostile', what: 'symlinks pointing outside kept as links in zip and .deb', held: true });
});

test('a 100 MB configuration file is refused fast, with bounded memory', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { recipe: OK_RECIPE, files: FILES });
  const out = createWriteStream(join(root, '.aiop/recipe.yml'));
  const line = `# ${'x'.repeat(1021)}\n`;
  const chunk = line.repeat(1024);
  for (let i = 0; i < 100; i++) if (!out.write(chunk)) await once(out, 'drain');
  out.end(OK_RECIPE);
  await once(out, 'close');
  const result = await aiopMeasured(['build', 'linux', 'debian12', 'amd64'], root, isolatedEnv(dir));
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /recipe\.yml.*over the 10 MiB limit/);
  // Reading 100 MB whole would take well over this; node itself needs about 60.
  if (result.peakMiB !== undefined) assert.ok(result.peakMiB < 150, `peak memory ${result.peakMiB} MiB`);
  t.diagnostic(`peak resident memory: ${result.peakMiB?.toFixed(1) ?? 'not sampled'} MiB`);
  recordTrial({ category: 'hostile', what: '100 MB YAML file refused (memory bounded)', held: true });
});

test('an alias bomb is refused with bounded memory', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const bomb = CASES.find((c) => c.name === 'billion-laughs alias bomb')!;
  const root = await writePlaybook(join(dir, 'pb'), { ...bomb.playbook, inventory: inventoryWith('') });
  const result = await aiopMeasured(['build', 'linux', 'debian12', 'amd64'], root, isolatedEnv(dir));
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /alias/i);
  if (result.peakMiB !== undefined) assert.ok(result.peakMiB < 150, `peak memory ${result.peakMiB} MiB`);
  t.diagnostic(`peak resident memory: ${result.peakMiB?.toFixed(1) ?? 'not sampled'} MiB`);
});
