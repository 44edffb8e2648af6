/**
 * Recipe scenarios: a generated playbook of N file targets (each copies one source), and
 * the equivalent Makefile and build.ninja. Full build with 2 jobs, no-op rebuild, and one
 * changed source, side by side with `make -r`, `make` and `ninja`.
 */
import { mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
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

const aiopBuild = (extra = ''): string => `node ${AIOP} build linux debian12 amd64 -sll WARNING -hp${extra}`;

export const recipeScenarios: Scenario[] = [
  {
    name: 'recipe',
    async run(options) {
      const rows: Row[] = [];
      const notes: string[] = [];
      const n = options.targets;
      const dir = join(WORK, 'recipe');
      const shellDir = join(WORK, 'recipe-shell');
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
          { name: 'make -r no-op', command: 'make -r -s' },
          { name: 'ninja no-op', command: 'ninja --quiet' },
        ],
        options.runs,
        2,
      );
      const plainMake = hyperfine(dir, [{ name: 'make no-op', command: 'make -s' }], 1, 0);
      const noopRss = await peakRssMb(dir, aiopBuild());
      rows.push(
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'make -r', peerMs: noop.get('make -r no-op')!, floor: 2.5, rssFloorMb: 200, ...(noopRss ? { rssMb: noopRss } : {}) },
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'ninja', peerMs: noop.get('ninja no-op')!, floor: 2.5 },
        { scenario: `no-op rebuild, ${n} targets`, ours: 'aiop build', oursMs: noop.get('aiop no-op')!, peer: 'make (built-in rules)', peerMs: plainMake.get('make no-op')!, floor: 0.2 },
      );

      // (d) one changed source, changed back and forth so every run has one change to build.
      const touchOne = `sh -c 'f=src/f7.in; if grep -q changed $f; then echo "file 7" > $f; else echo "file 7 changed" > $f; fi'`;
      const one = hyperfine(
        dir,
        [
          { name: 'aiop one change', command: aiopBuild(), prepare: touchOne },
          { name: 'make -r one change', command: 'make -r -s', prepare: touchOne },
          { name: 'ninja one change', command: 'ninja --quiet', prepare: touchOne },
        ],
        options.runs,
        1,
      );
      rows.push(
        { scenario: `one changed source, ${n} targets`, ours: 'aiop build', oursMs: one.get('aiop one change')!, peer: 'make -r', peerMs: one.get('make -r one change')!, floor: 2.5 },
        { scenario: `one changed source, ${n} targets`, ours: 'aiop build', oursMs: one.get('aiop one change')!, peer: 'ninja', peerMs: one.get('ninja one change')!, floor: 2.5 },
      );

      // (d') as someone editing and rebuilding does: before every run one source is written with
      // content never seen before, a moment before the build starts (within the racy window of
      // the record the last build wrote, src/store/stamp.ts), measured as from outside.
      const rewriteOne = `sh -c 'date +%s%N > src/f7.in'`;
      const fresh = hyperfine(
        dir,
        [
          { name: 'aiop fresh edit', command: aiopBuild(), prepare: rewriteOne },
          { name: 'make -r fresh edit', command: 'make -r -s', prepare: rewriteOne },
          { name: 'ninja fresh edit', command: 'ninja --quiet', prepare: rewriteOne },
        ],
        options.runs,
        1,
      );
      rows.push(
        { scenario: `one source rewritten with new content, ${n} targets`, ours: 'aiop build', oursMs: fresh.get('aiop fresh edit')!, peer: 'make -r', peerMs: fresh.get('make -r fresh edit')!, floor: 2.5 },
        { scenario: `one source rewritten with new content, ${n} targets`, ours: 'aiop build', oursMs: fresh.get('aiop fresh edit')!, peer: 'ninja', peerMs: fresh.get('ninja fresh edit')!, floor: 2.5 },
      );
      notes.push(
        `Recipe scenarios: ${n} file targets, each copying one generated source; the Makefile and build.ninja do the same with cp. The no-op is served by aiop's no-op record (stat of every input and output, no parsing).`,
      );
      void PKG;
      return { rows, notes };
    },
  },
];
