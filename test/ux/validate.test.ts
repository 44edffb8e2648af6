import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, snapshot, writePlaybook } from '../util/playbook.js';
import { unescapeField } from '../../src/report/machine-readable.js';

const ARTIFACT_INVENTORY = `${SIMPLE_INVENTORY}    artifacts:
      - name: tool
        url: https://example.com/tool-\${archh}.tar.gz
        sha256: 5f3c0b6ea2c2f1b0e9a2b4d0c2c7e2f5a7c6b3d2e1f0a9b8c7d6e5f4a3b2c1d0
        extract: true
`;

const RECIPE = `default: package
targets:
  package:
    virtual: true
    depends: [bin/hello]
  bin/hello:
    sources: [files/hello.sh]
    commands: [":copy $source $target"]
`;

const PACKAGES = `packages:
  - system_target: linux
    compat_args: { distro: debian12, arch: amd64 }
`;

/** `file:line:column: message` of each `aiop: error:` line. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('aiop: error: ')).map((l) => l.slice('aiop: error: '.length));
}

test('validate reports three independent mistakes in three files, each with file:line:column, and exits 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writePlaybook(dir, {
    inventory: ARTIFACT_INVENTORY,
    recipe: RECIPE.replace('depends: [bin/hello]', 'depends: [bin/hello, bin/helo]'),
    packages: PACKAGES.replace('distro: debian12', 'distro: debian13'),
    files: { 'files/hello.sh': 'echo hi\n' },
  });
  const before = await snapshot(dir);
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const errors = errorLines(r.stderr);
  assert.equal(errors.length, 3, r.stderr);
  assert.match(errors[0]!, /^\.aiop\/inventory_config\.yml:17:14: artifact "tool" of "linux": variable "archh" is not set/);
  assert.match(errors[1]!, /^\.aiop\/recipe\.yml:5:26: target "package" depends on "bin\/helo", which is not a target$/);
  assert.match(errors[2]!, /^\.aiop\/packages\.yml:3:28: package 1: "debian13" is not a valid distro$/);
  assert.match(r.stderr, /did you mean "bin\/hello"\?/);
  assert.match(r.stderr, /valid choices: debian12, ubuntu22\.04/);
  assert.match(r.stderr, /^aiop: 3 problems found$/m);
  // validate writes nothing, not even the playbook cache.
  assert.deepEqual(await snapshot(dir), before);
});

test('validate reports schema and syntax mistakes of three files at once', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writePlaybook(dir, {
    inventory: SIMPLE_INVENTORY.replace('choices: [amd64, arm64]', 'choises: [amd64, arm64]'),
    recipe: RECIPE.replace('commands: [', 'command: ['),
    packages: 'packages: [\n',
    files: { 'files/hello.sh': 'echo hi\n' },
  });
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2);
  const errors = errorLines(r.stderr);
  assert.equal(errors.length, 3, r.stderr);
  assert.match(errors[0]!, /^\.aiop\/inventory_config\.yml:12:23: unknown key "choises"/);
  assert.match(errors[1]!, /^\.aiop\/recipe\.yml:8:5: unknown key "command"/);
  assert.match(errors[2]!, /^\.aiop\/packages\.yml:\d+:\d+: YAML syntax error/);
});

test('validate follows includes and children, and checks `when`, ${...} references and deb fields', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const inventory = SIMPLE_INVENTORY.replace('architecture: ${arch}', 'architecture: ${arch}\n      section: Bad Section\n      scripts: { postinst: files/missing.sh }') +
    `    artifacts:
      - name: tool
        url: ftp://example.com/tool.tar.gz
        sha256: 5f3c0b6ea2c2f1b0e9a2b4d0c2c7e2f5a7c6b3d2e1f0a9b8c7d6e5f4a3b2c1d0
        when: { arc: amd64 }
`;
  await writePlaybook(dir, {
    inventory,
    recipe: `include: [common.yml]\nchildren: [sub]\n${RECIPE}`,
    files: {
      '.aiop/common.yml': 'targets:\n  extra:\n    virtual: true\n    sourcess: []\n',
      'sub/recipe.yml': 'targets:\n  out.txt:\n    commands: [":print $undefined_thing > $target"]\n    depends: 3\n',
      'files/hello.sh': 'echo hi\n',
    },
  });
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2);
  const errors = errorLines(r.stderr);
  const has = (re: RegExp): void => assert.ok(errors.some((e) => re.test(e)), `${re} not in:\n${errors.join('\n')}`);
  has(/^\.aiop\/inventory_config\.yml:15:16: deb settings of "linux": section "Bad Section" is not a Debian section name$/);
  has(/^\.aiop\/inventory_config\.yml:16:28: deb settings of "linux": maintainer script postinst "files\/missing\.sh" not found$/);
  has(/^\.aiop\/inventory_config\.yml:\d+:\d+: artifact "tool": "when" names "arc", which is not a compatibility parameter/);
  has(/^\.aiop\/common\.yml:4:5: unknown key "sourcess"/);
  assert.deepEqual(errors.map((e) => e.split(':')[0]), ['.aiop/inventory_config.yml', '.aiop/inventory_config.yml', '.aiop/inventory_config.yml', '.aiop/common.yml', 'sub/recipe.yml']);
  has(/^sub\/recipe\.yml:4:14: at targets\.out\.txt\.depends: expected a list/);
});

test('validate on a good playbook exits 0 silently; -v prints a summary; --machine-readable says error-count,0', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await copyExample('hello', dir);
  const env = isolatedEnv(dir);
  const quiet = await aiop(['validate'], { cwd: root, env });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stdout, '');
  assert.equal(quiet.stderr, '');
  const verbose = await aiop(['validate', '-v'], { cwd: root, env });
  assert.equal(verbose.code, 0);
  assert.match(verbose.stdout, /^Checked \.aiop\/inventory_config\.yml, \.aiop\/recipe\.yml, \.aiop\/packages\.yml:$/m);
  assert.match(verbose.stdout, /2 system target\(s\), 8 combination\(s\)/);
  assert.match(verbose.stdout, /4 package\(s\) in packages\.yml/);
  assert.match(verbose.stdout, /^No problems found\.$/m);
  const machine = await aiop(['validate', '--machine-readable'], { cwd: root, env });
  assert.equal(machine.code, 0);
  assert.match(machine.stdout, /^\d+,,error-count,0\n$/);
});

test('validate --machine-readable: error-count, then one error line per problem', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writePlaybook(dir, {
    inventory: ARTIFACT_INVENTORY,
    recipe: RECIPE.replace('depends: [bin/hello]', 'depends: [bin/hello, bin/helo]'),
    packages: PACKAGES.replace('distro: debian12', 'distro: debian13'),
    files: { 'files/hello.sh': 'echo hi\n' },
  });
  const r = await aiop(['validate', '--machine-readable'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2);
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(','));
  assert.deepEqual(lines[0]!.slice(1), ['', 'error-count', '3']);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines.slice(1).map((l) => [l[1], l[2]]), [
    ['.aiop/inventory_config.yml', 'error'],
    ['.aiop/recipe.yml', 'error'],
    ['.aiop/packages.yml', 'error'],
  ]);
  assert.match(unescapeField(lines[2]![3]!), /^\.aiop\/recipe\.yml:5:26: target "package" depends on "bin\/helo", which is not a target/);
});

test('validate outside a playbook is an error naming the problem (exit 2)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(join(dir)) });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a playbook root/);
});

test('validate checks the rpm and deb relation fields, each at the line and column of the item at fault', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const inventory = SIMPLE_INVENTORY.replace('architecture: ${arch}', 'architecture: ${arch}\n      conflicts: [ok-pkg, a | b]\n      breaks:\n        - fine (<< 1)\n        - "bad (>>> 1)"\n      conffiles: [etc/demo.conf, ../etc/passwd]') +
    `    rpm:
      license: MIT
      release: 1-beta
      architecture: \${arch}
      requires:
        - /bin/sh
        - glibc >>= 2
      obsoletes: [demo-old < 1.0, "demo-older <<= 2"]
      config_files: [../etc/shadow]
      scripts: { post: files/missing-post.sh }
`;
  await writePlaybook(dir, { inventory, recipe: RECIPE, files: { 'files/hello.sh': 'echo hi\n' } });
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2, r.stderr);
  const errors = errorLines(r.stderr);
  const lines = inventory.split('\n');
  /** `line:column` of `item` on the line that contains `context`. */
  const at = (context: string, item: string): string => {
    const line = lines.findIndex((l) => l.includes(context));
    assert.ok(line >= 0, context);
    return `${line + 1}:${lines[line]!.indexOf(item, lines[line]!.indexOf(context)) + 1}`;
  };
  const has = (where: string, text: string): void => {
    const expected = `.aiop/inventory_config.yml:${where}: ${text}`;
    assert.ok(errors.some((e) => e.startsWith(expected)), `${expected} not in:\n${errors.join('\n')}`);
  };
  has(at('conflicts: [ok-pkg, a | b]', 'a | b'), 'deb settings of "linux": conflicts relation "a | b" has alternatives');
  has(at('- "bad (>>> 1)"', '"bad'), 'deb settings of "linux": breaks relation "bad (>>> 1)" is not a Debian relation');
  has(at('conffiles: [etc/demo.conf, ../etc/passwd]', '../etc/passwd'), 'deb settings of "linux": conffile "../etc/passwd" must be a package-relative path');
  has(at('release: 1-beta', '1-beta'), 'rpm settings of "linux": release "1-beta" is not a valid rpm release');
  has(at('- glibc >>= 2', 'glibc'), 'rpm settings of "linux": requires relation "glibc >>= 2" is not an rpm relation');
  has(at('obsoletes: [demo-old', '"demo-older'), 'rpm settings of "linux": obsoletes relation "demo-older <<= 2" is not an rpm relation');
  has(at('config_files: [../etc/shadow]', '../etc/shadow'), 'rpm settings of "linux": config file "../etc/shadow" must be a package-relative path');
  has(at('scripts: { post: files/missing-post.sh }', 'files/missing-post.sh'), 'rpm settings of "linux": script post "files/missing-post.sh" not found');
});

