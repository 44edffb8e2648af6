/**
 * The npm package as users get it: `npm pack` of a fresh checkout (which builds dist/ through
 * `prepare`), then `npm install -g --prefix P` of the tarball, then `aiop` and `aap` from P/bin;
 * and `npm install -g git+file://<clone>`, which builds through `prepare` alone (npm runs no
 * `prepack` for a git dependency). Real npm and git; installs prefer the local npm cache
 * (filled by `npm ci`) over the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, readdir, readFile, stat, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { REPO, isolatedEnv, tempDir, type RunResult } from '../util/run.js';
import { which } from '../util/tools.js';

/** The files of a checkout that `npm pack` needs (everything else is left behind, like in a clone). */
const CHECKOUT = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src', 'schema', 'docs'];

/** The environment of a user's shell: none of the npm_* variables that `npm test` sets for its script. */
function userEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_') || key.toLowerCase() === 'npm_config_cache') env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: Record<string, string | undefined>, timeoutMs = 300_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** npm errors that mean "no registry here", not "the package is broken". */
const OFFLINE = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network/;

/**
 * `npm install -g --prefix P --omit=dev SPEC` (from the npm cache when it can), then checks that
 * P holds no dev dependency and that `aiop --version` and `aap -V` from P/bin print the version.
 * Returns the environment with P/bin first on PATH, or undefined when the test was skipped
 * because npm could reach neither its cache nor the registry.
 */
