/**
 * The differential rig: one playbook built incrementally, step after step, and beside it a
 * clean copy of the same sources built from nothing with the same command line and the same
 * SOURCE_DATE_EPOCH. Whatever the incremental build leaves in the package folder, the zip and
 * the .deb must be, byte for byte and mode for mode, what the clean build gives.
 *
 * The playbook is described by a Model (variables, sources, targets, artifacts, .deb fields,
 * destination), rendered to files; only files whose content or mode changed are written, so
 * that a step that changes nothing reaches the no-op path.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { aap, aiop, isolatedEnv, type RunResult } from '../util/run.js';
import { snapshot } from '../util/playbook.js';

const run = promisify(execFile);

export const PKG = 'demo-1.0.0-linux-debian12-amd64';
export const DEB = 'demo_1.0.0_amd64.deb';
/** Where `--destination_path` puts the package in the "alt" destination (relative to the root). */
export const ALT = 'out/pkg';
/** The time every write of files/a.in is given back, so only its content and ctime change. */
export const OLD_TIME = new Date('2020-01-02T03:04:05Z');

export interface Extra {
  name: string;
  word: string;
  /** Listed in the package's depends (else defined but not built). */
  inDepends: boolean;
}

export interface Artifact {
  name: string;
  /** A .tar.gz extracted into share/<name>/, else one file placed at share/<name>.txt. */
  archive: boolean;
  /** The archive's files (name -> content), or for a plain file its content under "". */
  files: Record<string, string>;
}

export interface Model {
  vars: { GREETING: string; WORD: string; SLOW: string };
  /** files/b.in, edited the ordinary way. */
  b: string;
  /** files/a.in is always 8 bytes and keeps OLD_TIME as its mtime: only its content changes. */
  a: string;
  /** files/tool.sh executable (it is copied with :copy). */
  toolExec: boolean;
  /** A word in the command of the target defined in the included .aiop/inc.yml. */
  incWord: string;
  deb: { section: string; depends: string[] };
  extras: Extra[];
  artifacts: Artifact[];
  /** Built with --destination_path out/pkg. */
  alt: boolean;
  /** The files of files/assets/, a folder that is a source (path under it -> content). */
  assets: Record<string, string>;
}

export function initialModel(): Model {
  return {
    vars: { GREETING: 'Hello', WORD: 'one', SLOW: 's0' },
    b: 'b0\n',
    a: 'aaaa-00\n',
    toolExec: true,
    incWord: 'inc0',
    deb: { section: 'utils', depends: [] },
    extras: [{ name: 'x0', word: 'w0', inDepends: true }],
    artifacts: [],
    alt: false,
    assets: { 'a.txt': 'asset a\n', 'sub/b.txt': 'asset b\n' },
  };
}

export function cloneModel(model: Model): Model {
  return JSON.parse(JSON.stringify(model)) as Model;
}

const FIXED_TARGETS = ['a.txt', 'b.txt', 'readme.txt', 'word.txt', 'bin/tool', 'slow.txt', 'inc.txt', 'site', 'site.txt'];

/** The package files that recipe targets make (artifacts are placed, not made). */
export function targetFiles(model: Model): Set<string> {
  return new Set([...FIXED_TARGETS, ...model.extras.map((e) => `extra/${e.name}.txt`)]);
}

/**
 * A command that writes half its output, then dies by SIGKILL when DIFF_KILL is set, or
 * creates the file DIFF_WAIT names and waits (for the test to interrupt the build).
 */
const SLOW_SH = `#!/bin/sh
printf 'half of %s\\n' "$2" > "$1"
if [ -n "$DIFF_KILL" ]; then kill -KILL $$; fi
if [ -n "$DIFF_WAIT" ]; then : > "$DIFF_WAIT"; sleep 30; fi
printf 'all of %s\\n' "$2" >> "$1"
`;

