/**
 * A native rpm v4 writer (--installer rpm): no rpmbuild at run time. Layout: the 96-byte
 * lead, the signature header (sizes, SHA1 and SHA256 header digests; the payload's SHA256
 * is in the main header, as rpm 4.14+ writes it), the main header, then the
 * cpio ("newc") payload, gzip-compressed by default. Every value is deterministic (sorted
 * files, root-owned, one mtime, fixed build host), so equal inputs give equal bytes.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AiopError, UsageError } from '../core/errors.js';
import { COMPRESSIONS, compressChunks, type Compression } from './compress.js';
import { installPathFor, planData } from './deb.js';
import { RPM_KEY_HINT, type SigningKey } from './signing-key.js';
import { writeAssembled } from './assemble.js';
import { cpioHeader, padTo, rpmHeader, rpmLead, type RpmValue } from './rpm-header.js';
import { compareBytes } from '../core/list-tree.js';
import { walkTree } from './walk.js';
import { fileChunks } from './file-chunks.js';

/** Script slots of an rpm, by their spec-file names. */
export type RpmScript = 'pre' | 'post' | 'preun' | 'postun';
const SCRIPTS: Array<[RpmScript, number, number]> = [
  ['pre', 1023, 1085],
  ['post', 1024, 1086],
  ['preun', 1025, 1087],
  ['postun', 1026, 1088],
];

/** Relation kinds of an rpm and their (name, flags, version) tags. */
export const RPM_RELATIONS = {
  requires: [1049, 1048, 1050],
  provides: [1047, 1112, 1113],
  conflicts: [1054, 1053, 1055],
  obsoletes: [1090, 1114, 1115],
  recommends: [5046, 5048, 5047],
  suggests: [5049, 5051, 5050],
} as const;
/** One of the relation kinds. */
export type RpmRelation = keyof typeof RPM_RELATIONS;

/** Everything the rpm header and payload layout need; from the playbook's `package` and `rpm` sections. */
export interface RpmInfo {
  name: string;
  version: string;
  release: string;
  /** First line: the summary; further lines: the description. */
  description: string;
  license: string;
  /** rpm's architecture (x86_64, aarch64, noarch, ...). */
  architecture: string;
  packager?: string;
  group?: string;
  url?: string;
  installPrefix: string;
  installMap?: Record<string, string>;
  relations?: Partial<Record<RpmRelation, string[]>>;
  /** Package-relative paths marked %config(noreplace). */
  configFiles?: string[];
  /** Absolute paths of script files. */
  scripts?: Partial<Record<RpmScript, string>>;
  compression: Compression;
}

/** Folders of the base system (rpmlint's standard dirs): the filesystem package owns them, a package must not. */
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/etc', '/etc/X11', '/etc/opt', '/etc/profile.d', '/etc/skel', '/etc/xinetd.d', '/etc/systemd', '/etc/systemd/system',
  '/home', '/lib', '/lib/modules', '/lib64', '/media', '/mnt', '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp',
  '/usr', '/usr/bin', '/usr/games', '/usr/include', '/usr/lib', '/usr/lib64', '/usr/libexec', '/usr/lib/systemd', '/usr/lib/systemd/system',
  '/usr/local', '/usr/local/bin', '/usr/local/lib', '/usr/local/sbin', '/usr/local/share', '/usr/sbin', '/usr/share',
  '/usr/share/applications', '/usr/share/doc', '/usr/share/icons', '/usr/share/info', '/usr/share/licenses', '/usr/share/locale',
  '/usr/share/man', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `/usr/share/man/man${n}`), '/usr/share/pixmaps', '/usr/share/bash-completion',
  '/usr/share/bash-completion/completions', '/usr/src', '/var', '/var/cache', '/var/lib', '/var/log', '/var/opt', '/var/run', '/var/spool', '/var/tmp',
]);

/** Documentation paths that rpmbuild marks %doc. */
const DOC_RE = /^\/usr\/share\/(doc|man|info)\//;

/** Debian architecture names as rpm spells them; others pass through. */
const ARCHES: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', all: 'noarch', i386: 'i686', armhf: 'armv7hl', ppc64el: 'ppc64le' };
/** The lead's architecture numbers (rpmrc's arch_canon); rpm only reads the header's ARCH. */
const ARCH_NUMS: Record<string, number> = { x86_64: 1, i686: 1, aarch64: 19, ppc64le: 16, s390x: 15, armv7hl: 12 };

