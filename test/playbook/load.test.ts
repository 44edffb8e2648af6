import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile, writeFile, rm, mkdir, cp, utimes } from 'node:fs/promises';
import { tempDir, runNode, REPO } from '../util/run.js';
import { loadPlaybook, loadPackages, loadRecipeFile, ensureAiopGitignore, loadStats, PLAYBOOK_CACHE, AIOP_GITIGNORE } from '../../src/playbook/load.js';
import { INVENTORY, RECIPE, configError, writeFiles } from './helpers.js';

async function withPlaybook(files: Record<string, string>, body: (root: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir('aiop-load-');
  try {
    await writeFiles(dir, files);
    await body(dir);
  } finally {
    await cleanup();
  }
}

/** The cache does not trust files changed within a second of its writing (the racy case); wait that out. */
const pastRacyWindow = (): Promise<void> => new Promise((r) => setTimeout(r, 1100));

test('loads inventory and recipe, normalizing targets', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': RECIPE }, async (root) => {
    const pb = await loadPlaybook(root);
    assert.equal(pb.root, root);
    assert.equal(pb.inventory.package.name, 'hello');
    assert.equal(pb.recipe.default, 'package');
    assert.deepEqual(pb.recipe.variables, { GREETING: 'Hello' });
    assert.deepEqual(pb.recipe.targets['bin/hello'], {
      name: 'bin/hello',
      virtual: false,
      sources: ['files/hello.sh'],
      depends: [],
      commands: [':copy $source $target'],
      file: '.aiop/recipe.yml',
    });
    assert.deepEqual(pb.recipe.targets.package!.depends, ['bin/hello']);
    assert.deepEqual(pb.recipe.files, [join(root, '.aiop/recipe.yml')]);
  });
});

test('recipeFile null means no recipe; a missing default recipe is an empty one', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': 'targets: [broken' }, async (root) => {
    const pb = await loadPlaybook(root, { recipeFile: null });
    assert.deepEqual(pb.recipe, { variables: {}, targets: {}, children: [], files: [] });
    await rm(join(root, '.aiop/recipe.yml'));
    assert.deepEqual((await loadPlaybook(root)).recipe.targets, {});
    const { error } = await configError(loadPlaybook(root, { recipeFile: 'other.yml' }));
    assert.match(error.diagnostics[0]!.message, /other\.yml: file not found/);
  });
});

test('includes are found beside the including file, then on the -I path; own settings override', async () => {
  await withPlaybook(
    {
      '.aiop/inventory_config.yml': INVENTORY,
      '.aiop/recipe.yml': 'include: [common.yml, shared.yml]\nvariables: { A: main }\ntargets:\n  all: { virtual: true, depends: [a, b] }\n',
      '.aiop/common.yml': 'variables: { A: common, B: common }\ndefault: all\ntargets:\n  a: { commands: "echo a" }\n',
      'lib/shared.yml': 'targets:\n  b: { commands: [echo b] }\n',
    },
    async (root) => {
      const missing = await configError(loadPlaybook(root));
      assert.match(missing.text, /\.aiop\/recipe\.yml:1:\d+: included recipe "shared\.yml" not found/);
      assert.match(missing.text, /looked in: \.aiop\/shared\.yml \(add folders with -I DIR\)/);
      const pb = await loadPlaybook(root, { includeDirs: ['lib'] });
      assert.deepEqual(Object.keys(pb.recipe.targets).sort(), ['a', 'all', 'b']);
      assert.equal(pb.recipe.targets.b!.file, 'lib/shared.yml');
      assert.deepEqual(pb.recipe.targets.a!.commands, ['echo a']);
      assert.deepEqual(pb.recipe.variables, { A: 'main', B: 'common' });
      assert.equal(pb.recipe.default, 'all');
      assert.equal(pb.recipe.files.length, 3);
    },
  );
});