/** The files of the playbook: path -> [content, mode]. Artifacts are written into `arts`. */
export async function render(model: Model, arts: string): Promise<Map<string, [string, number]>> {
  const files = new Map<string, [string, number]>();
  const artifactLines: string[] = [];
  for (const artifact of model.artifacts) {
    const { url, sha256 } = await artifactFile(arts, artifact);
    artifactLines.push(`      - name: ${artifact.name}`, `        url: ${url}`, `        sha256: ${sha256}`);
    if (artifact.archive) artifactLines.push('        extract: true', `        dest: share/${artifact.name}/`);
    else artifactLines.push(`        dest: share/${artifact.name}.txt`);
  }
  const inventory = [
    'package:',
    '  name: demo',
    '  version: 1.0.0',
    '  maintainer: Demo Team <demo@example.com>',
    '  description: |',
    '    Demo package.',
    '    Built by the differential test.',
    'system_targets:',
    '  linux:',
    '    compatibility:',
    '      - { name: distro, choices: [debian12, ubuntu22.04] }',
    '      - { name: arch, choices: [amd64, arm64] }',
    ...(artifactLines.length > 0 ? ['    artifacts:', ...artifactLines] : []),
    '    deb:',
    '      architecture: ${arch}',
    `      section: ${model.deb.section}`,
    ...(model.deb.depends.length > 0 ? [`      depends: [${model.deb.depends.join(', ')}]`] : []),
    '',
  ].join('\n');
  files.set('.aiop/inventory_config.yml', [inventory, 0o644]);
  const extras = model.extras.map((e) => `extra/${e.name}.txt`);
  const depends = [...FIXED_TARGETS, ...model.extras.filter((e) => e.inDepends).map((e) => `extra/${e.name}.txt`)];
  const recipe = [
    `variables: { GREETING: ${model.vars.GREETING}, WORD: ${model.vars.WORD}, SLOW: ${model.vars.SLOW} }`,
    'include: [inc.yml]',
    'default: all',
    'targets:',
    `  all: { virtual: true, depends: [${depends.join(', ')}] }`,
    '  a.txt: { sources: [files/a.in], commands: [":copy $source $target"] }',
    '  b.txt: { sources: [files/b.in], commands: ["cat $source > $target"] }',
    '  readme.txt: { sources: [files/readme.in], commands: [":template $source $target"] }',
    '  word.txt: { commands: ["echo $WORD > $target"] }',
    '  bin/tool: { sources: [files/tool.sh], commands: [":copy $source $target"] }',
    '  slow.txt: { sources: [files/slow.sh], commands: ["sh $source $target $SLOW"] }',
    // A folder as a source, copied into a folder output that another target reads.
    '  site: { sources: [files/assets], commands: [":copy $source $target"] }',
    '  site.txt: { depends: [site], commands: ["cd $PKGDIR/site && find . -type f | LC_ALL=C sort | xargs -r head -n 100 > $target"] }',
    ...model.extras.map((e, i) => `  ${extras[i]}: { commands: ["echo ${e.word} > $target"] }`),
    '',
  ].join('\n');
  files.set('.aiop/recipe.yml', [recipe, 0o644]);
  files.set('.aiop/inc.yml', [`targets:\n  inc.txt: { sources: [files/inc.in], commands: ["cat $source > $target", "echo ${model.incWord} >> $target"] }\n`, 0o644]);
  files.set('files/a.in', [model.a, 0o644]);
  files.set('files/b.in', [model.b, 0o644]);
  files.set('files/readme.in', ['$GREETING from $name on $arch\n', 0o644]);
  files.set('files/tool.sh', ['#!/bin/sh\necho tool\n', model.toolExec ? 0o755 : 0o644]);
  files.set('files/slow.sh', [SLOW_SH, 0o644]);
  files.set('files/inc.in', ['included\n', 0o644]);
  for (const [name, content] of Object.entries(model.assets)) files.set(`files/assets/${name}`, [content, 0o644]);
  return files;
}

