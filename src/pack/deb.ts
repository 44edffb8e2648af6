/**
 * A native Debian binary package writer (SPEC 3, --installer deb): no dpkg-deb at run time.
 * Layout (deb(5)): ar archive of `debian-binary`, `control.tar.gz`, `data.tar[.gz|.xz|.zst]`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { posix, isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeAssembled } from './assemble.js';
import { COMPRESSIONS, compressChunks, compressionSuffix, type Compression } from './compress.js';
import { checkDebRelations, DEB_RELATIONS, type DebRelations } from './deb-relations.js';
import { AiopError } from '../core/errors.js';
import { AR_MAGIC, arMemberHeader, arPadding } from './ar.js';
import { tarChunks, type TarEntry } from './tar.js';
import { compareBytes } from '../core/list-tree.js';
import { normalMode, walkTree, type TreeEntry } from './walk.js';

/** Everything the control file and the data layout need; from the playbook's `package` and `deb` sections. */
export interface DebInfo {
  name: string;
  version: string;
  maintainer: string;
  /** First line: the summary; further lines: the long description. */
  description: string;
  homepage?: string;
  architecture: string;
  /** Where the package folder's content lands on the target system, e.g. `/usr`. */
  installPrefix: string;
  /** Package-relative folders placed elsewhere, e.g. `{ 'etc/': '/etc/' }`. */
  installMap?: Record<string, string>;
  /** Relation fields by their playbook names (`pre_depends`, `depends`, ...), one relation per item. */
  relations?: DebRelations;
  section?: string;
  priority?: string;
  /** Package-relative paths of configuration files; each must land under /etc. */
  conffiles?: string[];
  /** Absolute paths of maintainer script files. */
  scripts?: Partial<Record<MaintainerScript, string>>;
  compression: Compression;
}

/** The maintainer scripts dpkg runs. */
export type MaintainerScript = 'preinst' | 'postinst' | 'prerm' | 'postrm';
const SCRIPT_NAMES: readonly MaintainerScript[] = ['preinst', 'postinst', 'prerm', 'postrm'];

const NAME_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
const MAINTAINER_RE = /^[^<>\n]*[^<>\s][^<>\n]* <[^<>\s@]+@[^<>\s@]+>$/;
const SECTION_RE = /^[a-z0-9][a-z0-9+./-]*$/;
const PRIORITIES = ['required', 'important', 'standard', 'optional', 'extra'];

/** Problems with a Debian version string (policy 5.6.12), or undefined when valid. */
export function checkDebVersion(version: string): string | undefined {
  let rest = version;
  const epoch = /^(\d+):(.*)$/.exec(version);
  if (epoch) rest = epoch[2]!;
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (!/^[0-9]/.test(upstream)) return `version "${version}" must start with a digit (after any epoch)`;
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(upstream)) return `version "${version}" has characters Debian does not allow (use A-Z a-z 0-9 . + ~ -)`;
  if (revision !== undefined && !/^[A-Za-z0-9.+~]+$/.test(revision)) return `version "${version}" has an invalid Debian revision after the last "-"`;
  return undefined;
}

function normalInstallMap(info: DebInfo): Array<[string, string]> {
  return Object.entries(info.installMap ?? {})
    .map(([from, to]): [string, string] => [from.replace(/\/+$/, ''), to === '/' ? '' : to.replace(/\/+$/, '')])
    .sort((a, b) => b[0].length - a[0].length);
}

function isCleanRelative(p: string): boolean {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed !== '' && !p.startsWith('/') && !trimmed.split('/').some((s) => s === '..' || s === '.' || s === '') && !/[\n\r]/.test(p);
}

function isCleanAbsolute(p: string): boolean {
  if (!p.startsWith('/') || /[\n\r\\]/.test(p)) return false;
  const trimmed = p.length > 1 ? p.replace(/\/+$/, '') : p;
  return posix.normalize(trimmed) === trimmed && !trimmed.split('/').includes('..');
}

