/**
 * Credentials the run knows of besides the upload variables: the userinfo of every URL the
 * playbook, the user configuration or the command line names (`https://alice:S3cret@host/...`,
 * also `http://alice:${PW}@host/...` with PW given as a variable). A server may echo them back
 * in an error body, plain or as the Basic header it received, so each is masked in all its
 * forms: as written, percent-decoded, the password alone, and base64 of `user:password`.
 */

// `scheme://userinfo@`, where userinfo may hold variable references such as ${PW} or $(PW).
const USERINFO = /\b[a-z][a-z0-9+.-]*:\/\/((?:\$\{[^}\s]*\}|\$\([^)\s]*\)|[^\s/?#@"'])+)@/gi;
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$([A-Za-z_][A-Za-z0-9_]*)/g;

const userinfos = new Set<string>();
const values = new Map<string, string>();
let known: string[] | undefined;

/** Notes the userinfo of every URL in `text` (a playbook, a configuration, a command line). */
export function noteUrlsIn(text: string): void {
  for (const match of text.matchAll(USERINFO)) {
    if (!userinfos.has(match[1]!)) {
      userinfos.add(match[1]!);
      known = undefined;
    }
  }
}

/** Notes variable values (playbook variables, `NAME=value` on the command line) that URLs may refer to. */
export function noteVariables(vars: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(vars)) {
    if (values.get(name) === value) continue;
    values.set(name, value);
    known = undefined;
    // A value may itself be (or hold) a URL with credentials.
    noteUrlsIn(value);
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every form of one userinfo that must not be shown. */
function formsOf(userinfo: string): string[] {
  const colon = userinfo.indexOf(':');
  // Without a password, the user part is the credential (a token is often given that way).
  if (colon < 0) return [userinfo, decoded(userinfo), Buffer.from(`${decoded(userinfo)}:`).toString('base64')];
  const user = userinfo.slice(0, colon);
  const password = userinfo.slice(colon + 1);
  const forms = [userinfo, decoded(userinfo), password, decoded(password)];
  for (const pair of [`${decoded(user)}:${decoded(password)}`, userinfo]) {
    forms.push(Buffer.from(pair).toString('base64'));
    // base64 without its padding, as some servers print it.
    forms.push(Buffer.from(pair).toString('base64').replace(/=+$/, ''));
  }
  return forms;
}

/** Expands variable references with the values noted (unknown ones are left as written). */
function expanded(userinfo: string): string {
  let out = userinfo;
  // Values may refer to other values; a few rounds settle any sane chain.
  for (let round = 0; round < 5 && out.includes('$'); round++) {
    out = out.replace(REFERENCE, (whole, a?: string, b?: string, c?: string) => values.get((a ?? b ?? c)!) ?? whole);
  }
  return out;
}

/**
 * The secrets known so far in all their forms (the command line's own URLs included), longest
 * first. Parts too short to be told from ordinary text (under 3 characters) are left out.
 */
export function knownSecrets(): string[] {
  if (known !== undefined) return known;
  noteUrlsIn(process.argv.slice(2).join(' '));
  const forms = new Set<string>();
  for (const userinfo of userinfos) {
    for (const form of formsOf(expanded(userinfo))) if (form.length >= 3 && !form.includes('$')) forms.add(form);
  }
  known = [...forms].sort((a, b) => b.length - a.length);
  return known;
}
