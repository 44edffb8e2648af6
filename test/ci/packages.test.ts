import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expandPackages, packageId, buildArgs, KNOWN_BUILD_OPTIONS, expandVariables, MAX_PACKAGES } from '../../src/ci/packages.js';
import { ConfigError, formatFailure } from '../../src/core/errors.js';
import { inventory, packages } from './fixtures.js';
import { outputPaths, packageOutputs } from '../../src/ci/outputs.js';

const inv = inventory();

/** The ConfigError that expanding `yaml` throws, formatted as people see it. */
function failure(yaml: string): { error: ConfigError; text: string } {
  try {
    expandPackages(packages(yaml), inv);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.reason, 'config');
    return { error, text: formatFailure(error) };
  }
  assert.fail('expected expandPackages to throw');
}

test('list form with compat_args as a mapping and as a list gives ids and arguments in compatibility order', () => {
  const specs = expandPackages(
    packages(`
packages:
  - system_target: linux
    compat_args: { arch: amd64, distro: debian12 }
    options: { installer: deb, zip_pack: true }
  - system_target: linux
    compat_args: [ubuntu22.04, arm64]
  - system_target: windows
    compat_args: [x64]
    options: { retries: 0, upload: zip, upload_url: "https://repo.example/up load", zip_pack: true, verbose: false }
`),
    inv,
  );
  assert.deepEqual(
    specs.map((s) => s.id),
    ['hello-1.4.0-linux-debian12-amd64', 'hello-1.4.0-linux-ubuntu22.04-arm64', 'hello-1.4.0-windows-x64'],
  );
  assert.deepEqual(specs[0]!.compat, [['distro', 'debian12'], ['arch', 'amd64']]);
  assert.deepEqual(buildArgs(specs[0]!), ['linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb']);
  assert.equal(specs[0]!.debFile, 'hello_1.4.0_amd64.deb', 'architecture ${DEB_ARCH} -> ${arch} -> amd64');
  assert.deepEqual(buildArgs(specs[1]!), ['linux', 'ubuntu22.04', 'arm64']);
  assert.equal(specs[1]!.debFile, undefined);
  assert.deepEqual(buildArgs(specs[2]!), [
    'windows', 'x64', '--zip_pack', '--upload', 'zip', '--upload_url', 'https://repo.example/up load', '--retries', '0',
  ]);
  assert.deepEqual(specs.map((s) => s.entry), [0, 1, 2]);
});

test('matrix form: 2 x 2 gives 4 packages, first parameter outermost; compat_args may fix the others', () => {
  const specs = expandPackages(
    packages(`
packages:
  - system_target: linux
    matrix: { arch: [amd64, arm64], distro: [debian12, ubuntu22.04] }
    options: { zip_pack: true }
  - system_target: windows
    matrix: { arch: [arm64] }
  - system_target: any
`),
    inv,
  );
  assert.deepEqual(
    specs.map((s) => s.id),
    [
      'hello-1.4.0-linux-debian12-amd64',
      'hello-1.4.0-linux-debian12-arm64',
      'hello-1.4.0-linux-ubuntu22.04-amd64',
      'hello-1.4.0-linux-ubuntu22.04-arm64',
      'hello-1.4.0-windows-arm64',
      'hello-1.4.0-any',
    ],
  );
  assert.deepEqual(buildArgs(specs[3]!), ['linux', 'ubuntu22.04', 'arm64', '--zip_pack']);
  assert.deepEqual(buildArgs(specs[5]!), ['any']);

  const mixed = expandPackages(
    packages(`
packages:
  - system_target: linux
    compat_args: { distro: ubuntu22.04 }
    matrix: { arch: [arm64, amd64] }
`),
    inv,
  );
  assert.deepEqual(mixed.map((s) => s.id), ['hello-1.4.0-linux-ubuntu22.04-arm64', 'hello-1.4.0-linux-ubuntu22.04-amd64']);
});

