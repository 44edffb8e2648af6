/**
 * Opens one try of a download: a byte stream from `file://`, `http://` or `https://`, with
 * proxies from the environment, verified TLS (plus extra CAs) and connect/idle timeouts.
 * Failures come out as {@link TryFailure}, which says whether another try could help.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { EnvHttpProxyAgent, interceptors, request, type Dispatcher } from 'undici';
import { redactUrl, splitCredentials } from '../core/url.js';
import { parseRetryAfter } from './retry-after.js';
import { AiopError, fileSystemFailure } from '../core/errors.js';

export { parseRetryAfter };

/** One failed try, and whether the next one may succeed. */
export class TryFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Set from a 429/503 `Retry-After`: wait this long instead of the backoff. */
    readonly retryAfterMs?: number,
    /** Set for a checksum mismatch, for the final message. */
    readonly actualIntegrity?: string,
  ) {
    super(message);
    this.name = 'TryFailure';
  }
}

/** What a try yields: the body and, when the server said, its length. */
export interface OpenedSource {
  body: Readable;
  total?: number;
}

/** Network settings of a download. */
export interface SourceSettings {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  caFile?: string;
  signal?: AbortSignal;
}

/**
 * Trusted CAs: Node's defaults, the PEM file in NODE_EXTRA_CA_CERTS (given explicitly,
 * because passing `ca` replaces the defaults Node had extended with it) and `caFile`.
 */
async function trustedCas(caFile: string | undefined): Promise<string[] | undefined> {
  if (caFile === undefined) return undefined;
  const cas = [...rootCertificates];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra) cas.push(await readFile(extra, 'utf8').catch(() => ''));
  cas.push(await readFile(caFile, 'utf8'));
  return cas.filter((c) => c !== '');
}

/**
 * A dispatcher for one artifact's tries: proxies from HTTP_PROXY/HTTPS_PROXY/NO_PROXY,
 * redirects followed, the connect timeout on the socket and the idle timeout on both the
 * wait for headers and each gap between body chunks.
 */
export async function makeDispatcher(settings: SourceSettings): Promise<Dispatcher> {
  const ca = await trustedCas(settings.caFile);
  const tls = ca ? { ca } : {};
  const agent = new EnvHttpProxyAgent({
    connect: { timeout: settings.connectTimeoutMs, ...tls },
    requestTls: { timeout: settings.connectTimeoutMs, ...tls },
    proxyTls: { timeout: settings.connectTimeoutMs, ...tls },
    headersTimeout: settings.idleTimeoutMs,
    bodyTimeout: settings.idleTimeoutMs,
  });
  return agent.compose(interceptors.redirect({ maxRedirections: 10 }));
}

/** TLS verification failures: another try would fail the same way. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Turns what a try threw into a {@link TryFailure}. */
export function classify(error: unknown): TryFailure {
  if (error instanceof TryFailure) return error;
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const message = e.message ?? String(error);
  if (code && TLS_CODES.has(code)) {
    return new TryFailure(`TLS certificate not trusted (${code}): ${message}; configure its CA with ca_file or NODE_EXTRA_CA_CERTS`, false);
  }
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new TryFailure(`connect timeout: ${message}`, true);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TryFailure(`idle timeout waiting for the response headers`, true);
    case 'UND_ERR_BODY_TIMEOUT':
      return new TryFailure(`idle timeout: no data received for a while`, true);
    // The local file system, not the network: another try would fail the same way.
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
    case 'EPERM':
    case 'ENOENT':
    case 'EACCES':
    case 'EISDIR':
    case 'ERR_INVALID_URL':
    case 'UND_ERR_INVALID_ARG': {
      // Worded as every refused write is, with the path when the error knows it.
      const local = fileSystemFailure(error);
      return new TryFailure(local instanceof AiopError ? local.message : message, false);
    }
    default:
      return new TryFailure(code ? `${message} (${code})` : message, true);
  }
}

/** Opens a `file:`, `http:` or `https:` URL for one try. */
export async function openSource(url: string, dispatcher: Dispatcher, settings: SourceSettings): Promise<OpenedSource> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TryFailure(`not a valid URL: ${redactUrl(url)}`, false);
  }
  if (parsed.protocol === 'file:') {
    const path = fileURLToPath(parsed);
    let size: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new TryFailure(`${path} is not a file`, false);
      size = s.size;
    } catch (error) {
      throw classify(error);
    }
    return { body: createReadStream(path, { highWaterMark: 1 << 20 }), total: size };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TryFailure(`unsupported URL scheme ${parsed.protocol} (use https, http or file)`, false);
  }
  const { bare, authorization } = splitCredentials(parsed);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(bare, {
      method: 'GET',
      dispatcher,
      headers: { 'user-agent': 'aiop', accept: '*/*', ...(authorization ? { authorization } : {}) },
      ...(settings.signal ? { signal: settings.signal } : {}),
    });
  } catch (error) {
    throw classify(error);
  }
  const { statusCode, headers, body } = response;
  if (statusCode >= 200 && statusCode < 300) {
    const length = headers['content-length'];
    const total = typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : undefined;
    return total === undefined ? { body } : { body, total };
  }
  const text = await readSome(body);
  const detail = `HTTP ${statusCode}${text ? `: ${text}` : ''}`;
  const retryAfter = headers['retry-after'];
  const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined);
  if (statusCode === 429 || statusCode >= 500) throw new TryFailure(detail, true, retryAfterMs);
  if (statusCode === 408) throw new TryFailure(detail, true);
  throw new TryFailure(detail, false);
}

/** The start of an error body (servers explain themselves there), then the rest discarded. */
async function readSome(body: Readable): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      if (text.length < 300) text += (chunk as Buffer).toString('utf8');
      else break;
    }
  } catch {
    // the explanation is optional
  }
  body.destroy();
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}...` : plain;
}
