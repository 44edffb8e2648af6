/** URLs may carry credentials (`https://user:token@host/...`); they must never reach a message, an event, a log or the cache index. Shared by downloads and uploads. */

/** The URL with any user name and password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.href;
  } catch {
    // Not a URL: still hide anything that looks like user:password@.
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

/** Splits credentials off a URL: the bare URL, and a Basic `Authorization` value when there were any. */
export function splitCredentials(url: URL): { bare: URL; authorization?: string } {
  if (url.username === '' && url.password === '') return { bare: url };
  const bare = new URL(url.href);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  bare.username = '';
  bare.password = '';
  return { bare, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/**
 * What is wrong with an upload URL that no server could ever take (not a URL, not http or
 * https, no host), or undefined. Checked before anything is built: the upload comes last.
 */
export function uploadUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `is not a valid URL: ${redactUrl(url)}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be http or https, not ${parsed.protocol.slice(0, -1)}: ${redactUrl(url)}`;
  if (parsed.hostname === '') return `has no host: ${redactUrl(url)}`;
  return undefined;
}

/** The hint beside an {@link uploadUrlProblem}. */
export const UPLOAD_URL_HINT = 'give an http:// or https:// URL with a host, e.g. https://repo.example.com/hello';
