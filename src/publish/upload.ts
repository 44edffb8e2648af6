/**
 * --upload: HTTP PUT of one output to `<base URL>/<file name>` (Artifactory, Nexus raw, WebDAV),
 * with checksum headers, retries with backoff, and credentials that never leave this module.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { redactUrl } from '../core/url.js';
import { AiopError } from '../core/errors.js';
import type { Emit } from '../core/events.js';
import { digestFile } from '../pack/checksums.js';

/** How an upload behaves; `retries` more tries after the first. */
export interface UploadSettings {
  retries: number;
  emit: Emit;
  pkg?: string;
  env?: NodeJS.ProcessEnv;
  /** First retry delay; doubles each retry, capped at 30 s. Default 1000. */
  backoffMs?: number;
  signal?: AbortSignal;
  /** Default 30 s (SPEC: connect timeout). */
  connectTimeoutMs?: number;
  /** Default 60 s without bytes moving (SPEC: idle timeout). */
  idleTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 300_000;
const MAX_SERVER_TEXT = 300;

/** Removes every secret from a text, including their common encodings. */
function scrubber(secrets: string[]): (text: string) => string {
  const list = secrets.filter((s) => s.length >= 1).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of list) out = out.split(secret).join('***');
    return out;
  };
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  const when = Date.parse(text);
  return Number.isNaN(when) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, when - now));
}

/** A server's reply text made fit for one line of an error message. */
function shorten(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > MAX_SERVER_TEXT ? `${plain.slice(0, MAX_SERVER_TEXT)}...` : plain;
}

async function readText(body: AsyncIterable<Buffer>, limit = 4096): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < limit) parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts).subarray(0, limit).toString('utf8');
}

class Retryable extends Error {
  constructor(message: string, readonly delayMs?: number) {
    super(message);
  }
}

/**
 * PUT file to `${baseUrl}/${basename}` with X-Checksum-Sha256/Sha1/Md5, auth from AIOP_UPLOAD_USER/PASSWORD
 * (Basic) or AIOP_UPLOAD_TOKEN (Bearer); streamed; returns the final URL (credentials stripped).
 */
export async function uploadFile(file: string, baseUrl: string, settings: UploadSettings): Promise<string> {
  const env = settings.env ?? process.env;
  const name = basename(file);
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new AiopError('upload', `upload URL is not a valid URL: ${redactUrl(baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new AiopError('upload', `upload URL must be http or https: ${redactUrl(baseUrl)}`);
  }
  const urlUser = decodeURIComponent(base.username);
  const urlPassword = decodeURIComponent(base.password);
  base.username = '';
  base.password = '';
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const target = new URL(encodeURIComponent(name), base);
  const shownUrl = target.toString();

  // Precedence: a token, then user/password from the environment, then user:password in the URL.
  let authorization: string | undefined;
  const secrets: string[] = [];
  const token = env.AIOP_UPLOAD_TOKEN;
  const user = env.AIOP_UPLOAD_USER ?? (urlUser !== '' ? urlUser : undefined);
  const password = env.AIOP_UPLOAD_USER !== undefined ? (env.AIOP_UPLOAD_PASSWORD ?? '') : urlPassword;
  if (token) {
    authorization = `Bearer ${token}`;
    secrets.push(token);
  } else if (user !== undefined) {
    const encoded = Buffer.from(`${user}:${password}`).toString('base64');
    authorization = `Basic ${encoded}`;
    secrets.push(encoded, `${user}:${password}`, encodeURIComponent(password));
    if (password !== '') secrets.push(password);
  }
  const scrub = scrubber(secrets);
  const fail = (message: string, cause?: unknown): AiopError =>
    new AiopError('upload', scrub(`upload of ${name} to ${shownUrl} failed: ${message}`), cause === undefined ? undefined : { cause: scrub(String(cause)) });

  let size: number;
  let sums: { sha256: string; sha1: string; md5: string };
  try {
    size = (await stat(file)).size;
    sums = await digestFile(file, ['sha256', 'sha1', 'md5'] as const);
  } catch (error) {
    throw fail(`cannot read ${file}: ${(error as Error).message}`);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(size),
    'x-checksum-sha256': sums.sha256,
    'x-checksum-sha1': sums.sha1,
    'x-checksum-md5': sums.md5,
  };
  if (authorization) headers.authorization = authorization;

  const dispatcher = new Agent({
    connect: { timeout: settings.connectTimeoutMs ?? 30_000 },
    headersTimeout: settings.idleTimeoutMs ?? 60_000,
    bodyTimeout: settings.idleTimeoutMs ?? 60_000,
  });
  const common = { dispatcher, ...(settings.signal ? { signal: settings.signal } : {}) };
  const pkg = settings.pkg === undefined ? {} : { pkg: settings.pkg };

  /** After a 409/422: the upload still succeeded if the server holds exactly our bytes. */
  async function serverHasSameBytes(): Promise<boolean> {
    const auth = authorization ? { authorization } : {};
    const head = await request(target, { ...common, method: 'HEAD', headers: auth });
    await head.body.dump();
    const remote = head.headers['x-checksum-sha256'];
    if (typeof remote === 'string') return remote.toLowerCase() === sums.sha256;
    const get = await request(target, { ...common, method: 'GET', headers: auth });
    if (get.statusCode !== 200) {
      await get.body.dump();
      return false;
    }
    const hash = createHash('sha256');
    for await (const chunk of get.body) hash.update(chunk as Buffer);
    return hash.digest('hex') === sums.sha256;
  }

  async function attemptOnce(): Promise<void> {
    let response;
    try {
      response = await request(target, { ...common, method: 'PUT', headers, body: createReadStream(file) });
    } catch (error) {
      if (settings.signal?.aborted) throw new AiopError('interrupted', `upload of ${name} interrupted`);
      throw new Retryable(scrub((error as Error).message || String(error)));
    }
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      await response.body.dump();
      return;
    }
    const text = shorten(await readText(response.body as AsyncIterable<Buffer>).catch(() => ''));
    const label = `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim() + (text ? `: ${text}` : '');
    if (status === 409 || status === 422) {
      const same = await serverHasSameBytes().catch(() => false);
      if (same) return;
      throw fail(`${label} (the server already has a different ${name})`);
    }
    if (status >= 500 || status === 429) throw new Retryable(scrub(label), retryAfterMs(response.headers['retry-after']));
    throw fail(label);
  }

  try {
    const tries = Math.max(0, Math.floor(settings.retries)) + 1;
    for (let attempt = 1; ; attempt++) {
      settings.emit({ type: 'upload-start', ...pkg, file: name, url: shownUrl, attempt });
      try {
        await attemptOnce();
        settings.emit({ type: 'upload-done', ...pkg, file: name, url: shownUrl, bytes: size });
        return shownUrl;
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        if (attempt >= tries) throw fail(`${error.message} (after ${tries} ${tries === 1 ? 'try' : 'tries'})`);
        const backoff = Math.min(MAX_BACKOFF_MS, (settings.backoffMs ?? 1000) * 2 ** (attempt - 1));
        const delayMs = error.delayMs ?? backoff;
        settings.emit({ type: 'upload-retry', ...pkg, file: name, url: shownUrl, attempt, reason: error.message, delayMs });
        try {
          await sleep(delayMs, undefined, settings.signal ? { signal: settings.signal } : {});
        } catch {
          throw new AiopError('interrupted', `upload of ${name} interrupted`);
        }
      }
    }
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}