/** rpm's name for a Debian-style architecture (amd64 -> x86_64, arm64 -> aarch64, all -> noarch). */
export function rpmArchitecture(arch: string): string {
  return ARCHES[arch] ?? arch;
}

const SENSE = { LESS: 2, GREATER: 4, EQUAL: 8, INTERP: 1 << 8, SCRIPT_PRE: 1 << 9, SCRIPT_POST: 1 << 10, SCRIPT_PREUN: 1 << 11, SCRIPT_POSTUN: 1 << 12, RPMLIB: 1 << 24 };
const OPERATORS: Record<string, number> = { '<': SENSE.LESS, '<=': SENSE.LESS | SENSE.EQUAL, '=': SENSE.EQUAL, '==': SENSE.EQUAL, '>=': SENSE.GREATER | SENSE.EQUAL, '>': SENSE.GREATER };
const RELATION_RE = /^([^\s<>=()]+)(?:\s*(<=|>=|==|=|<|>)\s*([A-Za-z0-9._+~^:-]+))?$/;
const NAME_RE = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;
const VERSION_RE = /^[A-Za-z0-9._+~^]+$/;

/** Problems with the rpm settings; empty when fine. */
export function checkRpmInfo(info: RpmInfo): string[] {
  const problems: string[] = [];
  if (!NAME_RE.test(info.name)) problems.push(`package name "${info.name}" is not a valid rpm name`);
  if (!VERSION_RE.test(info.version)) problems.push(`version "${info.version}" is not a valid rpm version (letters, digits, . _ + ~ ^; no "-")`);
  if (!VERSION_RE.test(info.release)) problems.push(`release "${info.release}" is not a valid rpm release (letters, digits, . _ + ~ ^; no "-")`);
  if (!/^[A-Za-z0-9_]+$/.test(info.architecture)) problems.push(`architecture "${info.architecture}" is not an rpm architecture (for example x86_64, aarch64, noarch)`);
  if (info.license.trim() === '') problems.push('license must name the license, e.g. MIT');
  if ((info.description.split('\n')[0] ?? '').trim() === '') problems.push('description must start with a one-line summary');
  if (info.url !== undefined && !/^https?:\/\/\S+$/.test(info.url)) problems.push(`url "${info.url}" must be an http(s) URL`);
  if (!info.installPrefix.startsWith('/') || info.installPrefix.split('/').includes('..')) problems.push(`install prefix "${info.installPrefix}" must be an absolute path without ".."`);
  for (const [from, to] of Object.entries(info.installMap ?? {})) {
    if (from.startsWith('/') || from.split('/').includes('..')) problems.push(`install_map key "${from}" must be a package-relative folder without ".."`);
    if (!to.startsWith('/') || to.split('/').includes('..')) problems.push(`install_map target "${to}" must be an absolute path without ".."`);
  }
  for (const [kind, list] of Object.entries(info.relations ?? {})) {
    if (!(kind in RPM_RELATIONS)) problems.push(`unknown relation "${kind}" (valid: ${Object.keys(RPM_RELATIONS).join(', ')})`);
    for (const relation of list ?? []) {
      if (!RELATION_RE.test(relation.trim())) problems.push(`${kind} relation "${relation}" is not an rpm relation such as "glibc >= 2.31"`);
    }
  }
  for (const file of info.configFiles ?? []) {
    if (file.startsWith('/') || file.split('/').includes('..')) problems.push(`config file "${file}" must be a package-relative path without ".."`);
  }
  for (const key of Object.keys(info.scripts ?? {})) {
    if (!SCRIPTS.some(([name]) => name === key)) problems.push(`unknown script "${key}" (valid: ${SCRIPTS.map(([n]) => n).join(', ')})`);
  }
  if (!COMPRESSIONS.includes(info.compression)) problems.push(`compression "${String(info.compression)}" must be one of ${COMPRESSIONS.join(', ')}`);
  return problems;
}

/** Default file name: `<name>-<version>-<release>.<arch>.rpm`. */
export function rpmFileName(info: RpmInfo): string {
  return `${info.name}-${info.version}-${info.release}.${info.architecture}.rpm`;
}

function parseRelation(relation: string): { name: string; flags: number; version: string } {
  const m = RELATION_RE.exec(relation.trim())!;
  return { name: m[1]!, flags: m[2] ? OPERATORS[m[2]]! : 0, version: m[3] ?? '' };
}

