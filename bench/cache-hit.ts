/**
 * What finding a cached artifact costs, now that the cache goes through cacache's public API
 * (`get.info` of the URL's key, a stat of the content file it names) instead of a content path
 * computed from the digest (one stat, no module loaded).
 *
 *   node dist/bench/cache-hit.js [RUNS]
 *
 * Fills a cache with one small file:// artifact, then, in RUNS fresh processes each, times
 * (a) the first lookup of a process, which also loads cacache (and ssri, minipass...), and
 * (b) the lookup once cacache is loaded (median of 50 in the same process); and, for scale,
 * (c) a whole `placeArtifacts` of that cached artifact (verified copy into a package).
 * Prints medians over the processes, in ms (the first lookup also as CPU time, which a busy
 * machine inflates less than wall time).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findCached, fetchUrl, placeArtifacts, type FetchSettings } from '../src/artifacts/index.js';
import { sriOfFile } from '../src/artifacts/integrity.js';

function settings(cacheDir: string): FetchSettings {
  return { cacheDir, retries: 0, noCaching: false, noVerify: false, connectTimeoutMs: 5_000, idleTimeoutMs: 5_000, emit: () => undefined };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const [mode, cacheDir, url, integrity, pkg] = process.argv.slice(2);
if (mode === 'child') {
  // One fresh process: the first lookup pays for loading cacache.
  const cpu = process.cpuUsage();
  let t = performance.now();
  const first = await findCached(cacheDir!, url!, integrity!);
  const firstMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const firstCpuMs = (used.user + used.system) / 1000;
  if (!first) throw new Error('no cache hit');
  const warm: number[] = [];
  for (let i = 0; i < 50; i++) {
    t = performance.now();
    await findCached(cacheDir!, url!, integrity!);
    warm.push(performance.now() - t);
  }
  t = performance.now();
  const placed = await placeArtifacts([{ name: 'blob', url: url!, integrity: integrity!, extract: false, stripComponents: 0, dest: 'lib/' }], pkg!, settings(cacheDir!));
  const placeMs = performance.now() - t;
  if (!placed[0]!.fromCache) throw new Error('placed without a cache hit');
  process.stdout.write(JSON.stringify({ firstMs, firstCpuMs, warmMs: median(warm), placeMs }));
} else {
  const runs = Number(process.argv[2] ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'aiop-cache-hit-'));
  try {
    const file = join(dir, 'artifact.bin');
    writeFileSync(file, Buffer.alloc(64 * 1024, 7));
    const url = pathToFileURL(file).href;
    const cache = join(dir, 'cache');
    const integrity = await sriOfFile(file, 'sha256');
    await fetchUrl(url, join(dir, 'first.bin'), settings(cache), integrity);
    const results: Array<{ firstMs: number; firstCpuMs: number; warmMs: number; placeMs: number }> = [];
    for (let i = 0; i < runs; i++) {
      const pkg = join(dir, `pkg-${i}`);
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child', cache, url, integrity, pkg], { encoding: 'utf8' });
      results.push(JSON.parse(out) as { firstMs: number; firstCpuMs: number; warmMs: number; placeMs: number });
    }
    const fmt = (n: number): string => n.toFixed(2);
    process.stdout.write(
      `cache hit, ${runs} processes (medians, ms): first lookup (loads cacache) ${fmt(median(results.map((r) => r.firstMs)))} ` +
        `(CPU ${fmt(median(results.map((r) => r.firstCpuMs)))}), ` +
        `lookup with cacache loaded ${fmt(median(results.map((r) => r.warmMs)))}, ` +
        `placeArtifacts of the cached 64 KiB artifact ${fmt(median(results.map((r) => r.placeMs)))}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