test('a mistake in inventory_config.yml does not hide an independent wrong value in packages.yml (compat_args: [rpi5])', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writePlaybook(dir, {
    inventory: SIMPLE_INVENTORY.replace('  version: 1.0.0\n', '  version: 1.0.0\n  colour: red\n'),
    recipe: RECIPE,
    packages: PACKAGES.replace('compat_args: { distro: debian12, arch: amd64 }', 'compat_args: [rpi5]'),
    files: { 'files/hello.sh': 'echo hi\n' },
  });
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(errorLines(r.stderr), [
    '.aiop/inventory_config.yml:4:3: unknown key "colour" at package',
    '.aiop/packages.yml:3:18: package 1: system target "linux" takes 2 compatibility value(s), got 1',
  ]);
  assert.match(r.stderr, /^aiop: 2 problems found$/m);
});

test('a broken system target hides only what depends on it: the other target, its packages and the recipe are still checked', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const broken = `  other:\n    compatibility:\n      - { name: arch, choice: [amd64] }\n`;
  await writePlaybook(dir, {
    inventory: SIMPLE_INVENTORY + broken,
    recipe: RECIPE.replace('depends: [bin/hello]', 'depends: [bin/hello, bin/helo]'),
    packages: `${PACKAGES.replace('distro: debian12', 'distro: debian13')}  - system_target: other\n    compat_args: [amd64]\n`,
    files: { 'files/hello.sh': 'echo hi\n' },
  });
  const r = await aiop(['validate'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(errorLines(r.stderr), [
    '.aiop/inventory_config.yml:17:23: unknown key "choice" at system_targets.other.compatibility[0]',
    '.aiop/recipe.yml:5:26: target "package" depends on "bin/helo", which is not a target',
    '.aiop/packages.yml:3:28: package 1: "debian13" is not a valid distro',
  ]);
});