const PAYLOAD: Record<Compression, { compressor: string; flags: string; requires?: [string, string] }> = {
  gzip: { compressor: 'gzip', flags: '9' },
  xz: { compressor: 'xz', flags: '6', requires: ['rpmlib(PayloadIsXz)', '5.2-1'] },
  zstd: { compressor: 'zstd', flags: '3', requires: ['rpmlib(PayloadIsZstd)', '5.4.18-1'] },
  // rpm has no "none" compressor name; gzip level 0 would still frame it, so "none" is refused below.
  none: { compressor: 'identity', flags: '' },
};

interface RpmFile {
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  mode: number;
  size: number;
  source?: string;
  target?: string;
  digest: string;
  config: boolean;
}

async function sha256File(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fileChunks(file, size)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Writes the .rpm for pkgDir at outFile (atomically). Checks `info` first; files land as
 * for the .deb (`install_prefix`, `install_map`); folders of the package are owned, those
 * of the base system (`/usr`, `/usr/bin`, `/etc`, ...) are not. With `signingKey`, the
 * signature header also holds an OpenPGP signature of the main header (see {@link SigningKey.detachReproducible}).
 */
export async function writeRpm(pkgDir: string, outFile: string, info: RpmInfo, opts: { mtime: Date; signingKey?: SigningKey }): Promise<void> {
  const problems = checkRpmInfo(info);
  if (info.compression === 'none') problems.push('compression none is not available for .rpm (use gzip, xz or zstd)');
  if (problems.length > 0) throw new AiopError('pack', `cannot make the .rpm: ${problems.join('; ')}`);
  if (opts.signingKey?.rpmProblem) throw new UsageError(opts.signingKey.rpmProblem, RPM_KEY_HINT);
  const mtime = Math.max(0, Math.floor(opts.mtime.getTime() / 1000));
  const tree = walkTree(pkgDir);
  const layout = { installPrefix: info.installPrefix, ...(info.installMap ? { installMap: info.installMap } : {}) };
  // planData checks collisions the same way as for the .deb; only the package's own objects are owned.
  planData(tree, { ...layout, name: info.name, version: '0', maintainer: 'x <x@x>', description: 'x', architecture: 'all', compression: 'gzip' });
  const configs = new Set((info.configFiles ?? []).map((c) => installPathFor(c.replace(/\/+$/, ''), { ...layout } as never)));
  const files: RpmFile[] = [];
  for (const entry of tree) {
    const path = installPathFor(entry.path, { ...layout } as never);
    if (path === '') continue;
    if (entry.kind === 'dir') {
      if (!SYSTEM_DIRS.has(path)) files.push({ path, kind: 'dir', mode: 0o40755, size: 4096, digest: '', config: false });
    } else if (entry.kind === 'symlink') files.push({ path, kind: 'symlink', mode: 0o120777, size: Buffer.byteLength(entry.target), target: entry.target, digest: '', config: false });
    else files.push({ path, kind: 'file', mode: entry.executable ? 0o100755 : 0o100644, size: entry.size, source: entry.absolute, digest: await sha256File(entry.absolute, entry.size), config: configs.has(path) });
  }
  files.sort((a, b) => compareBytes(a.path, b.path));
  for (const config of configs) {
    if (!files.some((f) => f.path === config && f.kind === 'file')) throw new AiopError('pack', `config file ${config} is not a regular file in the package`);
  }
  const scripts: Array<[RpmScript, string, string]> = [];
  for (const [name] of SCRIPTS) {
    const file = info.scripts?.[name];
    if (file === undefined) continue;
    let body: string;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      body = await readFile(file, 'utf8');
    } catch (error) {
      throw new AiopError('pack', `script ${name} (${file}) cannot be read: ${(error as Error).message}`);
    }
    const shebang = /^#!\s*(\S+)/.exec(body);
    scripts.push([name, shebang ? shebang[1]! : '/bin/sh', body]);
  }

  const header = mainHeader(info, files, scripts, mtime);
  await writeAssembled(outFile, async (payloadTmp) => {
    let payloadSize = 0;
    async function* cpio(): AsyncGenerator<Buffer> {
      let ino = 1;
      for (const f of files) {
        const head = cpioHeader({ ino: ino++, mode: f.mode, nlink: f.kind === 'dir' ? 2 : 1, mtime, size: f.kind === 'dir' ? 0 : f.size, name: `.${f.path}` });
        payloadSize += head.length;
        yield head;
        if (f.kind === 'symlink') {
          const body = Buffer.from(f.target!, 'utf8');
          payloadSize += body.length;
          yield body;
        } else if (f.kind === 'file') {
          yield* fileChunks(f.source!, f.size);
          payloadSize += f.size;
        } else continue;
        const pad = padTo(f.size, 4);
        payloadSize += pad.length;
        yield pad;
      }
      const trailer = cpioHeader({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, name: 'TRAILER!!!' });
      payloadSize += trailer.length;
      yield trailer;
      const end = padTo(payloadSize, 512);
      payloadSize += end.length;
      yield end;
    }
    const payloadHash = createHash('sha256');
    async function* hashed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        payloadHash.update(chunk);
        yield chunk;
      }
    }
    await pipeline(Readable.from(hashed(compressChunks(cpio(), info.compression))), createWriteStream(payloadTmp));
    const compressedSize = (await stat(payloadTmp)).size;
    // The payload digest is part of the main header, so the header is made after the payload.
    const finalHeader = header(payloadHash.digest('hex'));
    const sig = new Map<number, RpmValue>([
      [269, { type: 'string', value: createHash('sha1').update(finalHeader).digest('hex') }],
      [273, { type: 'string', value: createHash('sha256').update(finalHeader).digest('hex') }],
      [1000, { type: 'int32', values: [finalHeader.length + compressedSize] }],
      [1007, { type: 'int32', values: [payloadSize] }],
    ]);
    if (finalHeader.length + compressedSize > 0xffffffff || payloadSize > 0xffffffff) {
      throw new AiopError('pack', 'packages of 4 GiB and more are not supported by the .rpm writer yet');
    }
    if (opts.signingKey) {
      // A header-only signature, as rpmsign makes for packages with a payload digest (rpm
      // 4.14 and later): the header holds the payload's SHA256, so it covers the payload too.
      const { tag, packet } = await opts.signingKey.detachReproducible(finalHeader, opts.mtime);
      sig.set(tag, { type: 'bin', value: packet });
    }
    const signature = rpmHeader(62, sig);
    const head = Buffer.concat([rpmLead(`${info.name}-${info.version}-${info.release}`, ARCH_NUMS[info.architecture] ?? 0), signature, padTo(signature.length, 8), finalHeader]);
    return { head };
  });
}

