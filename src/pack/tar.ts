/**
 * A small deterministic tar writer (POSIX ustar, PAX records only for long names and huge
 * sizes). Written here rather than taken from `tar` so that every header byte is ours:
 * owner 0:0 root/root, one fixed mtime, no atime/ctime/uid records that vary between machines.
 */
import { fileChunks } from './file-chunks.js';

/** One entry of a tar stream; `name` is the full archive path (`./usr/bin/x`, dirs end with `/`). */
export type TarEntry =
  | { type: 'dir'; name: string; mode: number }
  | { type: 'symlink'; name: string; target: string }
  | { type: 'file'; name: string; mode: number; size: number; source: string; onChunk?: (chunk: Buffer) => void }
  | { type: 'data'; name: string; mode: number; data: Buffer };

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);
const MAX_OCTAL_SIZE = 0o77777777777; // what 11 octal digits can hold

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  // The length prefix counts itself, so settle it by iteration.
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, 'utf8');
}

function header(fields: { name: Buffer; mode: number; size: number; mtime: number; typeflag: string; linkname?: Buffer }): Buffer {
  const h = Buffer.alloc(BLOCK);
  // Byte-exact copies, cut at the field width: a PAX record carries the full value when it does not fit.
  fields.name.copy(h, 0, 0, Math.min(100, fields.name.length));
  h.write(octal(fields.mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(fields.size, 12), 124, 'ascii');
  h.write(octal(fields.mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(fields.typeflag, 156, 'ascii');
  if (fields.linkname) fields.linkname.copy(h, 157, 0, Math.min(100, fields.linkname.length));
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(octal(0, 8), 329, 'ascii');
  h.write(octal(0, 8), 337, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : ZEROS.subarray(0, BLOCK - rest);
}

/** Headers for one entry: a PAX `x` header first when the name, link or size do not fit ustar. */
function headersFor(entry: TarEntry, size: number, mtime: number): Buffer[] {
  const records: Buffer[] = [];
  const name = entry.name;
  const linkname = entry.type === 'symlink' ? entry.target : undefined;
  if (Buffer.byteLength(name) > 100) records.push(paxRecord('path', name));
  if (linkname !== undefined && Buffer.byteLength(linkname) > 100) records.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(size)));
  const out: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.concat(records);
    out.push(header({ name: Buffer.from('./@PaxHeader'), mode: 0o644, size: pax.length, mtime, typeflag: 'x' }), pax, padding(pax.length));
  }
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
  const typeflag = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0';
  out.push(
    header({
      name: Buffer.from(name, 'utf8'),
      mode,
      size: size > MAX_OCTAL_SIZE ? 0 : size,
      mtime,
      typeflag,
      ...(linkname !== undefined ? { linkname: Buffer.from(linkname, 'utf8') } : {}),
    }),
  );
  return out;
}

/**
 * The tar stream of `entries` in the order given, every entry stamped with `mtime` (seconds).
 * File contents are read from disk as they are reached ({@link fileChunks}); a file whose size
 * changed since it was listed is an error rather than a silently corrupt archive.
 */
export async function* tarChunks(entries: Iterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const size = entry.type === 'file' ? entry.size : entry.type === 'data' ? entry.data.length : 0;
    for (const chunk of headersFor(entry, size, mtime)) yield chunk;
    if (entry.type === 'data') {
      yield entry.data;
      yield padding(size);
    } else if (entry.type === 'file') {
      for await (const chunk of fileChunks(entry.source, entry.size)) {
        entry.onChunk?.(chunk);
        yield chunk;
      }
      yield padding(size);
    }
  }
  yield ZEROS;
}
