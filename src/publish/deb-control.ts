/** Reads the control file of a .deb (ar, then control.tar.gz|xz|zst|plain) without dpkg. */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { AiopError } from '../core/errors.js';

function arMembers(data: Buffer, file: string): Map<string, Buffer> {
  if (!data.subarray(0, 8).equals(Buffer.from('!<arch>\n'))) throw new AiopError('pack', `${file} is not a .deb (no ar header)`);
  const members = new Map<string, Buffer>();
  let at = 8;
  while (at + 60 <= data.length) {
    const name = data.toString('ascii', at, at + 16).trim().replace(/\/$/, '');
    const size = Number(data.toString('ascii', at + 48, at + 58).trim());
    members.set(name, data.subarray(at + 60, at + 60 + size));
    at += 60 + size + (size % 2);
  }
  return members;
}

async function decompress(name: string, body: Buffer): Promise<Buffer> {
  if (name.endsWith('.gz')) return gunzipSync(body);
  if (name.endsWith('.xz')) {
    const lzma = (await import('lzma-native')).default;
    return lzma.decompress(body) as unknown as Promise<Buffer>;
  }
  if (name.endsWith('.zst')) {
    const { Zstd } = await import('@hpcc-js/wasm-zstd');
    return Buffer.from((await Zstd.load()).decompress(body));
  }
  return body;
}

function tarFile(tar: Buffer, wanted: string): Buffer | undefined {
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return undefined;
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (name === wanted || name === wanted.replace(/^\.\//, '')) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The control paragraph of `file` (without a trailing newline) and the .deb's bytes. */
export async function readDebControl(file: string): Promise<{ control: string; bytes: Buffer }> {
  const bytes = await readFile(file);
  const members = arMembers(bytes, file);
  const name = [...members.keys()].find((n) => n.startsWith('control.tar'));
  if (name === undefined) throw new AiopError('pack', `${file} has no control archive`);
  const control = tarFile(await decompress(name, members.get(name)!), './control');
  if (control === undefined) throw new AiopError('pack', `${file} has no control file`);
  return { control: control.toString('utf8').replace(/\n+$/, ''), bytes };
}

/** One field of a control paragraph (first line only). */
export function controlField(control: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:[ \\t]*(.*)$`, 'mi').exec(control);
  return m ? m[1]!.trim() : undefined;
}
