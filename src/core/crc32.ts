/** CRC-32 (IEEE 802.3), as zip archives use it. */
import * as zlib from 'node:zlib';

/** zlib.crc32 is newer than Node.js 20.0: a table stands in where it is missing. */
const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let table: Uint32Array | undefined;

/** The CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, value = 0): number {
  if (native !== undefined) return native(data, value);
  return crc32Table(data, value);
}

/** The same, always computed in JavaScript (for Node.js versions without zlib.crc32, and to test it). */
export function crc32Table(data: Uint8Array, value = 0): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
