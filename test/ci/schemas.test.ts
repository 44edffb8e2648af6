import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { parse } from 'yaml';
import { expandPackages, buildArgs, type PackageSpec } from '../../src/ci/packages.js';
import type { PackagesConfig } from '../../src/playbook/schema.js';
import { gitlabChildPipeline, GITLAB_EMPTY_JOB } from '../../src/ci/gitlab.js';
import { githubMatrix, githubOutputLine } from '../../src/ci/github.js';
import { CI_FILES } from '../../src/ci/plan.js';
import { inventory, packages } from './fixtures.js';
import { SCHEMA_DIR, SHARED_SCHEMA_DIR, schemaValidator } from './schema-validate.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docBlock, docBlockContaining } from './docs.js';

const gitlab = schemaValidator('gitlab-ci.json');
const github = schemaValidator('github-workflow.json');
const inv = inventory();

const VARIED = packages(`
packages:
  - system_target: linux
    matrix: { distro: [debian12, ubuntu22.04], arch: [amd64, arm64] }
    options: { zip_pack: true, installer: deb, stdout_log_level: WARNING }
  - system_target: windows
    compat_args: [x64]
    options: { zip_pack: true, upload: zip, upload_url: "https://repo.example.com/raw/it's here", retries: 5 }
  - system_target: any
    options: { destination_path: out/any-package }
ci:
  command: node tools/aiop.js
  image: node:20-bookworm
  before_script: [npm ci, echo "ready"]
  tags: [docker, linux]
`);

function jobsOf(pipeline: Record<string, unknown>): Array<[string, Record<string, unknown>]> {
  return Object.entries(pipeline).filter(([name]) => name !== 'stages') as Array<[string, Record<string, unknown>]>;
}

test('the generated child pipeline validates against gitlab-ci.json and runs each package\'s own command', () => {
  const specs = expandPackages(VARIED, inv);
  const text = gitlabChildPipeline(specs, VARIED.ci);
  const pipeline = parse(text) as Record<string, unknown>;
  assert.deepEqual(gitlab(pipeline), []);
  const jobs = jobsOf(pipeline);
  assert.deepEqual(jobs.map(([name]) => name), specs.map((s) => s.id));
  const windows = pipeline['hello-1.4.0-windows-x64'] as Record<string, unknown>;
  assert.deepEqual(windows, {
    stage: 'build',
    needs: [],
    image: 'node:20-bookworm',
    tags: ['docker', 'linux'],
    before_script: ['npm ci', 'echo "ready"'],
    script: [`node tools/aiop.js build windows x64 --zip_pack --upload zip --upload_url 'https://repo.example.com/raw/it'\\''s here' --retries 5`],
    artifacts: {
      name: 'hello-1.4.0-windows-x64',
      paths: ['.build/hello-1.4.0-windows-x64/', '.build/hello-1.4.0-windows-x64.zip', '.build/SHA256SUMS', '.build/hello-1.4.0-windows-x64.manifest.json'],
    },
  });
  const debian = pipeline['hello-1.4.0-linux-debian12-arm64'] as { script: string[]; artifacts: { paths: string[] } };
  // Its matrix builds the same arch for another distro: the .deb is named apart (Debian's ~<distro>).
  assert.deepEqual(debian.script, ["node tools/aiop.js build linux debian12 arm64 --zip_pack --installer deb --installer_name 'hello_1.4.0~debian12_arm64' --stdout_log_level WARNING"]);
  assert.ok(debian.artifacts.paths.includes('.build/hello_1.4.0~debian12_arm64.deb'), debian.artifacts.paths.join(' '));
  const any = pipeline['hello-1.4.0-any'] as { script: string[]; artifacts: { paths: string[] } };
  assert.deepEqual(any.script, ['node tools/aiop.js build any --destination_path out/any-package']);
  assert.deepEqual(any.artifacts.paths, ['out/any-package/', 'out/hello-1.4.0-any.manifest.json']);
});

