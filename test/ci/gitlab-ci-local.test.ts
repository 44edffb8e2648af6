/**
 * The generated child pipeline really runs: a parent pipeline (the one docs/ci.md shows)
 * generates it in one job and triggers it from another, under gitlab-ci-local 4.65.1 with
 * the shell executor. Each job runs in its own copy of the repository (--shell-isolation),
 * as on GitLab runners, so a job's artifacts hold only what that job made.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { requireTools } from '../util/tools.js';
import { AIOP, REPO, isolatedEnv, runNode, tempDir, type RunResult } from '../util/run.js';
import { docBlock } from './docs.js';

const GITLAB_CI_LOCAL = join(REPO, 'node_modules', 'gitlab-ci-local', 'src', 'index.js');

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
      - { name: distro, choices: [debian12, ubuntu22.04] }
      - { name: arch, choices: [amd64, arm64] }
    deb: { architecture: "\${arch}" }
  windows:
    compatibility:
      - { name: arch, choices: [x64] }
`;

/**
 * Stands in for `aiop build` until it lands: writes the outputs that SPEC section 2 names
 * (worked out here on its own, not with src/ci) and records its arguments and environment.
 * `--fail-on TARGET` before `build` makes it fail for that system target.
 */
const STAND_IN = `
import { mkdirSync, writeFileSync } from 'node:fs';
let argv = process.argv.slice(2);
let failOn;
if (argv[0] === '--fail-on') { failOn = argv[1]; argv = argv.slice(2); }
const [command, systemTarget, ...rest] = argv;
if (command !== 'build') { console.error('stand-in: only build'); process.exit(2); }
if (systemTarget === failOn) { console.error('stand-in: failing on purpose for ' + systemTarget); process.exit(1); }
const values = [];
while (values.length < rest.length && !rest[values.length].startsWith('--')) values.push(rest[values.length]);
const options = rest.slice(values.length);
const id = ['hello', '1.4.0', systemTarget, ...values].join('-');
mkdirSync('.build/' + id + '/bin', { recursive: true });
writeFileSync('.build/' + id + '/bin/hello', '#!/bin/sh\\necho hello\\n');
writeFileSync('.build/' + id + '/invocation.json', JSON.stringify({ argv, ready: process.env.AIOP_STAND_IN_READY ?? null }));
if (options.includes('--zip_pack')) writeFileSync('.build/' + id + '.zip', 'zip of ' + id);
const installer = options.indexOf('--installer');
if (installer >= 0 && options[installer + 1] === 'deb') writeFileSync('.build/hello_1.4.0_' + values[values.length - 1] + '.deb', 'deb of ' + id);
if (options.includes('--zip_pack') || installer >= 0) writeFileSync('.build/SHA256SUMS', 'sums of ' + id);
writeFileSync('.build/' + id + '.manifest.json', JSON.stringify({ id }));
// Something a job makes that is not an output: it must not end up in the artifacts.
writeFileSync('.build/scratch-' + id + '.tmp', 'not an output');
`;

/**
 * Stands in for \`aiop build_all --ci gitlab\` until it lands: the same library calls, from
 * the built dist/ of this repository.
 */
const GENERATE = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const REPO = ${JSON.stringify(REPO)};
const { parse } = createRequire(REPO + '/package.json')('yaml');
const { inventorySchema, packagesSchema } = await import(REPO + '/dist/src/playbook/schema.js');
const { expandPackages } = await import(REPO + '/dist/src/ci/packages.js');
const { writeCiPlan } = await import(REPO + '/dist/src/ci/plan.js');
const inventory = inventorySchema.parse(parse(readFileSync('.aiop/inventory_config.yml', 'utf8')));
const config = packagesSchema.parse(parse(readFileSync('.aiop/packages.yml', 'utf8')));
const specs = expandPackages(config, inventory);
const plan = await writeCiPlan('gitlab', specs, config.ci, {
  root: process.cwd(),
  emit: (e) => { if (e.type === 'log') console.error(e.message); },
});
console.log(plan.relativeFile);
`;

/** The parent pipeline of docs/ci.md, with the plan job's script replaced and no image (shell executor). */
function parentPipeline(planScript: string[]): string {
  const parent = parse(docBlock('.gitlab-ci.yml')) as Record<string, Record<string, unknown>>;
  delete parent['aiop-plan']!.image;
  parent['aiop-plan']!.script = planScript;
  return stringify(parent);
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/**
 * A git repository in `dir` holding `files`, with an `origin` remote whose default branch
 * is known (gitlab-ci-local warns otherwise), everything committed (shell isolation copies
 * only tracked files).
 */
async function repository(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  git(dir, 'init', '-q', '-b', 'main');
  // In the repository's own config: gitlab-ci-local reads them too (and warns without them).
  git(dir, 'config', 'user.name', 'aiop test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  git(dir, 'remote', 'add', 'origin', 'git@gitlab.example.com:aiop/demo.git');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'playbook');
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  git(dir, 'remote', 'set-head', 'origin', 'main');
}

/** Runs the whole pipeline; output without colours. */
async function gitlabCiLocal(dir: string, env: Record<string, string | undefined> = {}): Promise<RunResult & { output: string }> {
  const result = await runNode(GITLAB_CI_LOCAL, ['--shell-isolation', '--ignore-predefined-vars', 'CI_PIPELINE_SOURCE'], {
    cwd: dir,
    // HOME: gitlab-ci-local reads ~/.gitlab-ci-local/variables.yml; keep the user's out.
    env: { HOME: dir, NO_COLOR: '1', FORCE_COLOR: '0', GITLAB_CI: undefined, GITHUB_ACTIONS: undefined, ...env },
    timeoutMs: 90_000,
  });
  // eslint-disable-next-line no-control-regex
  const output = `${result.stdout}\n${result.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
  return { ...result, output };
}

