/**
 * `aiop repo apt`: a signed apt repository (Debian RepositoryFormat) from .deb files:
 * `pool/<component>/<letter>/<name>/<file>.deb`, `dists/<suite>/<component>/binary-<arch>/Packages`
 * and `Packages.gz`, `dists/<suite>/Release` with MD5Sum and SHA256, `InRelease` (clearsigned)
 * and `Release.gpg` (detached), signed in-process with openpgp.js; the public key as `key.asc`.
 * The indices are made from every .deb in the pool, so adding one keeps the others. A file
 * whose bytes are already there is left alone, and the signatures are made again only when
 * the Release or the key changed, so `written` lists exactly what changed (for --upload_url).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AiopError, UsageError } from '../core/errors.js';
import { loadSigningKey } from '../pack/signing-key.js';
import { writeFileAtomic } from '../core/atomic.js';
import { log, type Emit } from '../core/events.js';
import { controlField, readDebControl } from './deb-control.js';

/** What to publish and where. */
export interface AptRepoRequest {
  outputDir: string;
  suite: string;
  component: string;
  debs: string[];
  /** Armored OpenPGP private key (never printed, logged or stored). */
  signingKey: string;
  /** The Release file's Date. */
  date: Date;
  emit: Emit;
}

/** The files written (relative to outputDir, `/`-separated), in an order that is safe to publish. */
export interface AptRepoResult {
  /**
   * Only the files whose bytes changed: the new .debs first, then the indices, the key, and
   * the Release files last, so that a client never sees a Release naming an index or an
   * index naming a .deb that is not there yet.
   */
  written: string[];
}

const hex = (algorithm: string, data: Buffer): string => createHash(algorithm).update(data).digest('hex');

/** The pool folder letter: `lib` packages by their first four letters, as Debian does. */
function poolLetter(name: string): string {
  return name.startsWith('lib') && name.length > 3 ? name.slice(0, 4) : name[0]!;
}

async function listDebs(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await visit(p);
      else if (entry.isFile() && entry.name.endsWith('.deb')) out.push(p);
    }
  };
  await visit(dir);
  return out.sort();
}

/** Writes or updates the repository; see the module comment. */
export async function writeAptRepo(req: AptRepoRequest): Promise<AptRepoResult> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(req.suite)) throw new UsageError(`--suite "${req.suite}" must be a plain name such as stable`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(req.component)) throw new UsageError(`--component "${req.component}" must be a plain name such as main`);
  const sign = await loadSigningKey(req.signingKey);
  const written: string[] = [];
  const current = (rel: string): Promise<Buffer | undefined> => readFile(join(req.outputDir, rel)).catch(() => undefined);
  /** Writes `rel` unless it already holds these bytes; true when it was written. */
  const put = async (rel: string, data: Buffer | string): Promise<boolean> => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if ((await current(rel))?.equals(bytes)) return false;
    await writeFileAtomic(join(req.outputDir, rel), bytes);
    written.push(rel);
    return true;
  };
  for (const deb of req.debs) {
    const { control, bytes } = await readDebControl(deb);
    const name = controlField(control, 'Package');
    if (name === undefined) throw new AiopError('pack', `${deb}: the control file has no Package field`);
    const rel = ['pool', req.component, poolLetter(name), name, basename(deb)].join('/');
    if (await put(rel, bytes)) log(req.emit, 'INFO', 'repo', `added ${rel}`);
  }
  const byArch = new Map<string, string[]>();
  for (const file of await listDebs(join(req.outputDir, 'pool', req.component))) {
    const { control, bytes } = await readDebControl(file);
    const arch = controlField(control, 'Architecture') ?? 'all';
    const entry = `${control}\nFilename: ${relative(req.outputDir, file).split('\\').join('/')}\nSize: ${bytes.length}\nMD5sum: ${hex('md5', bytes)}\nSHA256: ${hex('sha256', bytes)}\n`;
    byArch.set(arch, [...(byArch.get(arch) ?? []), entry]);
  }
  if (byArch.size === 0) throw new UsageError('no .deb to publish', 'build with --installer deb first, or name files with --deb');
  const indices: Array<[string, Buffer]> = [];
  for (const [arch, entries] of [...byArch.entries()].sort()) {
    const packages = Buffer.from(entries.join('\n'));
    const base = `${req.component}/binary-${arch}`;
    indices.push([`${base}/Packages`, packages], [`${base}/Packages.gz`, gzipSync(packages, { level: 9 })]);
  }
  for (const [rel, data] of indices) await put(`dists/${req.suite}/${rel}`, data);
  const sums = (algorithm: string): string => indices.map(([rel, data]) => ` ${hex(algorithm, data)} ${String(data.length).padStart(8)} ${rel}`).join('\n');
  const release = [
    `Origin: ${req.suite}`,
    `Label: ${req.suite}`,
    `Suite: ${req.suite}`,
    `Codename: ${req.suite}`,
    `Date: ${req.date.toUTCString().replace('GMT', 'UTC')}`,
    `Architectures: ${[...byArch.keys()].sort().join(' ')}`,
    `Components: ${req.component}`,
    'MD5Sum:',
    sums('md5'),
    'SHA256:',
    sums('sha256'),
    '',
  ].join('\n');
  const dists = `dists/${req.suite}`;
  const keyChanged = await put('key.asc', sign.publicKey);
  const releaseChanged = !(await current(`${dists}/Release`))?.equals(Buffer.from(release));
  const signed = (await current(`${dists}/InRelease`)) !== undefined && (await current(`${dists}/Release.gpg`)) !== undefined;
  // OpenPGP signatures carry their own time and salt: signing the same Release again would
  // change the bytes of InRelease and Release.gpg for nothing.
  if (keyChanged || releaseChanged || !signed) {
    await put(`${dists}/Release`, release);
    await put(`${dists}/Release.gpg`, await sign.detach(Buffer.from(release)));
    await put(`${dists}/InRelease`, await sign.clearsign(release));
  }
  return { written };
}
