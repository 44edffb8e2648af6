/**
 * Loading a playbook (inventory + recipe with its includes), with a cache that makes the common
 * case cheap: when no file read last time has changed, the validated result comes from
 * `.aiop/state/playbook-cache.json` without importing `yaml` or `zod` and without reading the
 * YAML files. Everything that needs those two lives in `load-fresh.ts`, imported on a miss only.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { stat, writeFile, link, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic, tempPathFor } from '../core/atomic.js';
import { isRacy, sameStamp, stampOf as stampOfStats, type Stamp } from '../store/stamp.js';
import type { InventoryConfig, PackagesConfig } from './schema.js';
import { ConfigError } from '../core/errors.js';
import { misnamedPlaybookFiles } from './find-root.js';
import { makeDirs } from '../core/make-dirs.js';

/** One target of the recipe, normalized. */
export interface RecipeTarget {
  name: string;
  virtual: boolean;
  sources: string[];
  depends: string[];
  commands: string[];
  /** Display path (relative to the playbook root) of the recipe file that defined it. */
  file: string;
}

/** The recipe with its includes merged. */
export interface Recipe {
  variables: Record<string, string>;
  default?: string;
  targets: Record<string, RecipeTarget>;
  /** Child recipe folders, absolute (resolved against the playbook root). */
  children: string[];
  /** Every recipe file read, absolute. */
  files: string[];
}

/** A loaded, validated playbook. */
export interface Playbook {
  root: string;
  inventory: InventoryConfig;
  recipe: Recipe;
}

/** Options of {@link loadPlaybook}. */
export interface LoadOptions {
  /** Default `.aiop/recipe.yml`; relative to the root; null = no recipe (`aap -f NONE`). */
  recipeFile?: string | null;
  /** `-I` folders searched for includes after the including file's own folder; relative to the root. */
  includeDirs?: string[];
}

/** Where the cache lives, relative to the playbook root. */
export const PLAYBOOK_CACHE = join('.aiop', 'state', 'playbook-cache.json');
/** Bump when the shape of {@link Playbook} or the loader's rules change, so old caches are ignored. */
const CACHE_FORMAT = 2;

/** Counters for tests and benchmarks: how loads were served. */
export const loadStats = { cacheHits: 0, cacheMisses: 0 };

/** The stamp of a file the playbook was read from (src/store/stamp.ts), with its path. */
export interface FileStamp extends Stamp {
  path: string;
}

interface CacheFile {
  format: number;
  key: string;
  writtenAt: number;
  files: FileStamp[];
  /** Paths probed and found missing (an include search, a missing default recipe): one appearing changes the result. */
  absent: string[];
  /** The playbook with `recipe.targets` left out: they are in `targets`, packed. */
  playbook: Playbook;
  targets: PackedTargets;
}

/**
 * Targets as one flat list of strings: per target its name, "1"/"0" for virtual, the index of its
 * file in `files`, then each of sources, depends and commands as a count followed by the items.
 * JSON.parse reads a flat list of strings several times faster than 10,000 small objects.
 */
interface PackedTargets {
  files: string[];
  flat: string[];
}

function packTargets(targets: Record<string, RecipeTarget>): PackedTargets {
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  const flat: string[] = [];
  for (const t of Object.values(targets)) {
    let index = fileIndex.get(t.file);
    if (index === undefined) {
      index = files.push(t.file) - 1;
      fileIndex.set(t.file, index);
    }
    flat.push(t.name, t.virtual ? '1' : '0', String(index));
    for (const list of [t.sources, t.depends, t.commands]) flat.push(String(list.length), ...list);
  }
  return { files, flat };
}

function unpackTargets(packed: PackedTargets): Record<string, RecipeTarget> {
  const { files, flat } = packed;
  const targets: Record<string, RecipeTarget> = {};
  let i = 0;
  const list = (): string[] => {
    const n = Number(flat[i++]);
    const items = flat.slice(i, i + n);
    i += n;
    return items;
  };
  while (i < flat.length) {
    const name = flat[i++]!;
    const virtual = flat[i++] === '1';
    const file = files[Number(flat[i++])]!;
    const sources = list();
    const depends = list();
    const commands = list();
    targets[name] = { name, virtual, sources, depends, commands, file };
  }
  return targets;
}

/** What a fresh load returns besides the playbook: what it depended on. */
export interface FreshLoad {
  playbook: Playbook;
  files: FileStamp[];
  absent: string[];
}

/** Stamp of a stat result. */
export function stampOf(path: string, s: Parameters<typeof stampOfStats>[0]): FileStamp {
  return { path, ...stampOfStats(s) };
}