test('without ci settings the jobs run aiop the way the generator found it, on any runner; an empty list still gives a valid pipeline', () => {
  const specs = expandPackages(packages('packages: [{ system_target: windows, compat_args: [arm64] }]'), inv);
  const pipeline = parse(gitlabChildPipeline(specs, undefined)) as Record<string, unknown>;
  assert.deepEqual(gitlab(pipeline), []);
  assert.deepEqual(pipeline['hello-1.4.0-windows-arm64'], {
    stage: 'build',
    needs: [],
    script: ['aiop build windows arm64'],
    artifacts: { name: 'hello-1.4.0-windows-arm64', paths: ['.build/hello-1.4.0-windows-arm64/', '.build/hello-1.4.0-windows-arm64.manifest.json'] },
  });
  const local = parse(gitlabChildPipeline(specs, {}, { command: 'npx --no-install aiop' })) as Record<string, { script: string[] }>;
  assert.deepEqual(local['hello-1.4.0-windows-arm64']!.script, ['npx --no-install aiop build windows arm64']);
  const overridden = parse(gitlabChildPipeline(specs, { command: 'node tools/aiop.js' }, { command: 'npx --no-install aiop' })) as Record<string, { script: string[] }>;
  assert.deepEqual(overridden['hello-1.4.0-windows-arm64']!.script, ['node tools/aiop.js build windows arm64'], 'ci.command wins');

  const empty = parse(gitlabChildPipeline([], { command: 'npx aiop', tags: ['docker'] })) as Record<string, unknown>;
  assert.deepEqual(gitlab(empty), []);
  assert.deepEqual(jobsOf(empty).map(([name]) => name), [GITLAB_EMPTY_JOB]);
});

test('the validator is not vacuous: a broken pipeline is refused', () => {
  const specs = expandPackages(packages('packages: [{ system_target: windows, compat_args: [arm64] }]'), inv);
  const pipeline = parse(gitlabChildPipeline(specs, undefined)) as Record<string, Record<string, unknown>>;
  pipeline['hello-1.4.0-windows-arm64']!.artifacts = { paths: '.build/' };
  pipeline['hello-1.4.0-windows-arm64']!.when = 'sometimes';
  assert.notDeepEqual(gitlab(pipeline), []);
});

test('outputs outside the project folder are refused: GitLab could not keep them', () => {
  for (const destination of ['/tmp/pkg', '../elsewhere/pkg']) {
    const specs = expandPackages(
      packages(`packages: [{ system_target: any, options: { destination_path: "${destination}" } }]`),
      inv,
    );
    assert.throws(() => gitlabChildPipeline(specs, undefined), (error: Error & { reason?: string }) => {
      assert.equal(error.reason, 'config');
      assert.match(error.message, /outside the project folder/);
      return true;
    });
  }
});

test('docs/ci.md: the parent .gitlab-ci.yml validates and triggers the file that build_all writes', () => {
  const parent = parse(docBlock('.gitlab-ci.yml')) as Record<string, Record<string, unknown>>;
  assert.deepEqual(gitlab(parent), []);
  const trigger = parent['aiop-packages']!.trigger as { include: Array<{ artifact: string; job: string }>; strategy: string };
  assert.deepEqual(trigger.include, [{ artifact: `.build/${CI_FILES.gitlab}`, job: 'aiop-plan' }]);
  assert.equal(trigger.strategy, 'depend');
  assert.deepEqual(parent['aiop-plan']!.artifacts, { paths: [`.build/${CI_FILES.gitlab}`] });
  // gitlab-ci-local reads the artifact under the job name as written: keep it "safe".
  assert.match(trigger.include[0]!.job, /^[\w-]+$/);
});

test('docs/ci.md: the example child pipeline is exactly what the generator writes for the example packages.yml', () => {
  const config = packages(docBlock('.aiop/packages.yml'));
  const specs = expandPackages(config, inv);
  const expected = docBlock('.build/aiop-pipeline.yml');
  assert.equal(gitlabChildPipeline(specs, config.ci), expected);
  assert.deepEqual(gitlab(parse(expected)), []);
});

test('docs/ci.md: the GitHub workflow validates, with the matrix from fromJSON and with a literal matrix', () => {
  const workflow = parse(docBlock('.github/workflows/packages.yml')) as {
    jobs: { plan: { outputs: Record<string, string> }; build: { strategy: { matrix: unknown }; needs: string } };
  };
  assert.deepEqual(github(workflow), []);
  assert.equal(workflow.jobs.build.strategy.matrix, '${{ fromJSON(needs.plan.outputs.matrix) }}');
  assert.equal(workflow.jobs.build.needs, 'plan');
  assert.ok('matrix' in workflow.jobs.plan.outputs);

  // The value fromJSON yields must be a valid matrix too: put it in literally.
  const specs = expandPackages(VARIED, inv);
  workflow.jobs.build.strategy.matrix = githubMatrix(specs);
  assert.deepEqual(github(workflow), []);
  // ... and the validator does look at it: an empty include list is refused.
  workflow.jobs.build.strategy.matrix = { include: [] };
  assert.notDeepEqual(github(workflow), []);
});

