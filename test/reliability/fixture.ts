/**
 * A playbook that exercises every stage a crash or a race can hit: an artifact downloaded
 * from nginx (a few MB, so the download takes a while), shell and built-in recipe commands,
 * a zip and a .deb. Plus helpers to fingerprint a build's outputs and to find debris.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { snapshot, writePlaybook } from '../util/playbook.js';
import { seeded } from './report.js';

export const PKG = 'demo-1.0.0-linux-debian12-amd64';
export const DEB = 'demo_1.0.0_amd64.deb';
export const BUILD_ARGS = ['build', 'linux', 'debian12', 'amd64', '--zip_pack', '--installer', 'deb'];

/** Makes `tool-<version>.tar.gz` under `www` (a script and `size` seeded pseudo-random bytes); returns its sha256. */
export async function makeToolArchive(dir: string, www: string, version: string, size = 3_000_000): Promise<string> {
  const src = join(dir, `tool-src-${version}`, 'tool');
  await mkdir(join(src, 'bin'), { recursive: true });
  await writeFile(join(src, 'bin', 'tool'), `#!/bin/sh\necho tool ${version}\n`, { mode: 0o755 });
  const next = seeded(version.length * 7919 + version.charCodeAt(0));
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) data.writeUInt32LE(Math.floor(next() * 2 ** 32) >>> 0, Math.min(i, size - 4));
  await writeFile(join(src, 'data.bin'), data);
  await mkdir(www, { recursive: true });
  const archive = join(www, `tool-${version}.tar.gz`);
  execFileSync('tar', ['czf', archive, '-C', join(dir, `tool-src-${version}`), 'tool']);
  return createHash('sha256').update(await readFile(archive)).digest('hex');
}

/** The inventory, pointing at `tool-<version>.tar.gz` on `url`. */
export function crashInventory(url: string, version: string, sha: string): string {
  return `package:
  name: demo
  version: 1.0.0
  maintainer: Demo Team <demo@example.com>
  description: |
    Demo package.
    Used by the reliability tests.
system_targets:
  linux:
    compatibility:
      - { name: distro, choices: [debian12, ubuntu22.04] }
      - { name: arch, choices: [amd64, arm64] }
    artifacts:
      - name: tool
        url: ${url}/tool-${version}.tar.gz
        sha256: ${sha}
        extract: true
        strip_components: 1
        dest: tool/
    deb:
      architecture: \${arch}
      install_prefix: /opt/demo
      install_map: { etc/: /etc/ }
      conffiles: [etc/demo/demo.conf]
`;
}

export const CRASH_RECIPE = `default: package
targets:
  package:
    virtual: true
    depends: [bin/hello, share/data.sha256, share/doc/README.gz, etc/demo/demo.conf, share/data.copy]
  bin/hello:
    sources: [files/hello.sh]
    commands: [":copy $source $target", ":chmod 0755 $target"]
  share/data.sha256:
    sources: [tool/data.bin]
    commands: ["sha256sum < $source | cut -d' ' -f1 > $target"]
  share/data.copy:
    sources: [tool/data.bin]
    commands: ["cat $source $source > $target"]
  share/doc/README.gz:
    sources: [files/README.in]
    commands: [":template $source $target.tmp", ":gzip $target.tmp $target", ":delete $target.tmp"]
  etc/demo/demo.conf:
    sources: [files/demo.conf]
    commands: [":copy $source $target"]
`;

/** Writes the crash playbook (README text `readme`) under `root`. */
export async function writeCrashPlaybook(root: string, inventory: string, readme = 'Hello from $name $version\n'): Promise<string> {
  return writePlaybook(root, {
    inventory,
    recipe: CRASH_RECIPE,
    files: { 'files/hello.sh': '!#!/bin/sh\necho hello\n', 'files/README.in': readme, 'files/demo.conf': 'greeting = hello\n' },
  });
}

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** Everything that must be byte-identical between two builds of the same input. */
export interface Fingerprint {
  folder: Record<string, string>;
  zip: string;
  deb: string;
  sums: string;
}

export async function fingerprint(root: string): Promise<Fingerprint> {
  const out = join(root, '.build');
  return {
    folder: await snapshot(join(out, PKG)),
    zip: await sha256(join(out, `${PKG}.zip`)),
    deb: await sha256(join(out, DEB)),
    sums: await readFile(join(out, 'SHA256SUMS'), 'utf8'),
  };
}

/** Names that only an unfinished write leaves behind. */
const DEBRIS = /\.partial-|\.tmp-|\.stale-|^nocache-|^aiop-\d+-|^\..*\.lock$/;

/** Paths of temporary leftovers under the given folders (the cache's tmp folder counts whole). */
export async function debris(root: string, cacheDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const base of [join(root, '.build'), join(root, '.aiop')]) {
    const entries = await readdir(base, { recursive: true }).catch(() => [] as string[]);
    for (const rel of entries) {
      const name = rel.split('/').pop()!;
      if (DEBRIS.test(name)) found.push(join(base, rel));
    }
  }
  const tmp = await readdir(join(cacheDir, 'tmp')).catch(() => [] as string[]);
  found.push(...tmp.map((name) => join(cacheDir, 'tmp', name)));
  const locks = await readdir(join(root, '.aiop/state/packages'), { recursive: true }).catch(() => [] as string[]);
  found.push(...locks.filter((rel) => rel.endsWith('/lock')).map((rel) => join(root, '.aiop/state/packages', rel)));
  return found;
}

/** Pids of processes whose working folder is `dir` (recipe commands run in the playbook root). */
export async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => undefined);
    if (cwd === dir) pids.push(Number(name));
  }
  return pids;
}