test('a matrix expands to the product of its sizes, every id unique and well formed (property)', () => {
  const big = inventory(`
package: { name: pp, version: "2", maintainer: a <a@b.c>, description: d }
system_targets:
  t:
    compatibility:
      - { name: a, choices: [a1, a2, a3, a4] }
      - { name: b, choices: [b1, b2, b3] }
      - { name: c, choices: [c1, c2] }
`);
  const choices = { a: ['a1', 'a2', 'a3', 'a4'], b: ['b1', 'b2', 'b3'], c: ['c1', 'c2'] };
  const subset = (all: string[]) => fc.subarray(all, { minLength: 1 });
  fc.assert(
    fc.property(subset(choices.a), subset(choices.b), subset(choices.c), (a, b, c) => {
      const specs = expandPackages({ packages: [{ system_target: 't', matrix: { c, a, b } }] }, big);
      assert.equal(specs.length, a.length * b.length * c.length);
      assert.equal(new Set(specs.map((s) => s.id)).size, specs.length);
      for (const spec of specs) {
        const values = spec.compat.map(([, v]) => v);
        assert.deepEqual(spec.compat.map(([n]) => n), ['a', 'b', 'c']);
        assert.equal(spec.id, packageId(big, 't', values));
        assert.equal(spec.id, `pp-2-t-${values.join('-')}`);
        assert.deepEqual(buildArgs(spec), ['t', ...values]);
      }
      // First parameter outermost: the a-values appear in runs, in the order given.
      const firstValues = specs.map((s) => s.compat[0]![1]);
      assert.deepEqual([...new Set(firstValues)], a);
    }),
  );
});

test('an unknown system target is refused with did-you-mean and the valid targets', () => {
  const { text, error } = failure(`
packages:
  - system_target: linx
    compat_args: [debian12, amd64]
`);
  assert.equal(error.diagnostics.length, 1);
  assert.match(text, /packages\[0\]\.system_target: package 1: unknown system target "linx"/);
  assert.match(text, /did you mean "linux"\? valid system targets: linux, windows, any/);
});

test('unknown parameters, wrong choices and missing parameters are all reported at once', () => {
  const { text, error } = failure(`
packages:
  - system_target: linux
    compat_args: { distro: debian13, archh: amd64 }
  - system_target: linux
    matrix: { distro: [debian12, ubuntu2204], arch: [amd64] }
  - system_target: linux
    compat_args: [debian12]
  - system_target: windows
    compat_args: { arch: x64 }
    matrix: { arch: [arm64] }
`);
  assert.match(text, /packages\[0\]\.compat_args\.archh: package 1: system target "linux" has no compatibility parameter "archh"/);
  assert.match(text, /did you mean "arch"\? its parameters: distro, arch/);
  assert.match(text, /packages\[0\]\.compat_args\.distro: package 1: "debian13" is not a valid distro/);
  assert.match(text, /did you mean "debian12"\? valid choices: debian12, ubuntu22.04/);
  assert.match(text, /package 1: missing compatibility parameter "arch" of system target "linux"/);
  assert.match(text, /packages\[1\]\.matrix\.distro\[1\]: package 2: "ubuntu2204" is not a valid distro/);
  assert.match(text, /did you mean "ubuntu22.04"\?/);
  assert.match(text, /package 3: system target "linux" takes 2 compatibility value\(s\), got 1\n\s+in this order: distro, arch/);
  assert.match(text, /package 4: "arch" is given both in compat_args and in the matrix/);
  assert.equal(error.diagnostics.length, 6);
});

