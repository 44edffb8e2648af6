/**
 * Hand-made tar and zip bytes for tests, so an archive can hold exactly the hostile entries
 * that real tools refuse to write (`../x`, absolute names, links pointing out).
 */
import { gzipSync } from 'node:zlib';

export interface RawEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string;
  /** symlink or hard link target */
  link?: string;
  mode?: number;
  /** For makeZip: the Unix file type bits to store instead of the entry type's own (0o010000 for a FIFO, ...). */
  unixType?: number;
}

function field(block: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value, 'utf8').copy(block, offset, 0, length);
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** A ustar archive holding exactly these entries, gzip-compressed. */
export function makeTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.type === 'file' ? (e.content ?? '') : '');
    const header = Buffer.alloc(512);
    field(header, 0, 100, e.name);
    field(header, 100, 8, octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o644), 8));
    field(header, 108, 8, octal(0, 8));
    field(header, 116, 8, octal(0, 8));
    field(header, 124, 12, octal(body.length, 12));
    field(header, 136, 12, octal(0, 12));
    field(header, 156, 1, { file: '0', hardlink: '1', symlink: '2', dir: '5' }[e.type]);
    field(header, 157, 100, e.link ?? '');
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(header, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip (stored entries, Unix modes) holding exactly these entries; symlinks store their target. */
export function makeZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name, 'utf8');
    const data = Buffer.from(e.type === 'symlink' ? (e.link ?? '') : (e.content ?? ''));
    const type = e.unixType ?? (e.type === 'symlink' ? 0o120000 : e.type === 'dir' ? 0o040000 : 0o100000);
    const mode = type | (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
