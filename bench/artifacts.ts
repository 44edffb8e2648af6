/**
 * (f) a large download with verification from Debian's nginx on loopback, against
 * `curl -o FILE && sha256sum FILE`; floor ratio 1.0, peak RSS under 150 MB.
 * (g) placing a cached artifact into a package: verified, against `sha256sum F && cp F D` (floor
 * 1.0); with --no_verify, against `cp` (floor 1.1).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNginx } from '../test/util/nginx.js';
import { findCached, sriFromSha256Hex } from '../src/artifacts/index.js';
import { dataFile } from './data.js';
import { REPO, WORK, hyperfine, settled, type Row } from './run.js';
import type { Scenario } from './recipe.js';
import { takeRssMb } from './self-rss.js';

// A function, not a constant: run.ts imports this module before its own constants exist.
const fetchOne = (): string => join(REPO, 'dist/bench/fetch-one.js');

/** Runs of each placing command (the verified ones read 1 GiB, the others copy it). */
function placeRuns(quick: boolean | undefined): number {
  return quick ? 2 : 9;
}

export const artifactScenarios: Scenario[] = [
  {
    name: 'download',
    async run(options) {
      const { file, sha256 } = await dataFile('download', options.downloadMib, 'random', 2);
      const dir = join(WORK, 'download');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const nginx = await startNginx({ root: dirname(file) });
      const rows: Row[] = [];
      try {
        const url = `${nginx.url}/${basename(file)}`;
        const cache = join(dir, 'cache');
        const ours = join(dir, 'ours.bin');
        const peer = join(dir, 'peer.bin');
        const rssFile = join(dir, 'fetch.rss');
        const rssUncachedFile = join(dir, 'fetch-uncached.rss');
        const oursCommand = `node ${fetchOne()} fetch ${url} ${ours} ${cache} ${sha256} --rss ${rssFile}`;
        const uncachedCommand = `node ${fetchOne()} fetch ${url} ${ours} ${cache} ${sha256} --no-caching --rss ${rssUncachedFile}`;
        const cleanOurs = `rm -rf ${cache} ${ours}`;
        const runs = 2;
        const times = hyperfine(
          dir,
          [
            { name: 'aiop fetch', command: oursCommand, prepare: settled(cleanOurs) },
            { name: 'aiop fetch no-caching', command: uncachedCommand, prepare: settled(cleanOurs) },
            { name: 'curl+sha256sum', command: `sh -c "curl -sS -o ${peer} ${url} && sha256sum ${peer}"`, prepare: settled(`rm -f ${peer}`) },
          ],
          runs,
          0,
        );
        const rss = takeRssMb(rssFile);
        const rssUncached = takeRssMb(rssUncachedFile);
        const label = `download ${options.downloadMib} MiB and verify`;
        const peerMs = times.get('curl+sha256sum')!;
        rows.push(
          { scenario: label, ours: 'fetchUrl, fresh cache', oursMs: times.get('aiop fetch')!, peer: 'curl -o F && sha256sum F', peerMs, floor: 1.0, rssFloorMb: 150, ...(rss ? { rssMb: rss } : {}), note: "into the cache (cacache's put.stream) and the destination at once" },
          { scenario: label, ours: 'fetchUrl --no_caching', oursMs: times.get('aiop fetch no-caching')!, peer: 'curl -o F && sha256sum F', peerMs, floor: 1.0, rssFloorMb: 150, ...(rssUncached ? { rssMb: rssUncached } : {}), note: 'to a temp file (direct I/O), then renamed into place' },
        );
      } finally {
        await nginx.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      return {
        rows,
        notes: [
          `Download (2 runs each): Debian's nginx on 127.0.0.1 serves a seeded random file (sendfile on); the aiop side is bench/fetch-one.ts calling fetchUrl from dist/src/artifacts with sha256 integrity and an empty cache folder each run; the digest is computed while the bytes stream; fetchUrl streams the bytes into cacache's put.stream (its temp file, through the page cache; cacache takes aiop's digest instead of hashing again) and into the destination at the same time, and commits both once verified (with --no_caching, one temp file written around the page cache (O_DIRECT) and renamed into place). curl writes the file, then sha256sum reads it back from the page cache.`,
        ],
      };
    },
  },
  {
    name: 'place',
    async run(options) {
      const { file, sha256 } = await dataFile('place', options.placeMib, 'mixed', 3);
      const dir = join(WORK, 'place');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const rows: Row[] = [];
      try {
        const url = pathToFileURL(file).href;
        const cache = join(dir, 'cache');
        const pkg = join(dir, 'pkg');
        const peerPkg = join(dir, 'peer');
        // Fill the cache once, the way a first build does.
        execFileSync('node', [fetchOne(), 'place', url, pkg, cache, sha256], { stdio: 'inherit' });
        const cached = (await findCached(cache, url, sriFromSha256Hex(sha256)))!.file;
        const rssFile = join(dir, 'place.rss');
        const place = `node ${fetchOne()} place ${url} ${pkg} ${cache} ${sha256} --rss ${rssFile}`;
        const placeNoVerify = `node ${fetchOne()} place ${url} ${pkg} ${cache} ${sha256} --no-verify`;
        const cleanOurs = `rm -rf ${pkg}`;
        // A --no_verify copy of 1 GiB takes a quarter of a second, so 3 runs of it left the
        // ratio to its 10% floor within the noise of one slow run: the median of 9 is read.
        const runs = placeRuns(options.quick);
        const times = hyperfine(
          dir,
          [
            { name: 'aiop place', command: place, prepare: settled(cleanOurs) },
            { name: 'aiop place no-verify', command: placeNoVerify, prepare: settled(cleanOurs) },
            { name: 'cp', command: `sh -c "mkdir -p ${peerPkg}/lib && cp ${cached} ${peerPkg}/lib/place.bin"`, prepare: settled(`rm -rf ${peerPkg}`) },
            // The peer of a verified copy reads every byte too: the digest, then the copy.
            { name: 'sha256sum+cp', command: `sh -c "sha256sum ${cached} >/dev/null && mkdir -p ${peerPkg}/lib && cp ${cached} ${peerPkg}/lib/place.bin"`, prepare: settled(`rm -rf ${peerPkg}`) },
          ],
          runs,
          1,
        );
        const rss = takeRssMb(rssFile);
        const label = `place a cached ${options.placeMib} MiB artifact`;
        rows.push(
          { scenario: label, ours: 'placeArtifacts (verifies the copy)', oursMs: times.get('aiop place')!, peer: 'sha256sum F && cp F D', peerMs: times.get('sha256sum+cp')!, floor: 1.0, rssFloorMb: 200, ...(rss ? { rssMb: rss } : {}), note: 'default: a cache hit is verified (sha256 of every byte)' },
          { scenario: label, ours: 'placeArtifacts --no_verify', oursMs: times.get('aiop place no-verify')!, peer: 'cp', peerMs: times.get('cp')!, floor: 1.1 },
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return {
        rows,
        notes: [
          `Placing (${placeRuns(options.quick)} runs each): bench/fetch-one.ts calls placeArtifacts for one file artifact (file:// URL, already in the cache); cp copies the same cache file to the same file system. By default aiop verifies a cache hit: it reads the cache file in 1 MiB chunks, hashes each chunk and writes that same buffer (sha256 of the whole file, on one core, against \`sha256sum F && cp F D\`, which also reads every byte); --no_verify copies with the kernel's copy_file_range, as cp does.`,
        ],
      };
    },
  },
];