/** The artifact's file under `arts`, named by its content so a changed artifact has a new URL. */
async function artifactFile(arts: string, artifact: Artifact): Promise<{ url: string; sha256: string }> {
  const id = createHash('sha256').update(JSON.stringify(artifact)).digest('hex').slice(0, 16);
  await mkdir(arts, { recursive: true });
  let file: string;
  if (artifact.archive) {
    file = join(arts, `${artifact.name}-${id}.tar.gz`);
    const tree = join(arts, `${artifact.name}-${id}.d`);
    if (!(await exists(file))) {
      await rm(tree, { recursive: true, force: true });
      for (const [name, content] of Object.entries(artifact.files)) {
        await mkdir(dirname(join(tree, name)), { recursive: true });
        await writeFile(join(tree, name), content);
      }
      await run('tar', ['-czf', file, '-C', tree, '.']);
    }
  } else {
    file = join(arts, `${artifact.name}-${id}.txt`);
    await writeFile(file, artifact.files[''] ?? '');
  }
  return { url: `file://${file}`, sha256: createHash('sha256').update(await readFile(file)).digest('hex') };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes the model into `root`, touching only the files whose content or mode changed. */
export async function writeModel(root: string, model: Model, arts: string): Promise<void> {
  for (const [path, [content, mode]] of await render(model, arts)) {
    const file = join(root, path);
    const old = await readFile(file, 'utf8').catch(() => undefined);
    const oldMode = await stat(file).then(
      (s) => s.mode & 0o777,
      () => undefined,
    );
    if (old !== content) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    if (oldMode !== mode) await chmod(file, mode);
    // Only when needed: utimes changes the ctime too, and an unchanged playbook must stay unchanged.
    if (path === 'files/a.in' && (await stat(file)).mtimeMs !== OLD_TIME.getTime()) await utimes(file, OLD_TIME, OLD_TIME);
  }
  // The source folder is there even when every file of it was removed.
  await mkdir(join(root, 'files/assets'), { recursive: true });
}

/** The `aiop build` arguments of a step. */
export function buildArgs(model: Model, options: { pack: boolean; jobs?: number }): string[] {
  return [
    'build',
    'linux',
    'debian12',
    'amd64',
    ...(options.pack ? ['--zip_pack', '--installer', 'deb'] : []),
    ...(model.alt ? ['--destination_path', ALT] : []),
    ...(options.jobs !== undefined ? ['-j', String(options.jobs)] : []),
  ];
}

/** The package folder and the folder of the zip and .deb of a build into `root`. */
export function destinations(root: string, model: Model): { folder: string; outputs: string } {
  const folder = join(root, model.alt ? ALT : `.build/${PKG}`);
  return { folder, outputs: dirname(folder) };
}

/** What a build left: the package folder's snapshot, and the zip and .deb bytes when packed. */
export interface Built {
  folder: Record<string, string>;
  zip?: Buffer;
  deb?: Buffer;
}

export async function collect(root: string, model: Model, pack: boolean): Promise<Built> {
  const { folder, outputs } = destinations(root, model);
  const built: Built = { folder: await snapshot(folder) };
  if (pack) {
    built.zip = await readFile(join(outputs, `${PKG}.zip`));
    built.deb = await readFile(join(outputs, DEB));
  }
  return built;
}

/** Which way the last build went, read from its log file (written at DEBUG by default). */
export type PathTaken = 'noop' | 'delta' | 'full';

export async function lastLog(root: string): Promise<string> {
  const dir = join(root, '.aiop/logs');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.log')).sort();
  const last = names.at(-1);
  return last === undefined ? '' : readFile(join(dir, last), 'utf8');
}

export function pathOf(log: string): PathTaken {
  if (/no-op fast path/.test(log)) return 'noop';
  if (/incremental fast path/.test(log)) return 'delta';
  return 'full';
}

/** The environment of every build: isolated from the user, one fixed source date. */
export function buildEnv(dir: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...isolatedEnv(dir), SOURCE_DATE_EPOCH: '1700000000', DIFF_KILL: undefined, DIFF_WAIT: undefined, ...extra };
}

/** Builds the model from nothing in a fresh copy under `dir` (removed first). */
export async function cleanBuild(dir: string, arts: string, model: Model, args: string[], pack: boolean): Promise<Built> {
  await rm(dir, { recursive: true, force: true });
  const root = join(dir, 'pb');
  await mkdir(root, { recursive: true });
  await writeModel(root, model, arts);
  const result = await aiop(args, { cwd: root, env: buildEnv(dir) });
  if (result.code !== 0) throw new Error(`the clean build failed (${result.code}): aiop ${args.join(' ')}\n${result.stderr}`);
  return collect(root, model, pack);
}