/** gitlab-ci-local keeps a job's artifacts under a name where runs of characters outside [\w-] are base64url-encoded. */
function artifactsOf(dir: string, job: string): string {
  const safe = job.replace(/[^\w-]+/g, (run) => Buffer.from(run).toString('base64url'));
  return join(dir, '.gitlab-ci-local', 'artifacts', safe);
}

function tools(t: TestContext): boolean {
  assert.ok(existsSync(GITLAB_CI_LOCAL), 'gitlab-ci-local is a devDependency: run npm ci');
  return requireTools(t, 'git', 'rsync', 'bash');
}

test('a parent pipeline generates and triggers the child pipeline; every package job runs and keeps exactly its outputs', async (t) => {
  if (!tools(t)) return;
  const { dir, cleanup } = await tempDir('aiop-gcl-');
  try {
    await repository(dir, {
      '.gitignore': '.gitlab-ci-local/\n.build/\n',
      '.aiop/inventory_config.yml': INVENTORY,
      '.aiop/packages.yml': `
packages:
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
    options: { zip_pack: true, installer: deb }
  - system_target: linux
    matrix: { distro: [ubuntu22.04], arch: [amd64, arm64] }
    options: { zip_pack: true, upload: zip, upload_url: "https://repo.example.com/raw/it's here" }
  - system_target: windows
    compat_args: [x64]
ci:
  command: node tools/aiop-stand-in.mjs
  before_script: ["export AIOP_STAND_IN_READY=\\"yes, $CI_JOB_NAME\\""]
  tags: [aiop-test]
`,
      'tools/aiop-stand-in.mjs': STAND_IN,
      'tools/generate.mjs': GENERATE,
      '.gitlab-ci.yml': parentPipeline(['node tools/generate.mjs']),
    });

    const run = await gitlabCiLocal(dir);
    assert.equal(run.code, 0, run.output);
    assert.doesNotMatch(run.output, /FAIL/, run.output);

    const upload = ['--upload', 'zip', '--upload_url', "https://repo.example.com/raw/it's here"];
    const expected: Record<string, { argv: string[]; outputs: string[] }> = {
      'hello-1.4.0-linux-debian12-amd64': {
        argv: ['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'],
        outputs: ['SHA256SUMS', 'hello-1.4.0-linux-debian12-amd64', 'hello-1.4.0-linux-debian12-amd64.manifest.json', 'hello-1.4.0-linux-debian12-amd64.zip', 'hello_1.4.0_amd64.deb'],
      },
      'hello-1.4.0-linux-ubuntu22.04-amd64': {
        argv: ['build', 'linux', 'ubuntu22.04', 'amd64', '--zip_pack', ...upload],
        outputs: ['SHA256SUMS', 'hello-1.4.0-linux-ubuntu22.04-amd64', 'hello-1.4.0-linux-ubuntu22.04-amd64.manifest.json', 'hello-1.4.0-linux-ubuntu22.04-amd64.zip'],
      },
      'hello-1.4.0-linux-ubuntu22.04-arm64': {
        argv: ['build', 'linux', 'ubuntu22.04', 'arm64', '--zip_pack', ...upload],
        outputs: ['SHA256SUMS', 'hello-1.4.0-linux-ubuntu22.04-arm64', 'hello-1.4.0-linux-ubuntu22.04-arm64.manifest.json', 'hello-1.4.0-linux-ubuntu22.04-arm64.zip'],
      },
      'hello-1.4.0-windows-x64': {
        argv: ['build', 'windows', 'x64'],
        outputs: ['hello-1.4.0-windows-x64', 'hello-1.4.0-windows-x64.manifest.json'],
      },
    };
    for (const [id, want] of Object.entries(expected)) {
      assert.match(run.output, new RegExp(`PASS +\\[aiop-packages\\] -> ${id.replace(/\./g, '\\.')} *\\n`), `job ${id} passed`);
      const artifacts = join(artifactsOf(dir, id), '.build');
      assert.deepEqual((await readdir(artifacts)).sort(), want.outputs, `artifacts of ${id}`);
      const invocation = JSON.parse(await readFile(join(artifacts, id, 'invocation.json'), 'utf8')) as { argv: string[]; ready: string };
      assert.deepEqual(invocation.argv, want.argv, `arguments of ${id}, quoting included`);
      assert.equal(invocation.ready, `yes, ${id}`, 'before_script ran in the same shell first');
    }
    // No other job ran in the child pipeline.
    const childJobs = [...run.output.matchAll(/PASS +\[aiop-packages\] -> (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(childJobs.sort(), Object.keys(expected).sort());
    // And the outputs are back in the working copy, as the parent's .build/ after the run.
    for (const want of Object.values(expected)) {
      for (const output of want.outputs) assert.ok(existsSync(join(dir, '.build', output)), output);
    }
  } finally {
    await cleanup();
  }
});

test('a failing package job shows as FAIL while the others keep their outputs (gitlab-ci-local still exits 0)', async (t) => {
  if (!tools(t)) return;
  const { dir, cleanup } = await tempDir('aiop-gcl-fail-');
  try {
    await repository(dir, {
      '.gitignore': '.gitlab-ci-local/\n.build/\n',
      '.aiop/inventory_config.yml': INVENTORY,
      '.aiop/packages.yml': `
packages:
  - { system_target: linux, compat_args: [debian12, arm64] }
  - { system_target: windows, compat_args: [x64] }
ci: { command: node tools/aiop-stand-in.mjs --fail-on windows }
`,
      'tools/aiop-stand-in.mjs': STAND_IN,
      'tools/generate.mjs': GENERATE,
      '.gitlab-ci.yml': parentPipeline(['node tools/generate.mjs']),
    });
    const run = await gitlabCiLocal(dir);
    // The quirk docs/ci.md warns about: `strategy: depend` does not carry the child's failure.
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /FAIL +hello-1\.4\.0-windows-x64 *\n/);
    assert.match(run.output, /failing on purpose for windows/);
    assert.match(run.output, /PASS +\[aiop-packages\] -> hello-1\.4\.0-linux-debian12-arm64 *\n/);
    assert.ok(existsSync(join(artifactsOf(dir, 'hello-1.4.0-linux-debian12-arm64'), '.build', 'hello-1.4.0-linux-debian12-arm64', 'bin', 'hello')));
    assert.ok(!existsSync(artifactsOf(dir, 'hello-1.4.0-windows-x64')), 'a failed job keeps no artifacts');
  } finally {
    await cleanup();
  }
});

// The same pipeline with the real `aiop build_all` and `aiop build`, aiop on PATH and no `ci:` settings.
test('the real aiop on PATH: build_all --ci gitlab generates, and each child job builds a real package with its SHA256SUMS', async (t) => {
  if (!tools(t) || !requireTools(t, 'unzip', 'dpkg-deb', 'sha256sum')) return;
  const { dir, cleanup } = await tempDir('aiop-gcl-real-');
  try {
    const bin = join(dir, 'aiop-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'aiop'), `#!/bin/sh\nexec "${process.execPath}" "${AIOP}" "$@"\n`, { mode: 0o755 });
    await repository(dir, {
      '.gitignore': '.gitlab-ci-local/\n.build/\n',
      '.aiop/inventory_config.yml': `
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
`,
      '.aiop/recipe.yml': `
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
`,
      'files/hello.sh': '#!/bin/sh\necho hello\n',
      '.aiop/packages.yml': `
packages:
  - system_target: linux
    matrix: { distro: [debian12], arch: [amd64, arm64] }
    options: { zip_pack: true, installer: deb }
`,
      '.gitlab-ci.yml': parentPipeline(['aiop build_all --ci gitlab']),
    });
    const run = await gitlabCiLocal(dir, { ...isolatedEnv(dir), PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` });
    assert.equal(run.code, 0, run.output);
    assert.doesNotMatch(run.output, /FAIL/, run.output);
    const child = await readFile(join(artifactsOf(dir, 'aiop-plan'), '.build', 'aiop-pipeline.yml'), 'utf8');
    assert.match(child, /^ {4}- aiop build linux debian12 amd64 --zip_pack --installer deb$/m, 'the jobs run aiop as the plan job found it');
    for (const arch of ['amd64', 'arm64']) {
      const id = `hello-1.4.0-linux-debian12-${arch}`;
      assert.match(run.output, new RegExp(`PASS +\\[aiop-packages\\] -> ${id.replace(/\./g, '\\.')} *\\n`));
      const artifacts = join(artifactsOf(dir, id), '.build');
      assert.ok(existsSync(join(artifacts, id, 'bin', 'hello')));
      execFileSync('unzip', ['-tq', join(artifacts, `${id}.zip`)]);
      const info = execFileSync('dpkg-deb', ['--info', join(artifacts, `hello_1.4.0_${arch}.deb`)], { encoding: 'utf8' });
      assert.match(info, new RegExp(`Architecture: ${arch}`));
      JSON.parse(await readFile(join(artifacts, `${id}.manifest.json`), 'utf8'));
      const sums = execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: artifacts, encoding: 'utf8' });
      assert.equal(sums, `${id}.zip: OK\nhello_1.4.0_${arch}.deb: OK\n`);
    }
  } finally {
    await cleanup();
  }
});