test('an include cycle is a diagnostic printing the cycle', async () => {
  await withPlaybook(
    {
      '.aiop/inventory_config.yml': INVENTORY,
      '.aiop/recipe.yml': 'include: [a.yml]\n',
      '.aiop/a.yml': 'include: [b.yml]\n',
      '.aiop/b.yml': 'targets: {}\ninclude: [a.yml]\n',
    },
    async (root) => {
      const { error } = await configError(loadPlaybook(root));
      assert.equal(error.diagnostics.length, 1);
      assert.equal(error.diagnostics[0]!.message, 'include cycle: .aiop/a.yml -> .aiop/b.yml -> .aiop/a.yml');
      assert.deepEqual([error.diagnostics[0]!.location?.file, error.diagnostics[0]!.location?.line], ['.aiop/b.yml', 2]);
    },
  );
});

test('a target defined twice names both places', async () => {
  await withPlaybook(
    {
      '.aiop/inventory_config.yml': INVENTORY,
      '.aiop/recipe.yml': 'include: [more.yml]\ntargets:\n  x: { virtual: true }\n',
      '.aiop/more.yml': 'targets:\n  y: { virtual: true }\n  x: { virtual: true }\n',
    },
    async (root) => {
      const { error } = await configError(loadPlaybook(root));
      assert.equal(error.diagnostics.length, 1);
      const d = error.diagnostics[0]!;
      assert.equal(d.message, 'target "x" is defined twice');
      assert.deepEqual([d.location?.file, d.location?.line, d.location?.column], ['.aiop/recipe.yml', 3, 3]);
      assert.equal(d.hint, 'first defined at .aiop/more.yml:3:3');
    },
  );
});

test('recipe checks: unknown default and depends with did-you-mean, file targets outside the package', async () => {
  const recipe = 'default: pakage\ntargets:\n  package:\n    virtual: true\n    depends: [bin/helo, nothing-like-it]\n  bin/hello: {}\n  ../escape: {}\n';
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': recipe }, async (root) => {
    const { error, text } = await configError(loadPlaybook(root));
    const byMessage = (re: RegExp) => error.diagnostics.find((d) => re.test(d.message));
    assert.equal(byMessage(/default target "pakage" is not defined/)?.hint, 'did you mean "package"?', text);
    const dep = byMessage(/depends on "bin\/helo"/);
    assert.equal(dep?.hint, 'did you mean "bin/hello"?');
    assert.deepEqual([dep?.location?.line, dep?.location?.column], [5, 15]);
    assert.match(byMessage(/depends on "nothing-like-it"/)!.hint!, /depends lists targets/);
    assert.match(byMessage(/file target "\.\.\/escape"/)!.message, /climbs out/);
    assert.equal(error.diagnostics.length, 4, text);
  });
});

test('inventory checks: duplicate compatibility names, `when` naming unknown parameters or choices', async () => {
  const inventory = INVENTORY.replace('{ name: arch, choices', '{ name: distro, choices').concat(
    '    artifacts:\n' +
      '      - { name: jq, url: "file:///jq", sha256: ' + '"' + 'a'.repeat(64) + '"' + ', when: { arhc: amd64 } }\n' +
      '      - { name: yq, url: "file:///yq", integrity: "sha256-AAAA", when: { distro: [debian12, debain13] } }\n',
  );
  await withPlaybook({ '.aiop/inventory_config.yml': inventory, '.aiop/recipe.yml': RECIPE }, async (root) => {
    const { error, text } = await configError(loadPlaybook(root));
    assert.equal(error.diagnostics.length, 3, text);
    assert.match(error.diagnostics[0]!.message, /compatibility parameter "distro" of system target "linux" is defined twice/);
    assert.equal(error.diagnostics[0]!.hint, 'first defined at .aiop/inventory_config.yml:12:17');
    assert.match(error.diagnostics[1]!.message, /"when" names "arhc"/);
    assert.match(error.diagnostics[2]!.message, /"debain13" is not a choice of parameter "distro"/);
    assert.match(error.diagnostics[2]!.hint!, /^valid choices: debian12, ubuntu22\.04/);
  });
});