/** Files added or whose content or mode changed between two snapshots (not those removed). */
export function changedFiles(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys(after).filter((path) => after[path] !== 'dir' && before[path] !== after[path]);
}

/**
 * The report must not call a target up to date when its output changed: not in the summary
 * ("everything was up to date") and not in the per-target lines of the log.
 */
export function upToDateClaims(result: RunResult, log: string, changed: string[]): string[] {
  const wrong: string[] = [];
  if (changed.length > 0 && /everything was up to date/.test(result.stderr + log)) wrong.push(`"everything was up to date" while ${changed.join(', ')} changed`);
  for (const path of changed) {
    if (log.includes(`] ${path} is up to date`)) wrong.push(`${path} reported up to date but it changed`);
  }
  return wrong;
}

/** Runs `aap ARGS` in `root`. */
export function runAap(root: string, dir: string, args: string[]): Promise<RunResult> {
  return aap(args, { cwd: root, env: buildEnv(dir) });
}


/** One step of a sequence: an edit, then a build. */
export interface Step {
  edit: Edit;
  /** Also make the zip and the .deb. */
  pack: boolean;
  /** Build a second time without any change (the no-op path). */
  again: boolean;
}


/** The edits a step makes to the playbook (the differential test draws them at random). */
export type Edit =
  | { kind: 'word'; value: string }
  | { kind: 'b'; text: string }
  | { kind: 'include'; word: string }
  | { kind: 'deb'; section: string; depends: string[] }
  | { kind: 'addTarget'; word: string }
  | { kind: 'addArtifact'; archive: boolean; files: string[] }
  | { kind: 'nothing' }
  | { kind: 'option' }
  | { kind: 'greeting'; value: string }
  | { kind: 'removeTarget'; i: number }
  | { kind: 'renameTarget'; i: number }
  | { kind: 'toggleDepend'; i: number }
  | { kind: 'removeArtifact'; i: number }
  | { kind: 'changeArtifact'; i: number; files: string[] }
  | { kind: 'chmod' }
  | { kind: 'sameSize'; n: number }
  | { kind: 'destination' }
  | { kind: 'stray'; name: string }
  | { kind: 'interrupt' }
  | { kind: 'damageState'; remove: boolean; i: number }
  /** A file of the source folder files/assets/: edited in place (size and mtime kept), added in a subfolder, or removed. */
  | { kind: 'asset'; op: 'edit' | 'add' | 'remove'; n: number };

/** One playbook built step by step, and what each build went through. */
export class Rig {
  readonly root: string;
  readonly arts: string;
  model = initialModel();
  private names = 0;
  private artifacts = 0;
  private options = 0;
  /** How many builds took each path. */
  readonly paths: Record<PathTaken, number>;
  /** The last incremental build's result and log. */
  last: { result: RunResult; log: string } | undefined;

  constructor(
    readonly dir: string,
    paths: Record<PathTaken, number> = { noop: 0, delta: 0, full: 0 },
  ) {
    this.root = join(dir, 'inc/pb');
    this.arts = join(dir, 'arts');
    this.paths = paths;
  }

  /** Writes the model's files (those that changed). */
  write(): Promise<void> {
    return writeModel(this.root, this.model, this.arts);
  }

  /**
   * Builds here and, at the same time, from nothing in a fresh copy with the same command line;
   * fails unless the package folder, the zip and the .deb are the same. Returns both.
   */
  async check(pack: boolean, where: string): Promise<{ built: Built; clean: Built }> {
    const model = cloneModel(this.model);
    const args = this.args(pack);
    const [built, clean] = await Promise.all([this.build(pack, where), cleanBuild(join(this.dir, 'clean'), this.arts, model, args, pack)]);
    same(built, clean, where);
    return { built, clean };
  }

