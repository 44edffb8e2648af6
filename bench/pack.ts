/**
 * (e) zip and .deb of a generated package (half text, half random bytes) against Info-ZIP
 * `zip -r -6 -X` and `dpkg-deb --build -Zgzip`: wall time, peak RSS, output size.
 * Floors: ratio at most 1.0 against each, output size within 2%.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageTree, smallFilesTree } from './data.js';
import { REPO, WORK, hyperfine, settled, type Row } from './run.js';
import type { Scenario } from './recipe.js';
import { takeRssMb } from './self-rss.js';

// A function, not a constant: run.ts imports this module before its own constants exist.
const packOne = (): string => join(REPO, 'dist/bench/pack-one.js');

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Rows and peak RSS of zip and .deb for one package folder (`pkg`, named `pkg` inside its
 * parent), against `floor` when an issue sets one for this package.
 */
async function packRows(pkg: string, label: string, runs: number, floor?: number): Promise<Row[]> {
  const dir = join(WORK, 'pack');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    // dpkg-deb wants the installed layout with DEBIAN/control: hard links cost no copy.
    const debRoot = join(dir, 'debroot');
    mkdirSync(join(debRoot, 'DEBIAN'), { recursive: true });
    writeFileSync(
      join(debRoot, 'DEBIAN/control'),
      'Package: benchpkg\nVersion: 1.0.0\nArchitecture: amd64\nMaintainer: Bench <bench@example.com>\nDescription: generated benchmark package\n Half text, half random bytes.\n',
    );
    execFileSync('cp', ['-al', pkg, join(debRoot, 'usr')]);
    const out = (name: string): string => join(dir, name);
    const zipRssFile = out('zip.rss');
    const debRssFile = out('deb.rss');
    const times = hyperfine(
      join(pkg, '..'),
      [
        { name: 'aiop zip', command: `node ${packOne()} zip ${pkg} ${out('ours.zip')} --rss ${zipRssFile}`, prepare: settled(`rm -f ${out('ours.zip')}`) },
        { name: 'zip', command: `zip -q -r -6 -X ${out('peer.zip')} pkg`, prepare: settled(`rm -f ${out('peer.zip')}`) },
        { name: 'aiop deb', command: `node ${packOne()} deb ${pkg} ${out('ours.deb')} --rss ${debRssFile}`, prepare: settled(`rm -f ${out('ours.deb')}`) },
        { name: 'dpkg-deb', command: `dpkg-deb --root-owner-group -Zgzip --build ${debRoot} ${out('peer.deb')}`, prepare: settled(`rm -f ${out('peer.deb')}`) },
      ],
      runs,
      0,
    );
    const zipRss = takeRssMb(zipRssFile);
    const debRss = takeRssMb(debRssFile);
    const size = (f: string): number => statSync(out(f)).size;
    const sizeNote = (ours: string, peer: string): string => {
      const diff = size(ours) / size(peer) - 1;
      return `size ${mb(size(ours))} vs ${mb(size(peer))} (${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(2)}%, within 2%: ${Math.abs(diff) <= 0.02 ? 'met' : '**not met**'})`;
    };
    return [
      { scenario: label, ours: 'writeZip (aiop --zip_pack)', oursMs: times.get('aiop zip')!, peer: 'zip -r -6 -X', peerMs: times.get('zip')!, ...(floor !== undefined ? { floor } : {}), rssFloorMb: 200, ...(zipRss ? { rssMb: zipRss } : {}), note: sizeNote('ours.zip', 'peer.zip') },
      { scenario: label, ours: 'writeDeb (aiop --installer deb)', oursMs: times.get('aiop deb')!, peer: 'dpkg-deb --build -Zgzip', peerMs: times.get('dpkg-deb')!, ...(floor !== undefined ? { floor } : {}), rssFloorMb: 200, ...(debRss ? { rssMb: debRss } : {}), note: sizeNote('ours.deb', 'peer.deb') },
    ];
  } finally {
    // The outputs are as large as the input; nothing else needs them.
    rmSync(dir, { recursive: true, force: true });
  }
}

export const packScenarios: Scenario[] = [
  {
    name: 'pack',
    async run(options) {
      const runs = 2;
      const smallCount = options.quick ? 1000 : 10_000;
      const rows = [
        ...(await packRows(await packageTree(options.packMib), `pack a ${options.packMib} MiB package`, runs, 1.0)),
        ...(await packRows(smallFilesTree(smallCount), `pack ${smallCount} small files`, runs * 2)),
      ];
      return {
        rows,
        notes: [
          `Packing (${runs} runs each; ${runs * 2} for the small files): the aiop side is bench/pack-one.ts, which calls the library's writeZip and writeDeb (dist/src/pack/) on the generated folder, so only packing is measured (plus Node's start-up, about 50 ms). The large package is half prose-like text in 8 MiB files and 100 small files, half random bytes in 32 MiB files; the small files are ${smallCount} text files of 0.5-16 KiB in 280 folders (both seeded; bench/data.ts); the floor of 1.0 is set for the large package, the small files are measured without one. dpkg-deb packs a hard-linked copy of the same folder under usr/ with --root-owner-group; it compresses at its default gzip level 9, as writeDeb does; writeDeb also computes md5sums, which dpkg-deb leaves to dh_md5sums.`,
        ],
      };
    },
  },
];