/** Where a package-relative path lands on the target system (absolute, no trailing slash; '' is the root). */
export function installPathFor(relative: string, info: DebInfo): string {
  for (const [from, to] of normalInstallMap(info)) {
    if (relative === from || relative.startsWith(`${from}/`)) return to + relative.slice(from.length);
  }
  const prefix = info.installPrefix === '/' ? '' : info.installPrefix.replace(/\/+$/, '');
  return `${prefix}/${relative}`;
}

/** Problems with names, version, architecture, conffiles (must land under /etc), install paths; empty when fine. */
export function checkDebInfo(info: DebInfo): string[] {
  const problems: string[] = [];
  if (!NAME_RE.test(info.name)) {
    problems.push(`package name "${info.name}" is not a valid Debian name (lowercase letters, digits, + - ., at least 2 characters, starting with a letter or digit)`);
  }
  const versionProblem = checkDebVersion(info.version);
  if (versionProblem) problems.push(versionProblem);
  if (!ARCH_RE.test(info.architecture) || info.architecture === 'any' || info.architecture === 'source') {
    problems.push(`architecture "${info.architecture}" is not a Debian architecture (for example amd64, arm64, all)`);
  }
  if (!MAINTAINER_RE.test(info.maintainer)) problems.push(`maintainer "${info.maintainer}" must look like "Full Name <address@example.com>"`);
  const summary = info.description.split('\n')[0]?.trim() ?? '';
  if (summary === '') problems.push('description must start with a one-line summary');
  if (info.homepage !== undefined && !/^https?:\/\/[^\s]+$/.test(info.homepage)) problems.push(`homepage "${info.homepage}" must be an http(s) URL`);
  problems.push(...checkDebRelations(info.relations ?? {}));
  if (info.section !== undefined && !SECTION_RE.test(info.section)) problems.push(`section "${info.section}" is not a Debian section name`);
  if (info.priority !== undefined && !PRIORITIES.includes(info.priority)) {
    problems.push(`priority "${info.priority}" is not one of ${PRIORITIES.join(', ')}`);
  }
  if (!isCleanAbsolute(info.installPrefix)) problems.push(`install prefix "${info.installPrefix}" must be an absolute path without ".." or "//"`);
  for (const [from, to] of Object.entries(info.installMap ?? {})) {
    if (!isCleanRelative(from)) problems.push(`install_map key "${from}" must be a package-relative folder without ".."`);
    if (!isCleanAbsolute(to)) problems.push(`install_map target "${to}" must be an absolute path without ".."`);
  }
  for (const conffile of info.conffiles ?? []) {
    if (!isCleanRelative(conffile)) {
      problems.push(`conffile "${conffile}" must be a package-relative path without ".."`);
      continue;
    }
    const target = installPathFor(conffile, info);
    if (!target.startsWith('/etc/')) problems.push(`conffile "${conffile}" would be installed as ${target}; conffiles must land under /etc (use install_map)`);
  }
  for (const [key, file] of Object.entries(info.scripts ?? {})) {
    if (!SCRIPT_NAMES.includes(key as MaintainerScript)) problems.push(`unknown maintainer script "${key}" (valid: ${SCRIPT_NAMES.join(', ')})`);
    if (typeof file !== 'string' || !isAbsolute(file)) problems.push(`maintainer script ${key} must be given as an absolute file path`);
  }
  if (!COMPRESSIONS.includes(info.compression)) problems.push(`compression "${String(info.compression)}" must be one of ${COMPRESSIONS.join(', ')}`);
  return problems;
}

/**
 * What a user should know about a data.tar compression that dpkg reads but Debian's archive
 * and lintian refuse (deb(5) allows all four; lintian 2.116 of Debian 12 reports an error for
 * zstd and none); undefined for gzip and xz. `validate` and the build show it as a warning.
 */
export function debCompressionWarning(compression: Compression): string | undefined {
  if (compression === 'zstd') {
    return 'compression zstd: dpkg 1.21.18 and later read it (Debian 12, Ubuntu), but older dpkg cannot, lintian reports "E: malformed-deb-archive" and the Debian archive takes only gzip and xz; use gzip or xz for packages that go there';
  }
  if (compression === 'none') {
    return 'compression none: every dpkg reads it, but lintian reports "E: uses-no-compression-for-data-tarball"; use gzip or xz unless the data does not compress';
  }
  return undefined;
}

