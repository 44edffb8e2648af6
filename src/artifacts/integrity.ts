/** Digests in the SRI form (`sha256-<base64>`) that the playbook, cacache and messages share. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The hash algorithms an artifact's integrity may use, strongest last. */
export type Algorithm = 'sha256' | 'sha384' | 'sha512';

/** A parsed SRI string with one digest. */
export interface Sri {
  algorithm: Algorithm;
  /** base64 digest */
  digest: string;
}

const SRI = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$/;

/** Parses `sha256-<base64>`; returns undefined for anything else. */
export function parseSri(text: string): Sri | undefined {
  const m = SRI.exec(text.trim());
  if (!m) return undefined;
  return { algorithm: m[1] as Algorithm, digest: m[2]! };
}

/** `sha256-<base64>` from 64 hexadecimal digits. */
export function sriFromSha256Hex(hex: string): string {
  return `sha256-${Buffer.from(hex, 'hex').toString('base64')}`;
}

/** Incrementally hashes bytes as they pass, so the digest is ready when the last byte arrives. */
export class Digester {
  readonly #hash: Hash;
  bytes = 0;
  constructor(readonly algorithm: Algorithm) {
    this.#hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
  }
  /** The SRI string of everything seen; call once. */
  sri(): string {
    return `${this.algorithm}-${this.#hash.digest('base64')}`;
  }
}

/** Streams a file through a hash (flat memory whatever its size) and returns its SRI string. */
export async function sriOfFile(file: string, algorithm: Algorithm, signal?: AbortSignal): Promise<string> {
  const digester = new Digester(algorithm);
  const stream = createReadStream(file, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) });
  for await (const chunk of stream) digester.update(chunk as Buffer);
  return digester.sri();
}

/** Whether two SRI strings name the same digest (case of the algorithm aside). */
export function sameSri(a: string, b: string): boolean {
  const pa = parseSri(a);
  const pb = parseSri(b);
  return pa !== undefined && pb !== undefined && pa.algorithm === pb.algorithm && pa.digest === pb.digest;
}

/**
 * How the playbook wrote a digest: `sha256: <hex>` ('hex') or `integrity: <algorithm>-<base64>`
 * ('sri'). Messages show digests in that form, so that they can be compared with what the user
 * wrote and with `sha256sum`.
 */
export type DigestForm = 'hex' | 'sri';

/** An SRI digest in the user's form: hexadecimal digits for 'hex', the SRI string itself otherwise. */
export function showDigest(sri: string, form: DigestForm = 'sri'): string {
  const parsed = parseSri(sri);
  return form === 'hex' && parsed ? Buffer.from(parsed.digest, 'base64').toString('hex') : sri;
}

/** The two lines of a checksum mismatch, expected above actual, each named as the playbook names it. */
export function mismatchLines(expected: string, actual: string, form: DigestForm = 'sri'): string {
  const key = form === 'hex' ? `${parseSri(expected)?.algorithm ?? 'sha256'}:` : 'integrity:';
  return `  expected ${key} ${showDigest(expected, form)}\n  actual   ${key} ${showDigest(actual, form)}`;
}
