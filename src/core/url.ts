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