/** Default file name: <name>_<version>_<architecture>.deb (the epoch is left out, as dpkg-name does). */
export function debFileName(info: DebInfo): string {
  return `${info.name}_${info.version.replace(/^\d+:/, '')}_${info.architecture}.deb`;
}

/** The Description field: summary, then the long part with each line indented and empty lines as ` .`. */
export function formatDescription(description: string): string {
  const lines = description.replace(/\r\n?/g, '\n').split('\n');
  const summary = (lines.shift() ?? '').trim();
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return [summary, ...lines.map((l) => (l.trim() === '' ? ' .' : ` ${l.trimEnd()}`))].join('\n');
}

/** The control file text (fields in dpkg's usual order). */
export function controlText(info: DebInfo, installedSizeKiB: number): string {
  const fields: Array<[string, string | undefined]> = [
    ['Package', info.name],
    ['Version', info.version],
    ['Architecture', info.architecture],
    ['Maintainer', info.maintainer],
    ['Installed-Size', String(installedSizeKiB)],
    ...DEB_RELATIONS.map(([key, field]): [string, string | undefined] => {
      const list = info.relations?.[key];
      return [field, list && list.length > 0 ? list.join(', ') : undefined];
    }),
    ['Section', info.section],
    ['Priority', info.priority],
    ['Homepage', info.homepage],
    ['Description', formatDescription(info.description)],
  ];
  return fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}

/** One object of the data archive, keyed by its absolute install path. */
type Planned =
  | { kind: 'dir' }
  | { kind: 'file'; source: string; size: number; executable: boolean }
  | { kind: 'symlink'; target: string };

/** The data archive's content: every object with all parent folders, and Installed-Size as dpkg counts it. */
export function planData(tree: TreeEntry[], info: DebInfo): { paths: Map<string, Planned>; installedSizeKiB: number } {
  const paths = new Map<string, Planned>();
  const addDir = (p: string): void => {
    const existing = paths.get(p);
    if (existing && existing.kind !== 'dir') throw new AiopError('pack', `${p} is both a folder and a ${existing.kind} in the .deb layout`);
    paths.set(p, { kind: 'dir' });
  };
  const addParents = (p: string): void => {
    const parts = p.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) addDir(`/${parts.slice(0, i).join('/')}`);
  };
  const prefix = info.installPrefix === '/' ? '' : info.installPrefix.replace(/\/+$/, '');
  if (prefix !== '') {
    addParents(`${prefix}/x`);
  }
  for (const entry of tree) {
    const target = installPathFor(entry.path, info);
    if (target === '') continue;
    addParents(target);
    if (entry.kind === 'dir') {
      addDir(target);
      continue;
    }
    if (paths.has(target)) throw new AiopError('pack', `two package paths would both be installed as ${target}`);
    paths.set(
      target,
      entry.kind === 'file'
        ? { kind: 'file', source: entry.absolute, size: entry.size, executable: entry.executable }
        : { kind: 'symlink', target: entry.target },
    );
  }
  let installedSizeKiB = 0;
  for (const planned of paths.values()) installedSizeKiB += planned.kind === 'file' ? Math.ceil(planned.size / 1024) : 1;
  return { paths, installedSizeKiB };
}

async function compressTo(chunks: AsyncIterable<Buffer>, compression: Compression, outFile: string): Promise<void> {
  await pipeline(Readable.from(compressChunks(chunks, compression)), createWriteStream(outFile));
}

async function gzipBuffer(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of compressChunks(chunks, 'gzip')) parts.push(part);
  return Buffer.concat(parts);
}

function asTarName(absolutePath: string, kind: Planned['kind']): string {
  return `.${absolutePath}${kind === 'dir' ? '/' : ''}`;
}

/**
 * Writes the .deb for pkgDir at outFile (atomically). Checks `info` first; every archive member
 * is deterministic (sorted, root-owned, `opts.mtime`), so equal inputs give equal bytes.
 */
