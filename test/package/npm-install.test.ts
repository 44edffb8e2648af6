/**
 * The npm package as users get it: `npm pack` of a fresh checkout (which builds dist/ through
 * `prepack`), then `npm install -g --prefix P` of the tarball, then `aiop` and `aap` from P/bin.
 * Real npm; the install prefers the local npm cache (filled by `npm ci`) over the network.
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
    const tarball = join(dir, info!.filename);
    const installArgs = ['install', '-g', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball];
    let installed = await run(npm, [...installArgs, '--offline'], dir, env);
    if (installed.code !== 0 && /ENOTCACHED/.test(installed.stderr)) installed = await run(npm, [...installArgs, '--prefer-offline'], dir, env);
    if (installed.code !== 0 && OFFLINE.test(installed.stderr) && process.env.CI !== 'true') {
      t.skip(`npm could not install the dependencies offline and the registry is unreachable: ${installed.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(installed.code, 0, installed.stderr);

    const modules = await readdir(join(prefix, 'lib/node_modules/aiop/node_modules'));
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
    for (const dev of ['typescript', 'fast-check', 'ajv', 'gitlab-ci-local']) {
      assert.ok(dev in pkg.devDependencies && !modules.includes(dev), `${dev} is a dev dependency and must not be installed`);
    }

    const bin = join(prefix, 'bin');
    const onPath = { ...env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    const version = await run('aiop', ['--version'], dir, onPath);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
    const aapVersion = await run('aap', ['-V'], dir, onPath);
    assert.equal(aapVersion.code, 0, aapVersion.stderr);
    assert.match(aapVersion.stdout, new RegExp(pkg.version.replace(/\./g, '\\.')));

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