async function installGlobally(
  t: { skip: (message: string) => void },
  npm: string,
  spec: string,
  prefix: string,
  cwd: string,
  env: Record<string, string | undefined>,
  extraArgs: string[] = [],
): Promise<Record<string, string | undefined> | undefined> {
  const installArgs = ['install', '-g', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', ...extraArgs, spec];
  let installed = await run(npm, [...installArgs, '--offline'], cwd, env);
  if (installed.code !== 0 && /ENOTCACHED/.test(installed.stderr)) installed = await run(npm, [...installArgs, '--prefer-offline'], cwd, env);
  if (installed.code !== 0 && OFFLINE.test(installed.stderr) && process.env.CI !== 'true') {
    t.skip(`npm could not install the dependencies offline and the registry is unreachable: ${installed.stderr.trim().split('\n')[0]}`);
    return undefined;
  }
  assert.equal(installed.code, 0, installed.stderr);

  const bin = join(prefix, 'bin');
  const binaries: string[] = await readdir(bin).catch(() => []);
  assert.ok(binaries.includes('aiop') && binaries.includes('aap'), `npm install -g ${spec} put no aiop and aap in ${bin} (found: ${binaries.join(', ') || 'nothing'})\n${installed.stdout}${installed.stderr}`);
  const modules = await readdir(join(prefix, 'lib/node_modules/aiop/node_modules'));
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
  for (const dev of ['typescript', 'fast-check', 'ajv', 'gitlab-ci-local']) {
    assert.ok(dev in pkg.devDependencies && !modules.includes(dev), `${dev} is a dev dependency and must not be installed`);
  }

  const onPath = { ...env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
  const version = await run('aiop', ['--version'], cwd, onPath);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);
  const aapVersion = await run('aap', ['-V'], cwd, onPath);
  assert.equal(aapVersion.code, 0, aapVersion.stderr);
  assert.match(aapVersion.stdout, new RegExp(pkg.version.replace(/\./g, '\\.')));
  return onPath;
}

test('npm pack ships the built CLI, schemas, docs and README; npm install -g of it gives working aiop and aap', async (t) => {
  const npm = which('npm');
  if (npm === undefined) {
    if (process.env.CI === 'true') throw new Error('CI must have npm');
    t.skip('needs npm on PATH');
    return;
  }
  const { dir, cleanup } = await tempDir('aiop-npm-');
  try {
    const checkout = join(dir, 'checkout');
    for (const entry of CHECKOUT) await cp(join(REPO, entry), join(checkout, entry), { recursive: true });
    // The checkout's dev dependencies (typescript) come from this repository's npm ci.
    await symlink(join(REPO, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const env = userEnv({ ...isolatedEnv(dir), CI: undefined });

    const packed = await run(npm, ['pack', '--json', '--pack-destination', dir], checkout, env);
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path).sort();
    assert.ok(files.includes('dist/src/cli/aiop.js'), files.join('\n'));
    assert.ok(files.includes('dist/src/cli/aap.js'));
    assert.ok(files.includes('README.md'));
    assert.ok(files.includes('LICENSE'), 'the MIT license text ships with the package');
    assert.ok(files.includes('schema/inventory_config.schema.json'));
    assert.ok(files.includes('docs/commands.md'));
    const unwanted = files.filter((f) => /\.map$|\.ts$|^dist\/(test|bench)\/|^(src|test|bench|examples)\//.test(f));
    assert.deepEqual(unwanted, [], 'no tests, benchmarks, sources or source maps');

    const prefix = join(dir, 'prefix');
    const onPath = await installGlobally(t, npm, join(dir, info!.filename), prefix, dir, env);
    if (onPath === undefined) return;

    const init = await run('aiop', ['init', 'hello'], dir, onPath);
    assert.equal(init.code, 0, init.stderr);
    const play = join(dir, 'hello');
    const build = await run('aiop', ['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'], play, onPath);
    assert.equal(build.code, 0, build.stderr);
    assert.ok((await stat(join(play, '.build/hello-0.1.0-linux-debian12-amd64.zip'))).size > 0);
    assert.ok((await stat(join(play, '.build/hello_0.1.0_amd64.deb'))).size > 0);
  } finally {
    await cleanup();
  }
});

/**
 * npm releases before 12 (pacote before 22) prepare a git dependency by running `npm install`
 * in its clone with the outer command's environment: under `install -g` that inner install
 * is global too and fights the outer one over P/lib/node_modules (npm/cli#9406, #8440), so
 * no package with a build step installs globally from git. The same git preparation runs
 * for `npm pack git+...`, which README gives as the route for those releases. npm 12 fetches
 * git packages only when asked (`--allow-git`).
 */
const NPM_GLOBAL_GIT_FIXED = 12;

test('npm install -g git+file:// of a clone builds dist/ (through prepare) and gives working aiop and aap', async (t) => {
  const npm = which('npm');
  const git = which('git');
  if (npm === undefined || git === undefined) {
    if (process.env.CI === 'true') throw new Error('CI must have npm and git');
    t.skip('needs npm and git on PATH');
    return;
  }
  const { dir, cleanup } = await tempDir('aiop-npm-git-');
  try {
    const env = userEnv({ ...isolatedEnv(dir), CI: undefined });
    // What a user's `npm install -g git+https://...` gets: the committed tree at HEAD, no dist/.
    const clone = join(dir, 'clone');
    const cloned = await run(git, ['clone', '--quiet', REPO, clone], dir, env);
    assert.equal(cloned.code, 0, cloned.stderr);
    await assert.rejects(stat(join(clone, 'dist')), 'a clone holds no built files');
    const spec = `git+file://${clone}`;
    const npmVersion = (await run(npm, ['--version'], dir, env)).stdout.trim();
    if (Number(npmVersion.split('.')[0]) >= NPM_GLOBAL_GIT_FIXED) {
      await installGlobally(t, npm, spec, join(dir, 'prefix'), dir, env, ['--allow-git=root']);
      return;
    }
    t.diagnostic(`npm ${npmVersion} cannot install a git package with a build step globally (npm/cli#9406): npm pack ${spec}, then npm install -g of the tarball`);
    const packArgs = ['pack', '--json', '--pack-destination', dir, spec];
    let packed = await run(npm, [...packArgs, '--offline'], dir, env);
    if (packed.code !== 0 && /ENOTCACHED/.test(packed.stderr)) packed = await run(npm, [...packArgs, '--prefer-offline'], dir, env);
    if (packed.code !== 0 && OFFLINE.test(packed.stderr) && process.env.CI !== 'true') {
      t.skip(`npm could not install the build tools offline and the registry is unreachable: ${packed.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    assert.ok(info!.files.some((f) => f.path === 'dist/src/cli/aiop.js'), `npm pack ${spec} built no dist/ (npm runs only \`prepare\` for a git package)`);
    await installGlobally(t, npm, join(dir, info!.filename), join(dir, 'prefix'), dir, env);
  } finally {
    await cleanup();
  }
});
