import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, aiop, isolatedEnv, tempDir } from '../util/run.js';
import { snapshot } from '../util/playbook.js';
import { requireTools } from '../util/tools.js';
import { nameFromFolder } from '../../src/commands/init.js';

test('aiop init demo && cd demo && aiop build <its target and values> succeeds, and the .deb passes lintian', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  const init = await aiop(['init', 'demo'], { cwd: dir, env });
  assert.equal(init.code, 0, init.stderr);
  const next = /^\s+cd demo && aiop (build .+)$/m.exec(init.stdout);
  assert.ok(next, `init prints the next command:\n${init.stdout}`);
  const args = next[1]!.split(' ');
  assert.deepEqual(args, ['build', 'linux', 'debian12', 'amd64']);
  const root = join(dir, 'demo');
  for (const f of ['inventory_config.yml', 'recipe.yml', 'packages.yml']) {
    const text = await readFile(join(root, '.aiop', f), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\S+\.schema\.json\n/, f);
  }
  assert.equal(await readFile(join(root, '.aiop/.gitignore'), 'utf8'), '# Written by aiop: local state and logs, safe to delete\nstate/\nlogs/\n');
  assert.equal((await stat(join(root, 'files/demo.sh'))).mode & 0o777, 0o755);

  const build = await aiop([...args, '--zip_pack', '--installer', 'deb'], { cwd: root, env });
  assert.equal(build.code, 0, build.stderr);
  const pkg = join(root, '.build/demo-0.1.0-linux-debian12-amd64');
  assert.match(await readFile(join(pkg, 'share/doc/demo/README'), 'utf8'), /^demo 0\.1\.0 for linux debian12 \(amd64\)/);
  assert.equal((await stat(join(pkg, 'bin/demo'))).mode & 0o777, 0o755);
  await stat(join(root, '.build/demo_0.1.0_amd64.deb'));

  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal(validate.stdout + validate.stderr, '');

  if (requireTools(t, 'lintian')) {
    const { execFileSync } = await import('node:child_process');
    let out = '';
    try {
      out = execFileSync('lintian', ['--fail-on', 'error', join(root, '.build/demo_0.1.0_amd64.deb')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (error) {
      assert.fail(`lintian found errors: ${(error as { stdout?: string }).stdout}`);
    }
    assert.doesNotMatch(out, /^E:/m);
  }
});

test('aiop init --name --target: a playbook for that name and target, with the schemas its comments point at', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  await mkdir(join(dir, 'pkgs/tool'), { recursive: true });
  const init = await aiop(['init', '--name', 'my-tool', '--target', 'ubuntu'], { cwd: join(dir, 'pkgs/tool'), env });
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /^\s+aiop build ubuntu debian12 amd64$/m);
  assert.match(init.stdout, /complete and check the files against \.aiop\/schema\//);
  const inventory = await readFile(join(dir, 'pkgs/tool/.aiop/inventory_config.yml'), 'utf8');
  assert.match(inventory, /^# yaml-language-server: \$schema=schema\/inventory_config\.schema\.json\n/);
  for (const file of ['inventory_config', 'recipe', 'packages']) {
    const copy = await readFile(join(dir, `pkgs/tool/.aiop/schema/${file}.schema.json`), 'utf8');
    assert.equal(copy, await readFile(join(REPO, 'schema', `${file}.schema.json`), 'utf8'), `${file}: the schema aiop ships`);
  }
  assert.match(inventory, /^ {2}name: my-tool$/m);
  assert.match(inventory, /^ {2}ubuntu:$/m);
  const build = await aiop(['build', 'ubuntu', 'ubuntu24.04', 'arm64'], { cwd: join(dir, 'pkgs/tool'), env });
  assert.equal(build.code, 0, build.stderr);
  await stat(join(dir, 'pkgs/tool/.build/my-tool-0.1.0-ubuntu-ubuntu24.04-arm64/bin/my-tool'));
});

test('aiop schema: writes the schemas into .aiop/schema/ and points each playbook file at its own; a second run changes nothing', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  assert.equal((await aiop(['init', 'p'], { cwd: dir, env })).code, 0);
  const root = join(dir, 'p');
  // A playbook of an older aiop: comments into node_modules, one file without any, no schema folder.
  await rm(join(root, '.aiop/schema'), { recursive: true });
  const inventory = await readFile(join(root, '.aiop/inventory_config.yml'), 'utf8');
  await writeFile(join(root, '.aiop/inventory_config.yml'), inventory.replace(/^# yaml-language-server: .*$/m, '# yaml-language-server: $schema=../node_modules/aiop/schema/inventory_config.schema.json'));
  const recipe = (await readFile(join(root, '.aiop/recipe.yml'), 'utf8')).split('\n').slice(1).join('\n');
  await writeFile(join(root, '.aiop/recipe.yml'), recipe);

  const run = await aiop(['schema'], { cwd: root, env });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    [
      'Wrote .aiop/schema/inventory_config.schema.json',
      'Wrote .aiop/schema/recipe.schema.json',
      'Wrote .aiop/schema/packages.schema.json',
      'Pointed .aiop/inventory_config.yml at its schema',
      'Pointed .aiop/recipe.yml at its schema',
      '',
    ].join('\n'),
  );
  assert.equal(
    await readFile(join(root, '.aiop/inventory_config.yml'), 'utf8'),
    inventory.replace(/^# yaml-language-server: .*$/m, '# yaml-language-server: $schema=schema/inventory_config.schema.json'),
  );
  assert.equal(await readFile(join(root, '.aiop/recipe.yml'), 'utf8'), `# yaml-language-server: $schema=schema/recipe.schema.json\n${recipe}`);
  for (const file of ['inventory_config', 'recipe', 'packages']) {
    assert.equal(await readFile(join(root, `.aiop/schema/${file}.schema.json`), 'utf8'), await readFile(join(REPO, 'schema', `${file}.schema.json`), 'utf8'));
  }
  const before = await snapshot(root);
  const again = await aiop(['schema'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'The schemas in .aiop/schema/ and the files pointing at them are up to date\n');
  assert.deepEqual(await snapshot(root), before);
  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 0, validate.stderr);

  const outside = await aiop(['schema'], { cwd: dir, env });
  assert.equal(outside.code, 2, 'no playbook here');
});

test('aiop init refuses to overwrite: exit 2, names the files, writes nothing', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  await mkdir(join(dir, 'p/files'), { recursive: true });
  await writeFile(join(dir, 'p/files/README.in'), 'mine\n');
  const before = await snapshot(dir);
  const init = await aiop(['init', 'p'], { cwd: dir, env });
  assert.equal(init.code, 2);
  assert.match(init.stderr, /already there, nothing written: p\/files\/README\.in/);
  assert.deepEqual(await snapshot(dir), before);

  const again = await aiop(['init'], { cwd: join(dir, 'p'), env });
  assert.equal(again.code, 2);
  assert.deepEqual(await snapshot(dir), before);
});

test('aiop init rejects names that are not Debian package names (exit 2, nothing written)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const bad = await aiop(['init', 'x', '--name', 'My_Tool'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a Debian package name/);
  assert.deepEqual(await snapshot(dir), {});
  const badTarget = await aiop(['init', 'x', '--target', '../up'], { cwd: dir, env: isolatedEnv(dir) });
  assert.equal(badTarget.code, 2);
  assert.deepEqual(await snapshot(dir), {});
});

test('package names from folder names', () => {
  assert.equal(nameFromFolder('My Tool'), 'my-tool');
  assert.equal(nameFromFolder('demo'), 'demo');
  assert.equal(nameFromFolder('__x'), undefined);
  assert.equal(nameFromFolder('Hello_World.2'), 'hello-world.2');
});

test('the commented deb relations, compression and rpm: section that aiop init writes work once uncommented', async (t) => {
  if (!requireTools(t, 'rpm', 'dpkg-deb')) return;
  const { execFileSync } = await import('node:child_process');
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  assert.equal((await aiop(['init', 'demo'], { cwd: dir, env })).code, 0);
  const root = join(dir, 'demo');
  const file = join(root, '.aiop/inventory_config.yml');
  const text = await readFile(file, 'utf8');
  const start = text.indexOf('      # compression: gzip');
  assert.ok(start > 0 && text.includes('    # rpm:'), 'init shows the deb compression, relations and the rpm: section, commented');
  // Uncomment every setting line (not the prose lines); the config file and script examples
  // name files of the user's own package, which this fresh playbook does not have.
  const uncommented = text
    .slice(start)
    .split('\n')
    .filter((l) => !/config_files|scripts:|# Relations|# breaks, conflicts/.test(l))
    .map((l) => l.replace(/^(\s*)# /, '$1'))
    .join('\n');
  await writeFile(file, text.slice(0, start) + uncommented);
  const validate = await aiop(['validate'], { cwd: root, env });
  assert.equal(validate.code, 0, validate.stderr);
  const build = await aiop(['build', 'linux', 'debian12', 'arm64', '--installer', 'deb', 'rpm'], { cwd: root, env });
  assert.equal(build.code, 0, build.stderr);
  const deb = join(root, '.build/demo_0.1.0_arm64.deb');
  assert.equal(execFileSync('dpkg-deb', ['-f', deb, 'Depends', 'Recommends'], { encoding: 'utf8' }), 'Depends: libc6 (>= 2.31)\nRecommends: ca-certificates\n');
  const rpmFile = join(root, '.build/demo-0.1.0-1.aarch64.rpm');
  assert.match(execFileSync('rpm', ['-qp', '--requires', rpmFile], { encoding: 'utf8' }), /^glibc >= 2\.31$/m);
  assert.match(execFileSync('rpm', ['-qip', rpmFile], { encoding: 'utf8' }), /^Group\s+: Applications\/System$/m);
});

test('aiop init writes a commented ci: section in packages.yml that validates once uncommented', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const env = isolatedEnv(dir);
  const init = await aiop(['init', 'p'], { cwd: dir, env });
  assert.equal(init.code, 0, init.stderr);
  const file = join(dir, 'p/.aiop/packages.yml');
  const text = await readFile(file, 'utf8');
  assert.doesNotMatch(text, /^ci:/m, 'left out, the jobs run aiop the way build_all found it');
  assert.match(text, /^# ci:$/m);
  for (const key of ['command', 'image', 'before_script', 'tags']) assert.match(text, new RegExp(`^# {3}${key}: `, 'm'));
  await writeFile(file, text.replace(/^# (ci:|  \w+: .*)$/gm, '$1'));
  const validate = await aiop(['validate'], { cwd: join(dir, 'p'), env });
  assert.equal(validate.code, 0, validate.stderr);
  const plan = await aiop(['build_all', '--ci', 'gitlab'], { cwd: join(dir, 'p'), env });
  assert.equal(plan.code, 0, plan.stderr);
  const pipeline = await readFile(join(dir, 'p/.build/aiop-pipeline.yml'), 'utf8');
  assert.match(pipeline, /^ {4}- npx --no-install aiop build linux debian12 amd64 --zip_pack --installer deb$/m);
  assert.match(pipeline, /^ {2}image: node:22-bookworm$/m);
});
