/** The `ar` container of a .deb (deb(5)): global magic, then 60-byte member headers. */

/** Global header of every ar archive. */
export const AR_MAGIC = Buffer.from('!<arch>\n', 'ascii');

/**
 * The 60-byte header of one member, the way dpkg-deb writes it: name without the GNU `/`,
 * mtime, uid and gid zero (deterministic), mode 100644, size in decimal.
 */
export function arMemberHeader(name: string, size: number): Buffer {
  if (name.length > 16 || !/^[\x21-\x7e]+$/.test(name)) throw new Error(`ar member name not representable: ${name}`);
  if (size > 9_999_999_999) throw new Error(`ar member too large: ${size} bytes`);
  const text =
    name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(size).padEnd(10) + '`\n';
  return Buffer.from(text, 'ascii');
}

/** Members are aligned to even offsets with a newline byte. */
export function arPadding(size: number): Buffer {
  return size % 2 === 1 ? Buffer.from('\n', 'ascii') : Buffer.alloc(0);
}