test('the GitHub matrix: one row per package with its arguments and outputs; one line for $GITHUB_OUTPUT', () => {
  const specs = expandPackages(VARIED, inv);
  const matrix = githubMatrix(specs);
  assert.equal(matrix.include.length, 6);
  assert.deepEqual(matrix.include[4], {
    id: 'hello-1.4.0-windows-x64',
    system_target: 'windows',
    command: 'aiop',
    args: `windows x64 --zip_pack --upload zip --upload_url 'https://repo.example.com/raw/it'\\''s here' --retries 5`,
    paths: '.build/hello-1.4.0-windows-x64/\n.build/hello-1.4.0-windows-x64.zip\n.build/SHA256SUMS\n.build/hello-1.4.0-windows-x64.manifest.json',
  });
  assert.equal(githubMatrix(specs, { command: 'npx --no-install aiop' }).include[4]!.command, 'npx --no-install aiop');
  const line = githubOutputLine(matrix);
  assert.match(line, /^matrix=\{.*\}\n$/);
  assert.equal(line.split('\n').length, 2, 'a single line, then its newline');
  assert.deepEqual(JSON.parse(line.slice('matrix='.length)), matrix);

  // The docs show the line for the first package of the example, run from the project's node_modules.
  const first = expandPackages(packages(docBlock('.aiop/packages.yml')), inv).slice(0, 1);
  assert.equal(docBlockContaining('', 'matrix={"include"'), githubOutputLine(githubMatrix(first, { command: 'npx --no-install aiop' })));
});

test('more packages than a GitHub matrix holds is an error', () => {
  const spec: PackageSpec = { systemTarget: 'any', compat: [], options: {}, id: 'x', entry: 0 };
  assert.equal(githubMatrix(Array.from({ length: 256 }, () => spec)).include.length, 256);
  assert.throws(() => githubMatrix(Array.from({ length: 257 }, () => spec)), /at most 256 jobs/);
});

test('any valid packages.yml gives a valid pipeline whose jobs hand `aiop build` exactly the package arguments (property)', () => {
  const text = fc.string({ minLength: 1, maxLength: 10 }).filter((v) => !v.includes('\0'));
  const entry = fc.record({
    distro: fc.subarray(['debian12', 'ubuntu22.04'], { minLength: 1 }),
    arch: fc.subarray(['amd64', 'arm64'], { minLength: 1 }),
    options: fc.record(
      {
        zip_pack: fc.boolean(),
        installer: fc.constant('deb'),
        retries: fc.nat(9),
        installer_name: text.filter((v) => !v.includes('/') && v !== '.' && v !== '..' && !v.startsWith('-')),
        stdout_log_level: fc.constantFrom('DEBUG', 'DISABLED'),
        hide_progress: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  });
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 3 }), fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }), (entries, tags) => {
      // Each entry builds its own distro, so that no two entries build the same package.
      const used = new Set<string>();
      const config: PackagesConfig = {
        packages: entries.flatMap((e) => {
          const distro = e.distro.filter((d) => !used.has(d));
          distro.forEach((d) => used.add(d));
          return distro.length === 0 ? [] : [{ system_target: 'linux', matrix: { distro, arch: e.arch }, options: e.options }];
        }),
        ci: { command: 'npx aiop', ...(tags === undefined ? {} : { tags }) },
      };
      let specs: PackageSpec[];
      try {
        specs = expandPackages(config, inv);
      } catch (error) {
        // One installer_name for several packages of a matrix: refused, rightly (they would write one file).
        if (/would both write/.test(String(error))) return;
        throw error;
      }
      const pipeline = parse(gitlabChildPipeline(specs, config.ci)) as Record<string, { script: string[] }>;
      assert.deepEqual(gitlab(pipeline), []);
      for (const spec of specs) {
        const [line] = pipeline[spec.id]!.script;
        assert.ok(line!.startsWith('npx aiop build '));
        const words = execFileSync('sh', ['-c', `printf '%s\\0' ${line!.slice('npx aiop build '.length)}`], { encoding: 'utf8' });
        assert.deepEqual(words.split('\0').slice(0, -1), buildArgs(spec));
      }
    }),
    { numRuns: 25 },
  );
});

test('the committed schema copies are the shared ones (where the shared folder is beside the clone)', (t) => {
  if (!existsSync(SHARED_SCHEMA_DIR)) {
    t.skip(`no ${SHARED_SCHEMA_DIR} here: nothing to compare the copies with`);
    return;
  }
  for (const file of ['gitlab-ci.json', 'github-workflow.json']) {
    assert.equal(readFileSync(join(SCHEMA_DIR, file), 'utf8'), readFileSync(join(SHARED_SCHEMA_DIR, file), 'utf8'), `${file} drifted`);
  }
});
