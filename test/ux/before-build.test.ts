/**
 * Checks that need no build come before it: a wrong upload URL, an invalid SOURCE_DATE_EPOCH
 * and contradicting options are usage errors (exit 2), said once, and nothing is written or run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot, writePlaybook } from '../util/playbook.js';

// The recipe's command would leave a file beside the playbook: proof that it ran.
const RECIPE = `default: package
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    commands: ["touch $PLAYBOOK/../recipe-ran; echo hi > $target"]
`;

const BUILD = ['build', 'linux', 'debian12', 'amd64'];

async function refused(args: string[], env: Record<string, string | undefined> = {}, packages?: string): Promise<{ stderr: string; stdout: string }> {
  const { dir, cleanup } = await tempDir();
  try {
    const root = await writePlaybook(join(dir, 'pb'), { recipe: RECIPE, ...(packages ? { packages } : {}) });
    // aiop's own playbook cache (in .aiop/state) may be written: it is not an output.
    const own = (rel: string): boolean => rel.startsWith('pb/.aiop/state');
    const before = await snapshot(dir, own);
    const run = await aiop(args, { cwd: root, env: { ...isolatedEnv(dir), ...env } });
    assert.equal(run.code, 2, run.stderr);
    assert.deepEqual(await snapshot(dir, own), before, 'nothing written, nothing run');
    return run;
  } finally {
    await cleanup();
  }
}

test('--upload_url ftp://x/y is refused before building (exit 2, once, nothing written)', async () => {
  const run = await refused([...BUILD, '--zip_pack', '--upload', 'zip', '--upload_url', 'ftp://x/y']);
  assert.equal(run.stdout, '');
  assert.equal(
    run.stderr,
    'aiop: error: --upload_url must be http or https, not ftp: ftp://x/y\n  give an http:// or https:// URL with a host, e.g. https://repo.example.com/hello\n',
  );
});

test('--upload_url that is not a URL is refused before building', async () => {
  const run = await refused([...BUILD, '--zip_pack', '--upload', 'zip', '--upload_url', 'repo.example.com/up']);
  assert.match(run.stderr, /^aiop: error: --upload_url is not a valid URL: repo\.example\.com\/up\n/);
});

test('upload_url: ftp://x/y in packages.yml: validate and build_all refuse it with its place', async (t) => {
  const packages = `packages:
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
    options: { zip_pack: true, upload: zip, upload_url: "ftp://x/y" }
`;
  const expected = '.aiop/packages.yml:4:57: package 1: upload_url must be http or https, not ftp: ftp://x/y';
  const all = await refused(['build_all'], {}, packages);
  assert.equal(all.stderr.split('\n')[0], `aiop: error: ${expected}`);
  const validate = await refused(['validate'], {}, packages);
  assert.equal(validate.stderr.split('\n')[0], `aiop: error: ${expected}`);
  t.diagnostic(validate.stderr);
});

test('an invalid SOURCE_DATE_EPOCH is refused before the recipe runs (a build that packs)', async () => {
  const run = await refused([...BUILD, '--zip_pack'], { SOURCE_DATE_EPOCH: 'yesterday' });
  assert.equal(
    run.stderr,
    'aiop: error: SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01 UTC, got "yesterday"\n' +
      '  e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or leave it unset\n',
  );
});

test('contradicting options are refused before building', async () => {
  const run = await refused([...BUILD, '--upload', 'zip', '--upload_url', 'https://repo.example.com/up']);
  assert.equal(run.stderr, 'aiop: error: --upload zip: this build makes no zip\n  add --zip_pack\n');
});