test('inventory and recipe problems are reported together', async () => {
  await withPlaybook(
    { '.aiop/inventory_config.yml': INVENTORY.replace('{ name: arch,', '{ name: distro,'), '.aiop/recipe.yml': 'default: nope\n' },
    async (root) => {
      const { error } = await configError(loadPlaybook(root));
      assert.deepEqual(error.diagnostics.map((d) => d.location?.file), ['.aiop/inventory_config.yml', '.aiop/recipe.yml']);
    },
  );
});

test('the cache: a hit returns the cached value without parsing; a change invalidates it', async () => {
  await withPlaybook(
    { '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': 'include: [inc.yml]\n' + RECIPE, 'lib/inc.yml': 'targets: { extra: { virtual: true } }\n' },
    async (root) => {
      const opts = { includeDirs: ['lib'] };
      await pastRacyWindow();
      const before = { ...loadStats };
      const first = await loadPlaybook(root, opts);
      assert.equal(loadStats.cacheMisses, before.cacheMisses + 1);
      const second = await loadPlaybook(root, opts);
      assert.equal(loadStats.cacheHits, before.cacheHits + 1);
      assert.deepEqual(second, first);

      // Make the cached value differ detectably: a hit must return it, proving the YAML was not parsed.
      const cacheFile = join(root, PLAYBOOK_CACHE);
      const cache = JSON.parse(await readFile(cacheFile, 'utf8'));
      cache.playbook.inventory.package.description = 'from the cache';
      await writeFile(cacheFile, JSON.stringify(cache));
      assert.equal((await loadPlaybook(root, opts)).inventory.package.description, 'from the cache');

      // Other options are another key: a miss.
      const missesBefore = loadStats.cacheMisses;
      await assert.rejects(loadPlaybook(root), /not found/);
      assert.equal(loadStats.cacheMisses, missesBefore + 1);

      // An included file changing (even same size) invalidates.
      await loadPlaybook(root, opts);
      await writeFile(join(root, 'lib/inc.yml'), 'targets: { EXTRA: { virtual: true } }\n');
      const changed = await loadPlaybook(root, opts);
      assert.ok('EXTRA' in changed.recipe.targets);
      assert.equal(changed.inventory.package.description, 'Says hello.\nA longer description.\n');

      // A file appearing where an include was looked for first changes the result.
      await writeFile(join(root, '.aiop/inc.yml'), 'targets: { shadow: { virtual: true } }\n');
      assert.ok('shadow' in (await loadPlaybook(root, opts)).recipe.targets);

      // A corrupt cache is ignored.
      await writeFile(cacheFile, '{"format": 1, "key": tru');
      assert.ok('shadow' in (await loadPlaybook(root, opts)).recipe.targets);
    },
  );
});

test('a file changed within the racy window is parsed again even with the same size and mtime', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': RECIPE }, async (root) => {
    await loadPlaybook(root);
    const recipe = join(root, '.aiop/recipe.yml');
    const stamp = new Date();
    await writeFile(recipe, RECIPE.replace('Hello', 'Howdy'));
    await utimes(recipe, stamp, stamp);
    const misses = loadStats.cacheMisses;
    const pb = await loadPlaybook(root);
    assert.equal(pb.recipe.variables.GREETING, 'Howdy');
    assert.equal(loadStats.cacheMisses, misses + 1);
  });
});