export async function writeDeb(pkgDir: string, outFile: string, info: DebInfo, opts: { mtime: Date }): Promise<void> {
  const problems = checkDebInfo(info);
  if (problems.length > 0) throw new AiopError('pack', `cannot make the .deb: ${problems.join('; ')}`);
  const mtime = Math.max(0, Math.floor(opts.mtime.getTime() / 1000));
  const tree = walkTree(pkgDir);
  const { paths, installedSizeKiB } = planData(tree, info);

  const conffiles = (info.conffiles ?? []).map((c) => installPathFor(c.replace(/\/+$/, ''), info));
  for (const conffile of conffiles) {
    if (paths.get(conffile)?.kind !== 'file') throw new AiopError('pack', `conffile ${conffile} is not a regular file in the package`);
  }
  const scripts: Array<[MaintainerScript, Buffer]> = [];
  for (const name of SCRIPT_NAMES) {
    const file = info.scripts?.[name];
    if (file === undefined) continue;
    let content: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      content = await readFile(file);
    } catch (error) {
      throw new AiopError('pack', `maintainer script ${name} (${file}) cannot be read: ${(error as Error).message}`);
    }
    // dpkg execs the script directly: without an interpreter line it cannot run at all.
    if (!content.subarray(0, 2).equals(Buffer.from('#!'))) throw new AiopError('pack', `maintainer script ${name} (${file}) must start with "#!"`);
    scripts.push([name, content]);
  }

  const sorted = [...paths.entries()]
    .map(([p, planned]) => ({ name: asTarName(p, planned.kind), path: p, planned }))
    .sort((a, b) => compareBytes(a.name, b.name));
  // Digests are taken while the data archive streams, so each file is read once.
  const hashes = new Map<string, { hash: ReturnType<typeof createHash>; track: boolean }>();
  const dataEntries: TarEntry[] = [{ type: 'dir', name: './', mode: 0o755 }];
  const conffileSet = new Set(conffiles);
  for (const { name, path, planned } of sorted) {
    if (planned.kind === 'dir') dataEntries.push({ type: 'dir', name, mode: 0o755 });
    else if (planned.kind === 'symlink') dataEntries.push({ type: 'symlink', name, target: planned.target });
    else {
      const hash = createHash('md5');
      // dh_md5sums leaves conffiles out: dpkg tracks their digests in its conffile database instead.
      const track = !conffileSet.has(path);
      dataEntries.push({
        type: 'file',
        name,
        mode: normalMode(planned.executable),
        size: planned.size,
        source: planned.source,
        onChunk: (chunk) => {
          hash.update(chunk);
        },
      });
      hashes.set(path, { hash, track });
    }
  }

  await writeAssembled(outFile, async (dataTmp) => {
    await compressTo(tarChunks(dataEntries, mtime), info.compression, dataTmp);
    const md5sums = [...hashes.entries()]
      .filter(([, h]) => h.track)
      .map(([p, h]) => `${h.hash.digest('hex')}  ${p.slice(1)}\n`)
      .join('');
    const controlEntries: TarEntry[] = [
      { type: 'dir', name: './', mode: 0o755 },
      ...(conffiles.length > 0 ? [{ type: 'data' as const, name: './conffiles', mode: 0o644, data: Buffer.from(conffiles.map((c) => `${c}\n`).join('')) }] : []),
      { type: 'data', name: './control', mode: 0o644, data: Buffer.from(controlText(info, installedSizeKiB)) },
      ...(md5sums !== '' ? [{ type: 'data' as const, name: './md5sums', mode: 0o644, data: Buffer.from(md5sums) }] : []),
      ...scripts.map(([name, data]): TarEntry => ({ type: 'data', name: `./${name}`, mode: 0o755, data })),
    ];
    controlEntries.sort((a, b) => compareBytes(a.name, b.name));
    const control = await gzipBuffer(tarChunks(controlEntries, mtime));
    const dataSize = (await stat(dataTmp)).size;
    const dataName = `data.tar${compressionSuffix(info.compression)}`;
    const head = Buffer.concat([
      AR_MAGIC,
      arMemberHeader('debian-binary', 4),
      Buffer.from('2.0\n'),
      arMemberHeader('control.tar.gz', control.length),
      control,
      arPadding(control.length),
      arMemberHeader(dataName, dataSize),
    ]);
    return { head, tail: arPadding(dataSize) };
  });
}
