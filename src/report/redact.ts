/**
 * Secret scrubbing, applied to every line before it reaches any sink (console, log file,
 * machine-readable stdout). Credentials must never appear in output (SPEC 3, upload).
 */

import { knownSecrets } from './known-secrets.js';

/** What a secret is replaced with. */
export const MASK = '***';

// `scheme://userinfo@`: the whole userinfo goes, since a token is often given as the user alone.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
// `Authorization: Basic abc`, `authorization=Bearer abc`, `"Authorization": "token abc"`.
const AUTH_HEADER = /(authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer|token|digest|negotiate)\s+)?[^\s"',;]+/gi;
// A bearer token quoted without its header name.
const BEARER = /\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi;

/** The forms a secret may take in a line: as is, and percent-encoded (as inside a URL). */
function variants(secret: string): string[] {
  const forms = new Set<string>([secret]);
  try {
    forms.add(encodeURIComponent(secret));
  } catch {
    // A lone surrogate cannot be encoded; the literal form is still scrubbed.
  }
  return [...forms];
}

/**
 * Replaces every occurrence of the given secrets (and their percent-encoded forms) with
 * {@link MASK}, then scrubs `user:password@` in URLs and the value of Authorization headers.
 * Empty secrets are ignored (an unset variable must not mask everything).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  const forms = secrets
    .filter((s) => s.length > 0)
    .flatMap(variants)
    .sort((a, b) => b.length - a.length);
  for (const form of forms) {
    if (out.includes(form)) out = out.split(form).join(MASK);
  }
  out = out.replace(URL_USERINFO, `$1${MASK}@`);
  out = out.replace(AUTH_HEADER, (_m, head: string, scheme: string | undefined) =>
    scheme ? `${head}${scheme} ${MASK}` : `${head}${MASK}`,
  );
  out = out.replace(BEARER, `$1 ${MASK}`);
  return out;
}

/** A redactor bound to a fixed list of secrets. */
export function redactor(secrets: readonly string[] | undefined): (text: string) => string {
  const list = (secrets ?? []).filter((s) => s.length > 0);
  // The credentials of URLs are learnt as the playbook and the variables are read: looked up per line.
  return (text) => redact(text, [...list, ...knownSecrets()]);
}

/** {@link redact} with only the credentials the run knows of (for messages printed outside the reporters). */
export function redactKnown(text: string): string {
  return redact(text, knownSecrets());
}
