/**
 * The header structure of the rpm v4 format (rpm's doc/manual/format_header.md): a magic,
 * an index of (tag, type, offset, count) entries sorted by tag and a data store in the same
 * order, each value aligned to its type. The first entry is the region tag that rpm uses to
 * tell the signed (immutable) part; its trailer closes the data store.
 */

/** Value types of header entries. */
export const RPM_TYPE = { INT16: 3, INT32: 4, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

/** One header entry's value. */
export type RpmValue =
  | { type: 'int16'; values: number[] }
  | { type: 'int32'; values: number[] }
  | { type: 'string'; value: string }
  | { type: 'bin'; value: Buffer }
  | { type: 'strings'; values: string[] }
  | { type: 'i18n'; value: string };

const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
const REGION_COUNT = 16;

function encode(value: RpmValue): { type: number; count: number; data: Buffer; align: number } {
  switch (value.type) {
    case 'int16': {
      const b = Buffer.alloc(value.values.length * 2);
      value.values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, i * 2));
      return { type: RPM_TYPE.INT16, count: value.values.length, data: b, align: 2 };
    }
    case 'int32': {
      const b = Buffer.alloc(value.values.length * 4);
      value.values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
      return { type: RPM_TYPE.INT32, count: value.values.length, data: b, align: 4 };
    }
    case 'string':
      return { type: RPM_TYPE.STRING, count: 1, data: Buffer.from(`${value.value}\0`, 'utf8'), align: 1 };
    case 'i18n':
      return { type: RPM_TYPE.I18NSTRING, count: 1, data: Buffer.from(`${value.value}\0`, 'utf8'), align: 1 };
    case 'bin':
      return { type: RPM_TYPE.BIN, count: value.value.length, data: value.value, align: 1 };
    case 'strings':
      return { type: RPM_TYPE.STRING_ARRAY, count: value.values.length, data: Buffer.from(value.values.map((s) => `${s}\0`).join(''), 'utf8'), align: 1 };
  }
}

/**
 * The bytes of one header with `regionTag` (62 for the signature header, 63 for the main
 * header) enclosing all of `entries`. Entries with an empty array are left out.
 */
export function rpmHeader(regionTag: number, entries: Map<number, RpmValue>): Buffer {
  const tags = [...entries.keys()].sort((a, b) => a - b);
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let offset = 0;
  const present = tags.filter((tag) => {
    const v = entries.get(tag)!;
    return !(('values' in v) && v.values.length === 0);
  });
  const count = present.length + 1;
  for (const tag of present) {
    const e = encode(entries.get(tag)!);
    const pad = (e.align - (offset % e.align)) % e.align;
    if (pad > 0) {
      data.push(Buffer.alloc(pad));
      offset += pad;
    }
    const entry = Buffer.alloc(16);
    entry.writeUInt32BE(tag, 0);
    entry.writeUInt32BE(e.type, 4);
    entry.writeUInt32BE(offset, 8);
    entry.writeUInt32BE(e.count, 12);
    index.push(entry);
    data.push(e.data);
    offset += e.data.length;
  }
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32BE(regionTag, 0);
  trailer.writeUInt32BE(RPM_TYPE.BIN, 4);
  trailer.writeInt32BE(-count * 16, 8);
  trailer.writeUInt32BE(REGION_COUNT, 12);
  const region = Buffer.alloc(16);
  region.writeUInt32BE(regionTag, 0);
  region.writeUInt32BE(RPM_TYPE.BIN, 4);
  region.writeUInt32BE(offset, 8);
  region.writeUInt32BE(REGION_COUNT, 12);
  data.push(trailer);
  offset += 16;
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32BE(count, 0);
  sizes.writeUInt32BE(offset, 4);
  return Buffer.concat([HEADER_MAGIC, sizes, region, ...index, ...data]);
}

/** The 96-byte lead: magic, version 3.0, binary, arch number, `name-version-release`, Linux, header-style signature. */
export function rpmLead(nevr: string, archNum: number): Buffer {
  const lead = Buffer.alloc(96);
  Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]).copy(lead, 0);
  lead.writeUInt16BE(0, 6);
  lead.writeUInt16BE(archNum, 8);
  Buffer.from(nevr, 'utf8').copy(lead, 10, 0, 65);
  lead.writeUInt16BE(1, 76);
  lead.writeUInt16BE(5, 78);
  return lead;
}

/** cpio "newc" header of one payload entry (name with its NUL, padded to 4 bytes). */
export function cpioHeader(fields: { ino: number; mode: number; nlink: number; mtime: number; size: number; name: string }): Buffer {
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  const name = Buffer.from(`${fields.name}\0`, 'utf8');
  const head =
    '070701' + hex(fields.ino) + hex(fields.mode) + hex(0) + hex(0) + hex(fields.nlink) + hex(fields.mtime) + hex(fields.size) +
    hex(0) + hex(0) + hex(0) + hex(0) + hex(name.length) + hex(0);
  const total = 110 + name.length;
  return Buffer.concat([Buffer.from(head, 'ascii'), name, Buffer.alloc((4 - (total % 4)) % 4)]);
}

/** Zero bytes that align `size` to 4 (cpio data) or 8 (after the signature header). */
export function padTo(size: number, unit: number): Buffer {
  return Buffer.alloc((unit - (size % unit)) % unit);
}