  /** Applies an edit to the model and the playbook; returns the build's environment additions. */
  async edit(edit: Edit): Promise<{ kill?: boolean }> {
    const m = this.model;
    const pick = <T>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);
    switch (edit.kind) {
      case 'word':
        m.vars.WORD = edit.value;
        break;
      case 'greeting':
        m.vars.GREETING = edit.value;
        break;
      case 'b':
        m.b = edit.text;
        break;
      case 'include':
        m.incWord = edit.word;
        break;
      case 'deb':
        m.deb = { section: edit.section, depends: edit.depends };
        break;
      case 'addTarget':
        m.extras.push({ name: `n${++this.names}`, word: edit.word, inDepends: true });
        break;
      case 'removeTarget': {
        const extra = pick(m.extras, edit.i);
        if (extra) m.extras.splice(m.extras.indexOf(extra), 1);
        break;
      }
      case 'renameTarget': {
        const extra = pick(m.extras, edit.i);
        if (extra) extra.name = `n${++this.names}`;
        break;
      }
      case 'toggleDepend': {
        const extra = pick(m.extras, edit.i);
        if (extra) extra.inDepends = !extra.inDepends;
        break;
      }
      case 'addArtifact':
        m.artifacts.push({ name: `art${++this.artifacts}`, archive: edit.archive, files: contents(edit.archive, edit.files, this.artifacts) });
        break;
      case 'removeArtifact': {
        const artifact = pick(m.artifacts, edit.i);
        if (artifact) m.artifacts.splice(m.artifacts.indexOf(artifact), 1);
        break;
      }
      case 'changeArtifact': {
        const artifact = pick(m.artifacts, edit.i);
        if (artifact) artifact.files = contents(artifact.archive, edit.files, ++this.artifacts);
        break;
      }
      case 'chmod':
        m.toolExec = !m.toolExec;
        break;
      case 'sameSize':
        m.a = `aaaa-${String(edit.n).padStart(2, '0')}\n`;
        break;
      case 'destination':
        m.alt = !m.alt;
        break;
      case 'interrupt':
        m.vars.SLOW = `s${++this.names}`;
        await writeModel(this.root, m, this.arts);
        return { kill: true };
      case 'option':
        this.options++;
        break;
      case 'stray': {
        // Into a package folder aiop made (a folder of the user's own outside .build/ is refused, rightly).
        const folder = destinations(this.root, m).folder;
        if (!(await exists(folder))) break;
        await mkdir(join(folder, edit.name, '..'), { recursive: true });
        await writeFile(join(folder, edit.name), 'not made by any target\n');
        break;
      }
      case 'damageState': {
        const files = await listFiles(join(this.root, '.aiop/state'));
        const file = pick(files, edit.i);
        if (file && edit.remove) await rm(file, { force: true });
        else if (file) await truncate(file, Math.floor((await stat(file)).size / 2));
        break;
      }
      case 'asset': {
        const name = pick(Object.keys(m.assets).sort(), edit.n);
        if (edit.op === 'add') m.assets[`sub/new${++this.names}.txt`] = `new asset ${edit.n}\n`;
        else if (edit.op === 'remove' && name !== undefined) {
          delete m.assets[name];
          const assets = join(this.root, 'files/assets');
          await rm(join(assets, name));
          // As `git rm` does: a folder left empty goes too, so the tree is the model's (a clean copy
          // is written from the model, and an empty folder in a source folder is copied as one).
          for (let dir = dirname(join(assets, name)); dir !== assets; dir = dirname(dir)) {
            if ((await readdir(dir)).length > 0) break;
            await rm(dir, { recursive: true });
          }
        } else if (edit.op === 'edit' && name !== undefined) {
          // The same size and modification time: only the content (and the ctime) differ.
          const file = join(this.root, 'files/assets', name);
          const old = m.assets[name]!;
          const text = `${String(edit.n % 10).repeat(Math.max(0, old.length - 1))}\n`.slice(-old.length);
          if (text === old) break;
          const { mtime } = await stat(file);
          m.assets[name] = text;
          await writeFile(file, text);
          await utimes(file, mtime, mtime);
        }
        break;
      }
      case 'nothing':
        break;
    }
    await writeModel(this.root, m, this.arts);
    return {};
  }

  args(pack: boolean): string[] {
    // An option that changes nothing in the package but the command line: a full build.
    return buildArgs(this.model, { pack, ...(this.options % 2 === 1 ? { jobs: 1 } : {}) });
  }

  /** Builds, checks the report against what changed in the folder, and returns what it made. */
  async build(pack: boolean, where: string): Promise<Built> {
    const { folder } = destinations(this.root, this.model);
    const before = await snapshot(folder).catch(() => ({}));
    const args = this.args(pack);
    const result = await aiop(args, { cwd: this.root, env: buildEnv(join(this.dir, 'inc')) });
    assert.equal(result.code, 0, `${where}: aiop ${args.join(' ')} failed\n${result.stderr}`);
    const log = await lastLog(this.root);
    this.last = { result, log };
    this.paths[pathOf(log)]++;
    const built = await collect(this.root, this.model, pack);
    const wrong = upToDateClaims(result, log, changedFiles(before, built.folder).filter((path) => targetFiles(this.model).has(path)));
    assert.deepEqual(wrong, [], `${where}: the report calls changed output up to date (${pathOf(log)} path)\n${result.stderr}`);
    return built;
  }

  /** The build that a killed command makes fail: it must leave none of that target's output. */
  async killedBuild(pack: boolean, where: string): Promise<void> {
    const args = this.args(pack);
    const result = await aiop(args, { cwd: this.root, env: buildEnv(join(this.dir, 'inc'), { DIFF_KILL: '1' }) });
    assert.equal(result.code, 1, `${where}: a killed command fails the build\n${result.stderr}`);
    const slow = join(destinations(this.root, this.model).folder, 'slow.txt');
    const left = await readFile(slow, 'utf8').catch(() => undefined);
    assert.equal(left, undefined, `${where}: the killed command's half output is left behind in the package folder`);
  }
}


