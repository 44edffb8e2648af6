/**
 * The .rpm of the generated package (the same folder as the pack scenario) against
 * `rpmbuild -bb` of the same files, both gzip level 9: wall time, peak RSS, output size.
 * Floors: ratio at most 1.0, peak RSS under 200 MB.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageTree } from './data.js';
import { REPO, WORK, hyperfine, settled } from './run.js';
import type { Scenario } from './recipe.js';
import { takeRssMb } from './self-rss.js';

const packOne = (): string => join(REPO, 'dist/bench/pack-one.js');
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * A spec that only places the folder (hard links) and packs it: no build, no strip or
 * debuginfo step, no automatic dependencies, the payload as writeRpm makes it (gzip 9, SHA256
 * file digests), so both sides do the same work.
 */
function spec(pkg: string): string {
  return `%define debug_package %{nil}
%define __os_install_post %{nil}
%define _build_id_links none
%define _binary_payload w9.gzdio
%define _binary_filedigest_algorithm 8
Name: benchpkg
Version: 1.0.0
Release: 1
Summary: generated benchmark package
License: MIT
AutoReqProv: no

%description
Half text, half random bytes.

%install
mkdir -p %{buildroot}/opt
cp -al ${pkg} %{buildroot}/opt/benchpkg

%files
/opt/benchpkg
`;
}

export const rpmScenarios: Scenario[] = [
  {
    name: 'rpm-pack',
    async run(options) {
      const pkg = await packageTree(options.packMib);
      const dir = join(WORK, 'rpm');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, 'top'), { recursive: true });
      writeFileSync(join(dir, 'benchpkg.spec'), spec(pkg));
      const ours = join(dir, 'ours.rpm');
      const rssFile = join(dir, 'rpm.rss');
      const peerOut = join(dir, 'top/RPMS/x86_64/benchpkg-1.0.0-1.x86_64.rpm');
      const runs = 2;
      const times = hyperfine(
        dir,
        [
          { name: 'aiop rpm', command: `node ${packOne()} rpm ${pkg} ${ours} --rss ${rssFile}`, prepare: settled(`rm -f ${ours}`) },
          { name: 'rpmbuild', command: `rpmbuild -bb --quiet --define '_topdir ${join(dir, 'top')}' benchpkg.spec`, prepare: settled(`rm -rf ${join(dir, 'top')}`) },
        ],
        runs,
        0,
      );
      const rss = takeRssMb(rssFile);
      const diff = statSync(ours).size / statSync(peerOut).size - 1;
      const note = `size ${mb(statSync(ours).size)} vs ${mb(statSync(peerOut).size)} (${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(2)}%)`;
      rmSync(dir, { recursive: true, force: true });
      return {
        rows: [
          {
            scenario: `pack a ${options.packMib} MiB package`,
            ours: 'writeRpm (aiop --installer rpm)',
            oursMs: times.get('aiop rpm')!,
            peer: 'rpmbuild -bb (gzip 9)',
            peerMs: times.get('rpmbuild')!,
            floor: 1.0,
            rssFloorMb: 200,
            ...(rss ? { rssMb: rss } : {}),
            note,
          },
        ],
        notes: [
          `rpm (${runs} runs each): bench/pack-one.ts calls writeRpm on the generated folder (the pack scenario's); rpmbuild -bb builds a spec whose %install hard-links the same folder into the build root, with no strip, debuginfo or dependency generation, payload gzip level 9 and SHA256 file digests as writeRpm writes. Both read every file twice (digests for the header, then the payload).`,
        ],
      };
    },
  },
];
