/** Small readers for the binary formats the tests inspect byte by byte (independent of our writers). */

/** Members of an ar archive, in order. */
export function readAr(data: Buffer): Array<{ name: string; header: string; body: Buffer }> {
  if (data.subarray(0, 8).toString('latin1') !== '!<arch>\n') throw new Error('not an ar archive');
  const members: Array<{ name: string; header: string; body: Buffer }> = [];
  let offset = 8;
  while (offset < data.length) {
    const header = data.subarray(offset, offset + 60).toString('latin1');
    const size = Number(header.slice(48, 58).trim());
    const body = data.subarray(offset + 60, offset + 60 + size);
    members.push({ name: header.slice(0, 16).trim(), header, body });
    offset += 60 + size + (size % 2);
  }
  return members;
}

/** The central directory records of a zip (no zip64 support: test archives are small). */
export function readZipCentral(data: Buffer): Array<{ name: string; time: number; date: number; extraLength: number; externalAttributes: number; method: number; localTime: number; localDate: number }> {
  const eocd = data.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = data.readUInt16LE(eocd + 10);
  let offset = data.readUInt32LE(eocd + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    if (data.readUInt32LE(offset) !== 0x02014b50) throw new Error('bad central directory');
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    const localOffset = data.readUInt32LE(offset + 42);
    const localExtra = data.readUInt16LE(localOffset + 28);
    out.push({
      name: data.subarray(offset + 46, offset + 46 + nameLength).toString('utf8'),
      method: data.readUInt16LE(offset + 10),
      time: data.readUInt16LE(offset + 12),
      date: data.readUInt16LE(offset + 14),
      extraLength: extraLength + localExtra,
      externalAttributes: data.readUInt32LE(offset + 38),
      localTime: data.readUInt16LE(localOffset + 10),
      localDate: data.readUInt16LE(localOffset + 12),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** Decodes DOS date/time fields to `YYYY-MM-DDTHH:MM:SS`. */
export function dosToIso(date: number, time: number): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${1980 + (date >> 9)}-${p((date >> 5) & 15)}-${p(date & 31)}T${p(time >> 11)}:${p((time >> 5) & 63)}:${p((time & 31) * 2)}`;
}
