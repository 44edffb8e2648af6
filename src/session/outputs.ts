/**
 * What happens after the recipe: the outputs beside the package folder (zip, .deb, .rpm,
 * manifest, SHA256SUMS), uploads and `--goto_pack`. Each finished output is announced
 * with an `output` event, which the machine-readable reporter turns into artifact lines.
 */
import { resolveSettings } from '../options/settings.js';
import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { join, relative } from 'node:path';
import { listTree } from '../core/list-tree.js';
import { log } from '../core/events.js';
import { VERSION } from '../core/version.js';
import { writeManifest } from '../pack/manifest.js';
import type { PackResult } from '../pack/outputs.js';
import { sourceDate } from '../pack/source-date.js';
import type { PackageBuildPlan } from './full-build.js';
import { isRacy, provesUnchanged, stampOf, type Stamp } from '../store/stamp.js';

export interface OutputStepsResult {
  files: Array<{ kind: 'folder' | 'zip' | 'deb' | 'rpm' | 'manifest'; path: string }>;
  uploads: Array<{ file: string; url: string }>;
  /** Every file and folder of the package folder, package-relative (one walk, shared with the no-op record). */
  entries: string[];
  /** The folders among them. */
  folders: string[];
}

/**
 * What the zip and .deb are made of: every entry's path and stamp (src/store/stamp.ts), and
 * the pack settings. Undefined when an entry's stamp is racy: it cannot prove the entry
 * unchanged later, so such a pack is never reused.
 */
function packKey(packageDir: string, files: string[], settings: unknown): string | undefined {
  const takenAt = Date.now();
  const hash = createHash('sha256').update(JSON.stringify(settings));
  for (const file of files) {
    // Synchronous: one stat per file of the package, each far shorter than a trip through the thread pool.
    const s = stampOf(lstatSync(join(packageDir, file)));
    if (isRacy(s, takenAt)) return undefined;
    hash.update(`\n${file}\0${s.size}\0${s.mode}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}`);
  }
  return hash.digest('hex');
}

interface PackRecord {
  key: string;
  packed: PackResult;
  /** The zip, .deb and .rpm as they were written, and when the record was. */
  stamps: Array<[string, Stamp]>;
  writtenAt: number;
}

/** The last pack's result when its key matches and its files are untouched. */
async function reusablePack(stateDir: string, key: string | undefined): Promise<PackResult | undefined> {
  if (key === undefined) return undefined;
  try {
    const record = JSON.parse(await readFile(join(stateDir, 'pack.json'), 'utf8')) as PackRecord;
    if (record.key !== key || typeof record.writtenAt !== 'number' || !Array.isArray(record.stamps)) return undefined;
    for (const [path, recorded] of record.stamps) {
      if (!provesUnchanged(recorded, stampOf(await stat(path)), record.writtenAt)) return undefined;
    }
    return record.packed;
  } catch {
    return undefined;
  }
}

async function recordPack(stateDir: string, key: string | undefined, packed: PackResult): Promise<void> {
  if (key === undefined) return;
  const stamps: Array<[string, Stamp]> = [];
  for (const path of [packed.zip, packed.deb, packed.rpm]) {
    if (path === undefined) continue;
    stamps.push([path, stampOf(await stat(path))]);
  }
  await writeFileAtomic(join(stateDir, 'pack.json'), JSON.stringify({ key, packed, stamps, writtenAt: Date.now() } satisfies PackRecord));
}