async function stillAbsent(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

async function stillSame(stamp: FileStamp, writtenAt: number): Promise<boolean> {
  try {
    // A file changed within the racy window of the cache's writing is parsed again (src/store/stamp.ts).
    return sameStamp(stampOfStats(await stat(stamp.path)), stamp) && !isRacy(stamp, writtenAt);
  } catch {
    return false;
  }
}

async function readCache(cacheFile: string, key: string): Promise<Playbook | undefined> {
  let cache: CacheFile;
  try {
    // Sync: one read of a file that the process needs before anything else can happen.
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheFile;
  } catch {
    return undefined; // missing or corrupt: a miss
  }
  if (
    cache === null ||
    typeof cache !== 'object' ||
    cache.format !== CACHE_FORMAT ||
    cache.key !== key ||
    typeof cache.writtenAt !== 'number' ||
    !Array.isArray(cache.files) ||
    !Array.isArray(cache.absent) ||
    typeof cache.playbook !== 'object' ||
    cache.playbook === null ||
    typeof cache.playbook.recipe !== 'object' ||
    cache.playbook.recipe === null ||
    cache.targets === null ||
    typeof cache.targets !== 'object' ||
    !Array.isArray(cache.targets.files) ||
    !Array.isArray(cache.targets.flat)
  ) {
    return undefined;
  }
  const checks = await Promise.all([
    ...cache.files.map((f) => stillSame(f, cache.writtenAt)),
    ...cache.absent.map((p) => stillAbsent(p)),
  ]);
  if (!checks.every(Boolean)) return undefined;
  try {
    cache.playbook.recipe.targets = unpackTargets(cache.targets);
  } catch {
    return undefined;
  }
  return cache.playbook;
}

/** `scheme://user:secret@` anywhere in the playbook: a credential the user wrote in a URL. */
const CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@"]+@/i;

async function writeCache(cacheFile: string, key: string, fresh: FreshLoad): Promise<void> {
  const { targets, ...recipe } = fresh.playbook.recipe;
  // aiop's own folder reached through a link is refused by the build; the cache is not written there.
  if (lstatSync(dirname(cacheFile), { throwIfNoEntry: false })?.isSymbolicLink()) return;
  // Secrets never go to disk: a playbook with a credential in a URL is simply parsed every time.
  if (CREDENTIALS.test(JSON.stringify(fresh.playbook))) {
    await rm(cacheFile, { force: true });
    return;
  }
  const cache: CacheFile = {
    format: CACHE_FORMAT,
    key,
    writtenAt: Date.now(),
    files: fresh.files,
    absent: fresh.absent,
    playbook: { ...fresh.playbook, recipe: { ...recipe, targets: {} } },
    targets: packTargets(targets),
  };
  try {
    await writeFileAtomic(cacheFile, JSON.stringify(cache));
  } catch {
    // The cache only saves time; a read-only playbook still loads.
  }
}

/**
 * Loads inventory + recipe (with `include`, found beside the including file, then in
 * `includeDirs`; include cycles and a target defined twice are diagnostics naming both
 * places). Throws ConfigError with every problem found. The validated result is cached in
 * `.aiop/state/playbook-cache.json`, keyed by the path and stamp (src/store/stamp.ts) of every file
 * read; a hit neither imports `yaml`/`zod` nor reads the YAML files.
 */
export async function loadPlaybook(root: string, opts?: LoadOptions): Promise<Playbook> {
  const absRoot = resolve(root);
  const recipeFile =
    opts?.recipeFile === null ? null : opts?.recipeFile === undefined ? null : resolve(absRoot, opts.recipeFile);
  const useDefaultRecipe = opts?.recipeFile === undefined;
  const includeDirs = (opts?.includeDirs ?? []).map((d) => resolve(absRoot, d));
  // Checked before the cache: a misnamed recipe added since the last load is not an absent one.
  const misnamed = useDefaultRecipe ? await misnamedPlaybookFiles(absRoot, ['recipe.yml']) : [];
  if (misnamed.length > 0) throw new ConfigError(misnamed);
  const key = JSON.stringify({ root: absRoot, recipe: useDefaultRecipe ? 'default' : recipeFile, includeDirs });
  const cacheFile = join(absRoot, PLAYBOOK_CACHE);
  const cached = await readCache(cacheFile, key);
  if (cached !== undefined) {
    loadStats.cacheHits++;
    return cached;
  }
  loadStats.cacheMisses++;
  const { loadFresh } = await import('./load-fresh.js');
  const fresh = await loadFresh(absRoot, useDefaultRecipe ? 'default' : recipeFile, includeDirs);
  await writeCache(cacheFile, key, fresh);
  return fresh.playbook;
}

/**
 * One recipe file with its includes, not cached: for child recipes (`children:`), which `aap`
 * builds on its own. Paths in diagnostics are relative to `root`.
 */
export async function loadRecipeFile(root: string, file: string, opts?: { includeDirs?: string[] }): Promise<Recipe> {
  const absRoot = resolve(root);
  const { loadRecipe } = await import('./load-fresh.js');
  const includeDirs = (opts?.includeDirs ?? []).map((d) => resolve(absRoot, d));
  return loadRecipe(absRoot, resolve(absRoot, file), includeDirs, () => undefined, [], []);
}

/** `.aiop/packages.yml`, validated; undefined when the file does not exist. */
export async function loadPackages(root: string): Promise<PackagesConfig | undefined> {
  const absRoot = resolve(root);
  const file = join(absRoot, '.aiop', 'packages.yml');
  if (await stillAbsent(file)) {
    const misnamed = await misnamedPlaybookFiles(absRoot, ['packages.yml']);
    if (misnamed.length > 0) throw new ConfigError(misnamed);
    return undefined;
  }
  const [{ readYamlFile }, { packagesSchema }] = await Promise.all([import('./yaml-file.js'), import('./schema.js')]);
  return readYamlFile(file, packagesSchema, { displayRoot: absRoot });
}

/** What `.aiop/.gitignore` says: state and logs are local and safe to delete. */
export const AIOP_GITIGNORE = '# Written by aiop: local state and logs, safe to delete\nstate/\nlogs/\n';

/** Writes `.aiop/.gitignore` (state/ and logs/) when missing; never overwrites one. */
export async function ensureAiopGitignore(root: string): Promise<void> {
  const file = join(resolve(root), '.aiop', '.gitignore');
  await makeDirs(join(resolve(root), '.aiop'));
  const tmp = tempPathFor(file);
  try {
    await writeFile(tmp, AIOP_GITIGNORE);
    // link() is atomic and, unlike rename(), fails when the file exists: a user's own is kept.
    await link(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}