async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(d, entry.name));
      else out.push(join(d, entry.name));
    }
  };
  await walk(dir);
  return out.sort();
}

export function same(incremental: Built, clean: Built, where: string): void {
  assert.deepEqual(incremental.folder, clean.folder, `${where}: the package folder differs from a clean build's`);
  assert.ok(incremental.zip === undefined || clean.zip?.equals(incremental.zip), `${where}: the zip differs from a clean build's`);
  assert.ok(incremental.deb === undefined || clean.deb?.equals(incremental.deb), `${where}: the .deb differs from a clean build's`);
}

function contents(archive: boolean, files: string[], n: number): Record<string, string> {
  if (!archive) return { '': `artifact ${n}: ${files.join(' ')}\n` };
  return Object.fromEntries(files.map((file) => [file, `${file} of archive ${n}\n`]));
}


/**
 * Runs `aap ARGS` in the rig's playbook and in a fresh copy of the same sources, and fails
 * unless `.build/aap` is the same in both, and unless aap's report calls nothing up to date
 * when a file changed. Returns the incremental run's console text.
 */
export async function aapCheck(rig: Rig, args: string[], where: string): Promise<string> {
  const folder = join(rig.root, '.build/aap');
  const before = await snapshot(folder).catch(() => ({}));
  const cleanDir = join(rig.dir, 'clean-aap');
  await rm(cleanDir, { recursive: true, force: true });
  const cleanRoot = join(cleanDir, 'pb');
  await mkdir(cleanRoot, { recursive: true });
  await writeModel(cleanRoot, rig.model, rig.arts);
  const [result, clean] = await Promise.all([runAap(rig.root, join(rig.dir, 'inc'), args), runAap(cleanRoot, cleanDir, args)]);
  assert.equal(clean.code, 0, `${where}: the clean aap ${args.join(' ')} failed\n${clean.stderr}`);
  assert.equal(result.code, 0, `${where}: aap ${args.join(' ')} failed\n${result.stderr}`);
  const after = await snapshot(folder);
  assert.deepEqual(after, await snapshot(join(cleanRoot, '.build/aap')), `${where}: .build/aap differs from a clean aap run's`);
  const changed = changedFiles(before, after);
  const text = result.stdout + result.stderr;
  assert.ok(changed.length === 0 || !/everything is up to date/.test(text), `${where}: aap says everything is up to date while ${changed.join(', ')} changed\n${text}`);
  return text;
}
