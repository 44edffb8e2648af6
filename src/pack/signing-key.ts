/**
 * The OpenPGP signing key of `aiop repo apt` and of signed .rpm builds: an armored private
 * key from `--signing_key FILE` or the environment variable AIOP_SIGNING_KEY. The key's text
 * is never printed, logged or stored; errors say only what kind of problem it has. Signing
 * is in-process with openpgp.js.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PrivateKey } from 'openpgp';
import { UsageError } from '../core/errors.js';

/** Where the key came from, for messages that must not show the key itself. */
export interface SigningKeyText {
  armored: string;
  /** `--signing_key FILE` (absolute) or undefined for AIOP_SIGNING_KEY. */
  file?: string;
}

/**
 * The key text from `file` (relative to cwd) or else from AIOP_SIGNING_KEY; undefined when
 * neither is given. A file that cannot be read is a usage error naming the file, not its content.
 */
export async function readSigningKeyText(file: string | undefined, cwd: string, env: NodeJS.ProcessEnv): Promise<SigningKeyText | undefined> {
  if (file !== undefined) {
    const path = resolve(cwd, file);
    let armored: string;
    try {
      armored = await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --signing_key ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (armored.trim() === '') throw new UsageError(`--signing_key ${file} is empty`, 'export a key with gpg --armor --export-secret-keys KEYID');
    return { armored, file: path };
  }
  const armored = env.AIOP_SIGNING_KEY;
  return armored === undefined || armored.trim() === '' ? undefined : { armored };
}

/** A detached signature as rpm stores it in the signature header. */
export interface RpmSignature {
  /** RPMSIGTAG_RSA (268) for an RSA key, RPMSIGTAG_DSA (267) for DSA, ECDSA and EdDSA keys, as rpmsign chooses. */
  tag: 267 | 268;
  /** The binary OpenPGP v4 signature packet. */
  packet: Buffer;
}

/** A loaded, usable private key. */
export interface SigningKey {
  /** The armored public key (what users import). */
  publicKey: string;
  /** The primary key's fingerprint, upper-case hex: names the key without revealing it. */
  fingerprint: string;
  /**
   * Why this key cannot sign a .rpm, or undefined when it can. ECDSA and DSA signatures are
   * random (equal inputs would give different bytes), and Debian 12's rpm 4.18 cannot import
   * ECDSA keys at all; RSA and EdDSA (Ed25519) keys sign deterministically and rpm verifies them.
   */
  rpmProblem?: string;
  /** Clearsigned text (InRelease). */
  clearsign(text: string): Promise<string>;
  /** An armored detached signature (Release.gpg). */
  detach(data: Buffer): Promise<string>;
  /**
   * A binary detached signature of `data` that depends only on the key, the data and `date`:
   * the signature's creation time is `date`, or the time of the key's newest self-signature
   * when the key did not exist yet at `date` (a signature older than its key is refused by
   * verifiers). openpgp.js's random salt notation is left out so that equal inputs give equal
   * bytes; RSA (PKCS#1 v1.5) and EdDSA signatures are deterministic themselves.
   */
  detachReproducible(data: Buffer, date: Date): Promise<RpmSignature>;
}

/** Signature algorithms whose signatures depend only on the key and the data (openpgp.js names). */
const DETERMINISTIC = new Set(['rsaEncryptSign', 'rsaSign', 'eddsaLegacy', 'ed25519', 'ed448']);

/** What to do about a key that cannot sign a .rpm. */
export const RPM_KEY_HINT = 'sign .rpm packages with an RSA or Ed25519 key (gpg --quick-generate-key NAME rsa3072 sign, or ed25519 sign)';

/** Reads and checks an armored private key; see the module comment. */
export async function loadSigningKey(armoredKey: string): Promise<SigningKey> {
  const openpgp = await import('openpgp');
  let key: PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey });
  } catch {
    // The library's message may quote the input: say only what kind of problem it is.
    throw new UsageError('the signing key is not an armored OpenPGP private key', 'export one with gpg --armor --export-secret-keys KEYID');
  }
  if (!key.isDecrypted()) throw new UsageError('the signing key is protected by a passphrase', 'give an unprotected key (kept in a CI secret)');
  let algorithm: string;
  try {
    algorithm = (await key.getSigningKey()).getAlgorithmInfo().algorithm;
  } catch {
    throw new UsageError('the signing key cannot sign now (no signing subkey, or expired or revoked)', 'give a key that gpg --list-secret-keys shows with usage S');
  }
  const signingDate = async (date: Date): Promise<Date> => {
    try {
      await key.getSigningKey(undefined, date);
      return date;
    } catch {
      const times = [key.getCreationTime(), ...key.users.flatMap((u) => u.selfCertifications.map((s) => s.created)), ...key.subkeys.flatMap((s) => s.bindingSignatures.map((b) => b.created))];
      return new Date(Math.max(...times.map((t) => (t ? t.getTime() : 0))));
    }
  };
  const problemOf = (name: string): string | undefined =>
    DETERMINISTIC.has(name)
      ? undefined
      : `the signing key is ${name === 'dsa' ? 'a DSA' : name === 'ecdsa' ? 'an ECDSA' : `a ${name}`} key: its signatures are random, so the .rpm would not be reproducible${name === 'ecdsa' ? ', and rpm 4.18 cannot import it' : ''}`;
  const rpmProblem = problemOf(algorithm);
  return {
    ...(rpmProblem ? { rpmProblem } : {}),
    publicKey: key.toPublic().armor(),
    fingerprint: key.getFingerprint().toUpperCase(),
    clearsign: async (text) => openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key }),
    detach: async (data) => openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: key, detached: true, format: 'armored' }),
    detachReproducible: async (data, date) => {
      const when = await signingDate(new Date(Math.floor(date.getTime() / 1000) * 1000));
      const signer = await key.getSigningKey(undefined, when);
      const problem = problemOf(signer.getAlgorithmInfo().algorithm);
      if (problem) throw new UsageError(problem, RPM_KEY_HINT);
      const packet = await openpgp.sign({
        message: await openpgp.createMessage({ binary: data }),
        signingKeys: key,
        detached: true,
        format: 'binary',
        date: when,
        config: { nonDeterministicSignaturesViaNotation: false },
      });
      return { tag: signer.getAlgorithmInfo().algorithm.startsWith('rsa') ? 268 : 267, packet: Buffer.from(packet) };
    },
  };
}