/** The main header, waiting only for the payload digest. */
function mainHeader(info: RpmInfo, files: RpmFile[], scripts: Array<[RpmScript, string, string]>, mtime: number): (payloadDigest: string) => Buffer {
  const lines = info.description.replace(/\r\n?/g, '\n').split('\n');
  const summary = lines.shift()!.trim();
  const long = lines.join('\n').trim() || summary;
  const dirs: string[] = [];
  const dirIndex = new Map<string, number>();
  const dirIndexes: number[] = [];
  const basenames: string[] = [];
  for (const f of files) {
    const slash = f.path.lastIndexOf('/');
    const dir = f.path.slice(0, slash + 1);
    if (!dirIndex.has(dir)) {
      dirIndex.set(dir, dirs.length);
      dirs.push(dir);
    }
    dirIndexes.push(dirIndex.get(dir)!);
    basenames.push(f.path.slice(slash + 1));
  }
  const relation = (kind: RpmRelation, extra: Array<{ name: string; flags: number; version: string }>): void => {
    const list = [...(info.relations?.[kind] ?? []).map(parseRelation), ...extra];
    const [nameTag, flagsTag, versionTag] = RPM_RELATIONS[kind];
    entries.set(nameTag, { type: 'strings', values: list.map((r) => r.name) });
    entries.set(flagsTag, { type: 'int32', values: list.map((r) => r.flags) });
    entries.set(versionTag, { type: 'strings', values: list.map((r) => r.version) });
  };
  const payload = PAYLOAD[info.compression];
  const entries = new Map<number, RpmValue>([
    [100, { type: 'strings', values: ['C'] }],
    [1000, { type: 'string', value: info.name }],
    [1001, { type: 'string', value: info.version }],
    [1002, { type: 'string', value: info.release }],
    [1004, { type: 'i18n', value: summary }],
    [1005, { type: 'i18n', value: long }],
    [1006, { type: 'int32', values: [mtime] }],
    // A fixed build host: the real one would make the bytes depend on the machine.
    [1007, { type: 'string', value: 'reproducible' }],
    [1009, { type: 'int32', values: [files.reduce((n, f) => n + (f.kind === 'dir' ? 0 : f.size), 0)] }],
    [1014, { type: 'string', value: info.license }],
    ...(info.packager ? [[1015, { type: 'string', value: info.packager }] as [number, RpmValue]] : []),
    [1016, { type: 'i18n', value: info.group ?? 'Unspecified' }],
    ...(info.url ? [[1020, { type: 'string', value: info.url }] as [number, RpmValue]] : []),
    [1021, { type: 'string', value: 'linux' }],
    [1022, { type: 'string', value: info.architecture }],
    [1028, { type: 'int32', values: files.map((f) => f.size) }],
    [1030, { type: 'int16', values: files.map((f) => f.mode) }],
    [1033, { type: 'int16', values: files.map(() => 0) }],
    [1034, { type: 'int32', values: files.map(() => mtime) }],
    [1035, { type: 'strings', values: files.map((f) => f.digest) }],
    [1036, { type: 'strings', values: files.map((f) => f.target ?? '') }],
    // RPMFILE_CONFIG | RPMFILE_NOREPLACE: %config(noreplace); RPMFILE_DOC for documentation, as rpmbuild marks it.
    [1037, { type: 'int32', values: files.map((f) => (f.config ? 1 | 16 : 0) | (f.kind !== 'dir' && DOC_RE.test(f.path) ? 2 : 0)) }],
    [1039, { type: 'strings', values: files.map(() => 'root') }],
    [1040, { type: 'strings', values: files.map(() => 'root') }],
    [1044, { type: 'string', value: `${info.name}-${info.version}-${info.release}.src.rpm` }],
    [1045, { type: 'int32', values: files.map(() => 0xffffffff) }],
    [1064, { type: 'string', value: '4.18.0' }],
    // One changelog entry: rpm tools expect one, and aiop has no history to tell.
    [1080, { type: 'int32', values: [mtime] }],
    [1081, { type: 'strings', values: [`${info.packager ?? info.name} - ${info.version}-${info.release}`] }],
    [1082, { type: 'strings', values: [`- ${info.name} ${info.version}`] }],
    [1095, { type: 'int32', values: files.map(() => 1) }],
    [1096, { type: 'int32', values: files.map((_, i) => i + 1) }],
    [1097, { type: 'strings', values: files.map(() => '') }],
    [1116, { type: 'int32', values: dirIndexes }],
    [1117, { type: 'strings', values: basenames }],
    [1118, { type: 'strings', values: dirs }],
    [1124, { type: 'string', value: 'cpio' }],
    [1125, { type: 'string', value: payload.compressor }],
    [1126, { type: 'string', value: payload.flags }],
    [5011, { type: 'int32', values: [8] }],
    [5093, { type: 'int32', values: [8] }],
  ]);
  for (const [name, prog, body] of scripts) {
    const [, bodyTag, progTag] = SCRIPTS.find(([n]) => n === name)!;
    entries.set(bodyTag, { type: 'string', value: body });
    entries.set(progTag, { type: 'string', value: prog });
  }
  const scriptFlags: Record<RpmScript, number> = { pre: SENSE.SCRIPT_PRE, post: SENSE.SCRIPT_POST, preun: SENSE.SCRIPT_PREUN, postun: SENSE.SCRIPT_POSTUN };
  const rpmlib = (name: string, version: string): { name: string; flags: number; version: string } => ({ name, flags: SENSE.RPMLIB | SENSE.LESS | SENSE.EQUAL, version });
  relation('requires', [
    ...scripts.map(([name, prog]) => ({ name: prog, flags: SENSE.INTERP | scriptFlags[name], version: '' })),
    rpmlib('rpmlib(CompressedFileNames)', '3.0.4-1'),
    rpmlib('rpmlib(FileDigests)', '4.6.0-1'),
    rpmlib('rpmlib(PayloadFilesHavePrefix)', '4.0-1'),
    ...(payload.requires ? [rpmlib(...payload.requires)] : []),
  ]);
  relation('provides', [{ name: info.name, flags: SENSE.EQUAL, version: `${info.version}-${info.release}` }]);
  relation('conflicts', []);
  relation('obsoletes', []);
  relation('recommends', []);
  relation('suggests', []);
  return (payloadDigest) => {
    entries.set(5092, { type: 'strings', values: [payloadDigest] });
    return rpmHeader(63, entries);
  };
}