/** Packs, records, uploads and opens the finished package folder. */
export async function runOutputSteps(step: {
  plan: PackageBuildPlan;
  packageDir: string;
  outputDir: string;
  artifacts?: Array<{ name: string; url: string; integrity: string }>;
}): Promise<OutputStepsResult> {
  const { plan, packageDir, outputDir } = step;
  const { ctx, target, options } = plan;
  const pkg = target.id;
  const description = ctx.playbook.inventory.package.description.trim();
  const { files, folders, all } = await listTree(packageDir);
  ctx.emit({ type: 'output', pkg, kind: 'folder', id: packageDir, description, files: files.map((f) => join(packageDir, f)) });
  const result: OutputStepsResult = { files: [{ kind: 'folder', path: packageDir }], uploads: [], entries: all, folders };

  let packed: PackResult | undefined;
  if (options.zipPack || plan.deb || plan.rpm) {
    ctx.emit({ type: 'phase', phase: 'pack', pkg });
    const mtime = await sourceDate(ctx.playbook.root, ctx.env);
    const key = packKey(packageDir, files, { mtime: mtime.getTime(), zip: options.zipPack, deb: plan.deb ?? null, rpm: plan.rpm ?? null });
    packed = await reusablePack(plan.stateDir, key);
    if (packed) log(ctx.emit, 'DEBUG', 'pack', 'zip and installers are up to date (same package content)', pkg);
    else {
      // Imported only when packing: yazl and the .deb writer are not needed otherwise.
      const { packOutputs } = await import('../pack/outputs.js');
      packed = await packOutputs({ pkgDir: packageDir, packageId: pkg, mtime, zip: options.zipPack, ...(plan.deb ? { deb: plan.deb } : {}), ...(plan.rpm ? { rpm: plan.rpm } : {}), emit: ctx.emit });
      await recordPack(plan.stateDir, key, packed);
    }
    if (packed.zip) {
      result.files.push({ kind: 'zip', path: packed.zip });
      ctx.emit({ type: 'output', pkg, kind: 'zip', id: packed.zip, description: `zip of ${pkg}`, files: [packed.zip] });
    }
    if (packed.deb) {
      result.files.push({ kind: 'deb', path: packed.deb });
      ctx.emit({ type: 'output', pkg, kind: 'deb', id: packed.deb, description: `Debian package of ${pkg}`, files: [packed.deb] });
    }
    if (packed.rpm) {
      result.files.push({ kind: 'rpm', path: packed.rpm });
      ctx.emit({ type: 'output', pkg, kind: 'rpm', id: packed.rpm, description: `rpm package of ${pkg}`, files: [packed.rpm] });
    }
  }

  if (options.upload.length > 0 && options.uploadUrl) {
    ctx.emit({ type: 'phase', phase: 'upload', pkg });
    const kinds = options.upload.filter((k): k is 'zip' | 'deb' | 'rpm' => k === 'zip' || k === 'deb' || k === 'rpm');
    const { uploadOutputs } = await import('../publish/upload-outputs.js');
    result.uploads = await uploadOutputs(kinds, { ...(packed?.zip ? { zip: packed.zip } : {}), ...(packed?.deb ? { deb: packed.deb } : {}), ...(packed?.rpm ? { rpm: packed.rpm } : {}) }, options.uploadUrl, {
      retries: resolveSettings(options, ctx.userConfig).retries,
      emit: ctx.emit,
      pkg,
      ...(ctx.env ? { env: ctx.env } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      connectTimeoutMs: ctx.userConfig.connect_timeout * 1000,
      idleTimeoutMs: ctx.userConfig.idle_timeout * 1000,
    });
    for (const upload of result.uploads) {
      ctx.emit({ type: 'output', pkg, kind: 'upload', id: upload.url, description: `${upload.file} uploaded`, files: [upload.file] });
    }
  }

  const manifest = join(outputDir, `${pkg}.manifest.json`);
  await writeManifest(manifest, {
    packageId: pkg,
    systemTarget: target.systemTarget,
    compat: Object.fromEntries(target.values),
    version: ctx.playbook.inventory.package.version,
    tool: { name: 'aiop', version: VERSION },
    outputs: packed?.outputs ?? [{ kind: 'folder', path: relative(outputDir, packageDir) }],
    artifacts: step.artifacts ?? [],
    uploads: result.uploads.map((u) => ({ file: relative(outputDir, u.file) || u.file, url: u.url })),
  });
  result.files.push({ kind: 'manifest', path: manifest });

  if (options.gotoPack) {
    const { gotoPack } = await import('../publish/goto-pack.js');
    const opened = await gotoPack(packageDir, ctx.env);
    if (!opened.opened) log(ctx.emit, 'WARNING', 'build', `cannot open a file manager (${opened.reason ?? 'no desktop'}); the package is in ${packageDir}`, pkg);
    else log(ctx.emit, 'INFO', 'build', `opened ${packageDir}`, pkg);
  }
  return result;
}