test('a cache hit imports neither yaml nor zod (a copy of the loader where they cannot be found)', async () => {
  const { dir, cleanup } = await tempDir('aiop-noyaml-');
  try {
    const pbRoot = join(dir, 'pb');
    await writeFiles(pbRoot, { '.aiop/inventory_config.yml': INVENTORY, '.aiop/recipe.yml': RECIPE });
    await pastRacyWindow();
    const expected = await loadPlaybook(pbRoot); // writes the cache
    // The loader, core and state stamps, copied where no node_modules is reachable: importing yaml or zod would fail.
    const lib = join(dir, 'lib');
    await mkdir(join(lib, 'src'), { recursive: true });
    await cp(join(REPO, 'dist/src/playbook'), join(lib, 'src/playbook'), { recursive: true });
    await cp(join(REPO, 'dist/src/core'), join(lib, 'src/core'), { recursive: true });
    await cp(join(REPO, 'dist/src/store'), join(lib, 'src/store'), { recursive: true });
    await writeFile(join(lib, 'package.json'), '{"type":"module"}\n');
    const script = join(lib, 'probe.js');
    await writeFile(
      script,
      `import { loadPlaybook, loadStats } from './src/playbook/load.js';
const pb = await loadPlaybook(process.argv[2]);
process.stdout.write(JSON.stringify({ pb, loadStats }));
let yamlFound = true;
try { await import('yaml'); } catch { yamlFound = false; }
process.stderr.write('yaml importable: ' + yamlFound + '\\n');
`,
    );
    const hit = await runNode(script, [pbRoot], { cwd: lib });
    assert.equal(hit.code, 0, hit.stderr);
    assert.match(hit.stderr, /yaml importable: false/);
    const out = JSON.parse(hit.stdout);
    assert.deepEqual(out.pb, JSON.parse(JSON.stringify(expected)));
    assert.deepEqual(out.loadStats, { cacheHits: 1, cacheMisses: 0 });
    // And the probe is sound: on a miss the same copy fails, because it needs yaml.
    await writeFile(join(pbRoot, '.aiop/recipe.yml'), RECIPE + '\n');
    const miss = await runNode(script, [pbRoot], { cwd: lib });
    assert.notEqual(miss.code, 0);
    assert.match(miss.stderr, /yaml|zod/);
  } finally {
    await cleanup();
  }
});

test('loadPackages: undefined when missing, validated when present', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY }, async (root) => {
    assert.equal(await loadPackages(root), undefined);
    await writeFiles(root, {
      '.aiop/packages.yml': 'packages:\n  - system_target: linux\n    compat_args: [debian12, amd64]\n  - system_target: linux\n    matrix: { distro: [debian12] }\n',
    });
    const pk = await loadPackages(root);
    assert.deepEqual(pk?.packages[0]?.compat_args, ['debian12', 'amd64']);
    await writeFiles(root, { '.aiop/packages.yml': 'packages:\n  - system_taget: linux\n' });
    const { text } = await configError(loadPackages(root));
    assert.match(text, /\.aiop\/packages\.yml:2:5: unknown key "system_taget"/);
  });
});

test('ensureAiopGitignore writes .aiop/.gitignore once and keeps a user one', async () => {
  await withPlaybook({ '.aiop/inventory_config.yml': INVENTORY }, async (root) => {
    await ensureAiopGitignore(root);
    assert.equal(await readFile(join(root, '.aiop/.gitignore'), 'utf8'), AIOP_GITIGNORE);
    await writeFile(join(root, '.aiop/.gitignore'), 'mine\n');
    await ensureAiopGitignore(root);
    assert.equal(await readFile(join(root, '.aiop/.gitignore'), 'utf8'), 'mine\n');
  });
});

test('loadRecipeFile reads a child recipe with its includes', async () => {
  await withPlaybook(
    { 'child/recipe.yml': 'include: [more.yml]\ntargets:\n  out.txt: { commands: "echo > $target" }\n', 'child/more.yml': 'targets:\n  other.txt: {}\n' },
    async (root) => {
      const recipe = await loadRecipeFile(root, 'child/recipe.yml');
      assert.deepEqual(Object.keys(recipe.targets).sort(), ['other.txt', 'out.txt']);
      assert.equal(recipe.targets['other.txt']!.file, 'child/more.yml');
      await writeFiles(root, { 'child/more.yml': 'targets:\n  out.txt: {}\n' });
      const { text } = await configError(loadRecipeFile(root, 'child/recipe.yml'));
      assert.match(text, /child\/recipe\.yml:3:3: target "out\.txt" is defined twice/);
    },
  );
});