test('unknown options get did-you-mean, wrong values get the valid choices, contradictions are named', () => {
  const { text, error } = failure(`
packages:
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { zip_pak: true, instaler: deb, retries: -1, stdout_log_level: LOUD, force: "yes" }
  - system_target: linux
    compat_args: [debian12, arm64]
    options: { installer: msi, upload: [zip, tar] }
  - system_target: windows
    compat_args: [x64]
    options: { installer: deb, upload: deb, upload_url: "https://x" }
  - system_target: windows
    compat_args: [arm64]
    options: { compat_args: [x64], installer_name: ../hello.deb, signing_key: key.asc }
`);
  assert.match(text, /package 1: unknown `aiop build` option "zip_pak"\n\s+did you mean "zip_pack"\?/);
  assert.match(text, /package 1: unknown `aiop build` option "instaler"\n\s+did you mean "installer"\?/);
  assert.match(text, /option "retries" takes a whole number of at least 0, not -1/);
  assert.match(text, /option "stdout_log_level" does not accept "LOUD"\n\s+valid choices: DEBUG, INFO, WARNING, ERROR, CRITICAL, DISABLED/);
  assert.match(text, /option "force" takes true or false, not "yes"/);
  assert.match(text, /package 2: option "installer" does not accept "msi"\n\s+valid choices: deb, rpm/);
  assert.match(text, /package 2: option "upload" does not accept "tar"\n\s+valid choices: zip, deb, rpm/);
  assert.match(text, /package 2: option "upload" requires "upload_url"/);
  assert.match(text, /package 3: installer deb needs a `deb:` section in system target "windows"/);
  assert.match(text, /package 4: option "compat_args" is not allowed here\n\s+compatibility values go in the entry's `compat_args` or `matrix`/);
  assert.ok(!/package 3: uploads a .deb/.test(text), 'installer deb is set, so the upload is consistent');
  assert.match(text, /package 2: uploads a zip that it does not make/);
  assert.match(text, /package 4: installer_name "..\/hello.deb" must be a file name, not a path/);
  assert.match(text, /package 4: option "signing_key" is not allowed here\n\s+a CI job signs the \.rpm with the key in its secret environment variable AIOP_SIGNING_KEY/);
  assert.equal(error.diagnostics.length, 13);
});

test('uploads of outputs the package does not make, and packages built twice, are refused', () => {
  const { text, error } = failure(`
packages:
  - system_target: linux
    compat_args: [debian12, amd64]
  - system_target: linux
    compat_args: [debian12, arm64]
    options: { upload: [zip, deb], upload_url: "https://x" }
  - system_target: linux
    matrix: { distro: [ubuntu22.04], arch: [amd64, amd64] }
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
    options: { zip_pack: true }
  - system_target: windows
    matrix: { arch: [x64, arm64] }
    options: { destination_path: out/win/ }
`);
  assert.match(text, /package 2: uploads a zip that it does not make\n\s+add zip_pack: true/);
  assert.match(text, /package 2: uploads a .deb that it does not make\n\s+add installer: deb/);
  assert.match(text, /package 3: matrix value "amd64" of "arch" is listed twice/);
  assert.match(text, /package 4: builds "hello-1.4.0-linux-debian12-amd64", which package 1 already builds/);
  assert.match(text, /"hello-1.4.0-windows-arm64" and "hello-1.4.0-windows-x64" would both be built into destination_path "out\/win"/);
  assert.equal(error.diagnostics.length, 5, text);
});

test('a locate function puts file:line:column on every diagnostic', () => {
  const seen: Array<ReadonlyArray<string | number>> = [];
  try {
    expandPackages(packages('packages: [{ system_target: linux, compat_args: [debian12, amd65] }]'), inv, {
      locate: (path) => {
        seen.push(path);
        return { location: { file: '.aiop/packages.yml', line: 3, column: 7 }, sourceLine: '    compat_args: [debian12, amd65]' };
      },
    });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(seen, [['packages', 0, 'compat_args', 1]]);
    const text = formatFailure(error);
    assert.match(text, /^\.aiop\/packages\.yml:3:7: package 1: "amd65" is not a valid arch\n {2}3 \| {5}compat_args: \[debian12, amd65\]\n {12}\^/);
    assert.match(text, /did you mean "amd64"\?/);
  }
});

test('installer_name and an architecture that only the recipe knows give the .deb name or a glob', () => {
  const specs = expandPackages(
    packages(`
packages:
  - system_target: linux
    compat_args: [debian12, arm64]
    options: { installer: deb, installer_name: hello-arm }
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { installer: deb }
`),
    inventory(`
package: { name: hello, version: 1.4.0, maintainer: a <a@b.c>, description: d }
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12] }
      - { name: arch, choices: [amd64, arm64] }
    deb: { architecture: "\${RECIPE_ONLY}" }
`),
  );
  assert.equal(specs[0]!.debFile, 'hello-arm.deb');
  assert.equal(specs[1]!.debFile, 'hello_1.4.0_*.deb');
});

test('installer rpm (alone or with deb): the .rpm name as the writer gives it, kept with the job\'s outputs', () => {
  const inv = inventory(`
package: { name: hello, version: 1.4.0, maintainer: a <a@b.c>, description: d }
variables: { REL: "3" }
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12] }
      - { name: arch, choices: [amd64, arm64, riscv64] }
    deb: { architecture: "\${arch}" }
    rpm: { license: MIT, architecture: "\${arch}", release: "\${REL}" }
  other:
    compatibility: [{ name: arch, choices: [amd64] }]
    rpm: { license: MIT, architecture: "\${RECIPE_ONLY}" }
`);
  const specs = expandPackages(
    packages(`
packages:
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { installer: [deb, rpm], upload: [deb, rpm], upload_url: "https://x" }
  - system_target: linux
    compat_args: [debian12, arm64]
    options: { installer: rpm }
  - system_target: linux
    compat_args: [debian12, riscv64]
    options: { installer: rpm, installer_name: hello-rv.deb }
  - system_target: other
    compat_args: [amd64]
    options: { installer: rpm }
`),
    inv,
  );
  assert.deepEqual(specs.map((s) => [s.debFile, s.rpmFile]), [
    ['hello_1.4.0_amd64.deb', 'hello-1.4.0-3.x86_64.rpm'],
    [undefined, 'hello-1.4.0-3.aarch64.rpm'],
    [undefined, 'hello-rv.rpm'],
    [undefined, 'hello-1.4.0-1.*.rpm'],
  ]);
  assert.deepEqual(buildArgs(specs[0]!).slice(3), ['--upload', 'deb', 'rpm', '--upload_url', 'https://x', '--installer', 'deb', 'rpm']);
  assert.deepEqual(outputPaths(packageOutputs(specs[0]!)), [
    '.build/hello-1.4.0-linux-debian12-amd64/',
    '.build/hello_1.4.0_amd64.deb',
    '.build/hello-1.4.0-3.x86_64.rpm',
    '.build/SHA256SUMS',
    '.build/hello-1.4.0-linux-debian12-amd64.manifest.json',
  ]);
});

test('variable expansion for the .deb name: all three spellings, $($), unknown and self-referring names', () => {
  const values = new Map([['a', 'x'], ['b', '${a}-$(a)-$a'], ['loop', '$loop'], ['p', '$q'], ['q', '$p']]);
  assert.equal(expandVariables('${b}.$($)', values), 'x-x-x.$');
  assert.equal(expandVariables('$nope', values), undefined);
  assert.equal(expandVariables('$loop', values), undefined);
  assert.equal(expandVariables('$p', values), undefined);
  assert.equal(expandVariables('plain', values), 'plain');
});

test('KNOWN_BUILD_OPTIONS has every long option of the seed and nothing positional', () => {
  for (const name of [
    'destination_path', 'force', 'zip_pack', 'goto_pack', 'upload', 'upload_url', 'installer', 'installer_name',
    'no_verify', 'retries', 'no_caching', 'verbose', 'stdout_log_level', 'file_log_level', 'hide_progress',
  ]) {
    assert.ok(KNOWN_BUILD_OPTIONS.includes(name), name);
  }
  for (const name of ['compat_args', 'args', 'help', 'system_target']) assert.ok(!KNOWN_BUILD_OPTIONS.includes(name), name);
});

test('a matrix that explodes is refused before it is expanded', () => {
  const choices = Array.from({ length: 10 }, (_, i) => `v${i}`);
  const params = Array.from({ length: 12 }, (_, i) => `p${i}`);
  const wide = inventory(`
package: { name: ww, version: "1", maintainer: a <a@b.c>, description: d }
system_targets:
  t:
    compatibility:
${params.map((p) => `      - { name: ${p}, choices: [${choices.join(', ')}] }`).join('\n')}
`);
  const matrix = Object.fromEntries(params.map((p) => [p, choices]));
  assert.throws(
    () => expandPackages({ packages: [{ system_target: 't', matrix }] }, wide),
    (error: unknown) => error instanceof ConfigError && new RegExp(`expands to more than ${MAX_PACKAGES} packages`).test(error.message),
  );
  // Right at the limit is fine.
  const four = Object.fromEntries(params.map((p, i) => [p, i < 4 ? choices : ['v0']]));
  assert.equal(expandPackages({ packages: [{ system_target: 't', matrix: four }] }, wide).length, MAX_PACKAGES);
});

test('options take `_` and `-` alike and become the seed spelling; one option in both spellings is refused', () => {
  const [spec] = expandPackages(
    packages(`
packages:
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { zip-pack: true, upload-url: "https://x", upload: zip, machine_readable: true }
`),
    inv,
  );
  assert.deepEqual(buildArgs(spec!), ['linux', 'debian12', 'amd64', '--zip_pack', '--upload', 'zip', '--upload_url', 'https://x', '--machine-readable']);
  const { text, error } = failure(`
packages:
  - system_target: linux
    compat_args: [debian12, amd64]
    options: { zip_pack: true, zip-pack: false }
`);
  assert.match(text, /package 1: option "zip_pack" is given twice, as "zip_pack" and "zip-pack"\n\s+keep one of them/);
  assert.equal(error.diagnostics.length, 1);
});
