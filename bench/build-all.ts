/**
 * (h) `build_all` scaling: packages of one playbook (a 4 x N/4 matrix) sharing 4 artifacts
 * served by Debian's nginx on loopback, each package zipped, built with --threads 1, 2 and
 * 4, against the same packages built by `aiop build` one after another. Every run starts
 * with no outputs, no state and an empty cache, so each side downloads the 4 artifacts.
 * Floor (issue 6): threads 4 at least 1.8x faster than the sequential runs on 2 cores, i.e.
 * a ratio of at most 1/1.8.
 */
import { linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx } from '../test/util/nginx.js';
import { dataFile } from './data.js';
import { AIOP, WORK, hyperfine, peakRssMb, type Row } from './run.js';
import type { Scenario } from './recipe.js';

const ARCHES = ['a1', 'a2', 'a3', 'a4'];

export const buildAllScenarios: Scenario[] = [
  {
    name: 'build_all',
    async run(options) {
      const dists = Array.from({ length: options.packages / 4 }, (_, i) => `d${i + 1}`);
      const artifacts = [];
      for (let i = 0; i < 4; i++) artifacts.push(await dataFile(`shared${i}`, options.artifactMib, i % 2 === 0 ? 'mixed' : 'random', 10 + i));
      const dir = join(WORK, 'build-all');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, '.aiop'), { recursive: true });
      mkdirSync(join(dir, 'files'), { recursive: true });
      const served = join(dir, 'served');
      mkdirSync(served, { recursive: true });
      // nginx serves from one folder: link the generated files into it (hard links, no copy).
      artifacts.forEach((a, i) => linkSync(a.file, join(served, `shared${i}.bin`)));
      const nginx = await startNginx({ root: served });
      const rows: Row[] = [];
      try {
        const inventory = [
          'package:',
          '  name: benchall',
          '  version: 1.0.0',
          '  maintainer: Bench <bench@example.com>',
          '  description: |',
          '    build_all benchmark package',
          'system_targets:',
          '  linux:',
          '    compatibility:',
          `      - { name: distro, choices: [${dists.join(', ')}], help: Distribution }`,
          `      - { name: arch, choices: [${ARCHES.join(', ')}], help: CPU architecture }`,
          '    artifacts:',
          ...artifacts.flatMap((a, i) => [
            `      - name: shared${i}`,
            `        url: ${nginx.url}/shared${i}.bin`,
            `        sha256: ${a.sha256}`,
            '        dest: lib/',
          ]),
        ];
        writeFileSync(join(dir, '.aiop/inventory_config.yml'), `${inventory.join('\n')}\n`);
        const recipe = [
          'default: package',
          'targets:',
          '  package:',
          '    virtual: true',
          '    depends: [bin/tool, share/doc/README, share/doc/NOTES]',
          '  bin/tool:',
          '    sources: [files/tool.sh]',
          '    commands: [":copy $source $target", ":chmod 0755 $target"]',
          '  share/doc/README:',
          '    sources: [files/README.in]',
          '    commands: [":template $source $target"]',
          '  share/doc/NOTES:',
          '    sources: [files/README.in]',
          '    commands: ["sed s/built/noted/ $source > $target"]',
        ];
        writeFileSync(join(dir, '.aiop/recipe.yml'), `${recipe.join('\n')}\n`);
        writeFileSync(join(dir, 'files/tool.sh'), '#!/bin/sh\necho tool\n');
        writeFileSync(join(dir, 'files/README.in'), 'benchall $version built for $distro on $arch\n');
        const packages = ['packages:', '  - system_target: linux', `    matrix: { distro: [${dists.join(', ')}], arch: [${ARCHES.join(', ')}] }`, '    options: { zip_pack: true }'];
        writeFileSync(join(dir, '.aiop/packages.yml'), `${packages.join('\n')}\n`);
        const cache = join(dir, 'cache');
        writeFileSync(join(dir, 'config.yml'), `cache_dir: ${cache}\n`);
        const env = { ...process.env, AIOP_CONFIG: join(dir, 'config.yml') };
        const sequential = dists.flatMap((d) => ARCHES.map((a) => `node ${AIOP} build linux ${d} ${a} --zip_pack -sll WARNING -hp`));
        writeFileSync(join(dir, 'sequential.sh'), `set -e\n${sequential.join('\n')}\n`);
        const clean = `rm -rf ${dir}/.build ${dir}/.aiop/state ${dir}/.aiop/logs ${cache}`;
        const buildAll = (threads: number): string => `node ${AIOP} build_all --threads ${threads} -sll WARNING -hp`;
        const runs = options.quick ? 1 : 3;
        const times = hyperfine(
          dir,
          [
            { name: 'sequential', command: `sh ${join(dir, 'sequential.sh')}`, prepare: clean },
            { name: 'threads 1', command: buildAll(1), prepare: clean },
            { name: 'threads 2', command: buildAll(2), prepare: clean },
            { name: 'threads 4', command: buildAll(4), prepare: clean },
          ],
          runs,
          0,
          env,
        );
        const rss = await peakRssMb(dir, buildAll(4), clean, env);
        const label = `build_all, ${options.packages} packages, 4 shared artifacts`;
        const peerMs = times.get('sequential')!;
        const peer = `${options.packages} x aiop build, one after another`;
        rows.push(
          { scenario: label, ours: 'build_all --threads 1', oursMs: times.get('threads 1')!, peer, peerMs },
          { scenario: label, ours: 'build_all --threads 2', oursMs: times.get('threads 2')!, peer, peerMs },
          { scenario: label, ours: 'build_all --threads 4', oursMs: times.get('threads 4')!, peer, peerMs, floor: Number((1 / 1.8).toFixed(3)), rssFloorMb: 200, ...(rss ? { rssMb: rss } : {}), note: `${(peerMs / times.get('threads 4')!).toFixed(2)}x faster (floor: 1.8x)` },
        );
      } finally {
        await nginx.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      return {
        rows,
        notes: [
          `build_all (${options.quick ? 1 : 3} runs each): ${options.packages} packages (matrix of distro x arch) of one playbook, each placing the same 4 artifacts of ${options.artifactMib} MiB (2 half text, 2 random; from nginx on 127.0.0.1), running 3 small recipe targets (two built-in, one shell) and zipping the package. Every run starts from no outputs, no state and an empty cache.`,
        ],
      };
    },
  },
];
