/**
 * Generated CI jobs run aiop the way `build_all` found it, and the GitHub snippets of
 * docs/ci.md work as written: the plan step's output line is what GitHub's
 * `$GITHUB_OUTPUT` takes, and the build step's command builds the package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { jobCommand } from '../../src/ci/command.js';
import { AIOP, REPO, isolatedEnv, runNode, tempDir, type RunResult } from '../util/run.js';
import { docBlock } from './docs.js';

const INVENTORY = `
package:
  name: hello
  version: 1.4.0
  maintainer: Hello Team <hello@example.com>
  description: |
    Says hello.
    A small package for pipeline tests.
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12] }
      - { name: arch, choices: [amd64, arm64] }
    deb: { architecture: "\${arch}", install_prefix: /usr }
`;

const RECIPE = `
default: package
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    sources: [files/hello.sh]
    commands:
      - :copy $source $target
      - :chmod 0755 $target
`;

async function playbook(dir: string, packagesYml: string): Promise<void> {
  const files: Record<string, string> = {
    '.aiop/inventory_config.yml': INVENTORY,
    '.aiop/recipe.yml': RECIPE,
    '.aiop/packages.yml': packagesYml,
    'files/hello.sh': '#!/bin/sh\necho hello\n',
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/** This repository installed in `project/node_modules` the way npm links a dependency and its bin. */
async function installInto(project: string): Promise<string> {
  await mkdir(join(project, 'node_modules', '.bin'), { recursive: true });
  await symlink(REPO, join(project, 'node_modules', 'aiop'), 'dir');
  const bin = join(project, 'node_modules', '.bin', 'aiop');
  // npm links the bin to the script and makes it executable; the script in dist/ is not executable here.
  await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/../aiop/dist/src/cli/aiop.js" "$@"\n`);
  await chmod(bin, 0o755);
  return join(project, 'node_modules', 'aiop', 'dist', 'src', 'cli', 'aiop.js');
}

/** A folder holding an executable `aiop` that runs this repository's build. */
async function aiopOnPath(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'aiop'), `#!/bin/sh\nexec "${process.execPath}" "${AIOP}" "$@"\n`);
  await chmod(join(bin, 'aiop'), 0o755);
  return bin;
}

function bash(script: string, cwd: string, env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-e', '-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/** PATH without any folder that holds an `aiop` (npm test puts node_modules/.bin first). */
function pathWithoutAiop(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !existsSync(join(dir, 'aiop')))
    .join(delimiter);
}

test('jobCommand: the project\'s node_modules gives npx --no-install aiop, PATH gives aiop, neither says so', async () => {
  const { dir, cleanup } = await tempDir('aiop-jobcmd-');
  try {
    const project = join(dir, 'project');
    await mkdir(project);
    const script = await installInto(project);
    const noAiop = { PATH: pathWithoutAiop() };
    assert.deepEqual(await jobCommand(script, project, noAiop), { command: 'npx --no-install aiop', origin: 'project' });
    assert.deepEqual(await jobCommand(join(project, 'node_modules', '.bin', 'aiop'), project, noAiop), { command: 'npx --no-install aiop', origin: 'project' });
    // A playbook in a subfolder of the project still uses the project's node_modules.
    await mkdir(join(project, 'packaging'));
    assert.equal((await jobCommand(script, join(project, 'packaging'), noAiop)).origin, 'project');
    // Another project's node_modules is not this one's.
    const other = join(dir, 'other');
    await mkdir(other);
    assert.deepEqual(await jobCommand(script, other, noAiop), { command: 'aiop', origin: 'unknown' });
    const bin = await aiopOnPath(dir);
    assert.deepEqual(await jobCommand(script, other, { PATH: `${bin}${delimiter}${noAiop.PATH}` }), { command: 'aiop', origin: 'path' });
    assert.deepEqual(await jobCommand(AIOP, other, { PATH: `${bin}${delimiter}${noAiop.PATH}` }), { command: 'aiop', origin: 'path' });
    assert.deepEqual(await jobCommand(AIOP, other, noAiop), { command: 'aiop', origin: 'unknown' });
    // A file named aiop that is not executable is not a command.
    await chmod(join(bin, 'aiop'), 0o644);
    assert.equal((await jobCommand(AIOP, other, { PATH: bin })).origin, 'unknown');
  } finally {
    await cleanup();
  }
});

test('build_all --ci gitlab: jobs run aiop from PATH, npx --no-install aiop from node_modules, ci.command over both; a warning when neither', async () => {
  const { dir, cleanup } = await tempDir('aiop-jobcmd-gl-');
  try {
    const project = join(dir, 'project');
    const packagesYml = 'packages:\n  - { system_target: linux, compat_args: [debian12, amd64], options: { zip_pack: true } }\n';
    await playbook(project, packagesYml);
    const env = { ...isolatedEnv(dir), PATH: pathWithoutAiop() };
    const scriptOf = async (): Promise<string[]> => {
      const pipeline = parse(await readFile(join(project, '.build', 'aiop-pipeline.yml'), 'utf8')) as Record<string, { script: string[]; artifacts: { paths: string[] } }>;
      const job = pipeline['hello-1.4.0-linux-debian12-amd64']!;
      assert.deepEqual(job.artifacts.paths, [
        '.build/hello-1.4.0-linux-debian12-amd64/',
        '.build/hello-1.4.0-linux-debian12-amd64.zip',
        '.build/SHA256SUMS',
        '.build/hello-1.4.0-linux-debian12-amd64.manifest.json',
      ]);
      return job.script;
    };

    let run = await runNode(AIOP, ['build_all', '--ci', 'gitlab'], { cwd: project, env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await scriptOf(), ['aiop build linux debian12 amd64 --zip_pack']);
    assert.match(run.stderr, /aiop is neither on PATH nor in this project's node_modules: the jobs run "aiop"; set ci\.command/);

    const bin = await aiopOnPath(dir);
    run = await runNode(AIOP, ['build_all', '--ci', 'gitlab'], { cwd: project, env: { ...env, PATH: `${bin}${delimiter}${env.PATH}` } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await scriptOf(), ['aiop build linux debian12 amd64 --zip_pack']);
    assert.doesNotMatch(run.stderr, /neither on PATH/);

    const local = await installInto(project);
    run = await runNode(local, ['build_all', '--ci', 'gitlab'], { cwd: project, env: { ...env, PATH: `${bin}${delimiter}${env.PATH}` } });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await scriptOf(), ['npx --no-install aiop build linux debian12 amd64 --zip_pack']);

    await writeFile(join(project, '.aiop', 'packages.yml'), `${packagesYml}ci: { command: node tools/aiop.js }\n`);
    run = await runNode(AIOP, ['build_all', '--ci', 'gitlab'], { cwd: project, env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await scriptOf(), ['node tools/aiop.js build linux debian12 amd64 --zip_pack']);
    assert.doesNotMatch(run.stderr, /neither on PATH/, 'ci.command says how: nothing to warn about');
  } finally {
    await cleanup();
  }
});

test('docs/ci.md GitHub workflow as written: the plan step fills $GITHUB_OUTPUT, the build step builds each row', async () => {
  const { dir, cleanup } = await tempDir('aiop-gh-doc-');
  try {
    const project = join(dir, 'project');
    await playbook(project, 'packages:\n  - system_target: linux\n    matrix: { distro: [debian12], arch: [amd64, arm64] }\n    options: { zip_pack: true, installer: deb }\n');
    await installInto(project);
    const workflow = parse(docBlock('.github/workflows/packages.yml')) as {
      jobs: { plan: { steps: Array<{ id?: string; run?: string }> }; build: { steps: Array<{ run?: string }> } };
    };
    const planStep = workflow.jobs.plan.steps.find((s) => s.id === 'plan')!.run!;
    const buildStep = workflow.jobs.build.steps.map((s) => s.run).find((r) => r?.includes('matrix.args'))!;

    const outputFile = join(dir, 'github-output');
    await writeFile(outputFile, '');
    // GitHub runs the project's npm ci first: node_modules/.bin is where npx --no-install finds aiop.
    const env = { ...isolatedEnv(dir), GITHUB_OUTPUT: outputFile, GITHUB_ACTIONS: 'true', CI: 'true', PATH: pathWithoutAiop(), npm_config_offline: 'true' };
    const plan = await bash(planStep, project, env);
    assert.equal(plan.code, 0, plan.stderr);
    const lines = (await readFile(outputFile, 'utf8')).split('\n').filter((l) => l !== '');
    // What GitHub accepts: name=value on one line (or a heredoc, which aiop does not use).
    assert.equal(lines.length, 1, lines.join('\n'));
    const match = /^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$/.exec(lines[0]!);
    assert.ok(match, `not a name=value line: ${lines[0]}`);
    assert.equal(match[1], 'matrix');
    const matrix = JSON.parse(match[2]!) as { include: Array<{ id: string; command: string; args: string; paths: string }> };
    assert.deepEqual(matrix.include.map((row) => row.id), ['hello-1.4.0-linux-debian12-amd64', 'hello-1.4.0-linux-debian12-arm64']);

    for (const row of matrix.include) {
      assert.equal(row.command, 'npx --no-install aiop', 'the plan ran aiop from the project\'s node_modules');
      const script = buildStep.replace('${{ matrix.command }}', row.command).replace('${{ matrix.args }}', row.args);
      const build = await bash(script, project, env);
      assert.equal(build.code, 0, build.stderr);
      for (const path of row.paths.split('\n')) assert.ok(existsSync(join(project, path)), `${row.id}: ${path}`);
    }
    const sums = await readFile(join(project, '.build', 'SHA256SUMS'), 'utf8');
    const names = sums.trim().split('\n').map((l) => l.split('  ')[1]);
    assert.deepEqual(names, [
      'hello-1.4.0-linux-debian12-amd64.zip',
      'hello-1.4.0-linux-debian12-arm64.zip',
      'hello_1.4.0_amd64.deb',
      'hello_1.4.0_arm64.deb',
    ]);
    assert.ok((await readdir(join(project, '.build'))).includes('aiop-matrix.json'));
  } finally {
    await cleanup();
  }
});
