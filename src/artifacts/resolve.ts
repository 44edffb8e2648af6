/** Turns the playbook's artifact entries into concrete downloads for one package. */
import { posix } from 'node:path';
import { AiopError } from '../core/errors.js';
import type { ArtifactConfig } from '../playbook/schema.js';
import { parseSri, sriFromSha256Hex, sameSri, type DigestForm } from './integrity.js';
import { archiveKindOf } from './archive-kind.js';
import { redactUrl } from '../core/url.js';
import { badRelativePath, destProblem } from '../playbook/path-values.js';

/** One artifact with its variables expanded and its condition already applied. */
export interface ResolvedArtifact {
  name: string;
  url: string;
  /** SRI, e.g. sha256-<base64> */
  integrity: string;
  /** How the playbook wrote it (`sha256:` hex or `integrity:` SRI): messages show digests so. */
  digestForm?: DigestForm;
  extract: boolean;
  stripComponents: number;
  /** package-relative, '' = root; ends with / for a folder */
  dest: string;
  mode?: number;
}

/** True when every `when` condition holds for these compatibility values. */
function matches(when: ArtifactConfig['when'], values: Record<string, string>): boolean {
  if (!when) return true;
  for (const [name, wanted] of Object.entries(when)) {
    const actual = values[name];
    const list = Array.isArray(wanted) ? wanted : [wanted];
    if (actual === undefined || !list.includes(actual)) return false;
  }
  return true;
}

/**
 * Checks that a package-relative destination stays inside the package; returns it with
 * `/` separators, no leading `./`, and the trailing `/` kept (it means "a folder").
 */
export function normalizeDest(dest: string, artifact: string): string {
  if (dest === '' || dest === '.' || dest === './') return '';
  const folder = dest.endsWith('/');
  const bad = badRelativePath(dest);
  if (bad) throw new AiopError('config', destProblem(artifact, dest, bad));
  const parts = dest.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return '';
  return parts.join('/') + (folder ? '/' : '');
}

/** Applies `when` (value or list of values per compatibility name) and expands ${var} in url/dest with `expand`. */
export function resolveArtifacts(
  configs: ArtifactConfig[] | undefined,
  values: Record<string, string>,
  expand: (text: string) => string,
): ResolvedArtifact[] {
  const out: ResolvedArtifact[] = [];
  for (const config of configs ?? []) {
    if (!matches(config.when, values)) continue;
    const url = expand(config.url);
    const fromHex = config.sha256 !== undefined ? sriFromSha256Hex(config.sha256) : undefined;
    const integrity = config.integrity ?? fromHex;
    if (integrity === undefined || parseSri(integrity) === undefined) {
      throw new AiopError('config', `artifact ${config.name}: needs \`sha256\` (64 hex digits) or \`integrity\` (sha256-/sha384-/sha512-<base64>)`);
    }
    if (fromHex !== undefined && config.integrity !== undefined && config.integrity.startsWith('sha256-') && !sameSri(fromHex, config.integrity)) {
      throw new AiopError('config', `artifact ${config.name}: \`sha256\` and \`integrity\` disagree`);
    }
    const extract = config.extract ?? false;
    if (extract && archiveKindOf(url) === undefined) {
      throw new AiopError('config', `artifact ${config.name}: cannot extract ${redactUrl(url)}: its name does not end in .tar.gz, .tgz, .tar.xz, .txz or .zip`);
    }
    const resolved: ResolvedArtifact = {
      name: config.name,
      url,
      integrity,
      ...(config.integrity === undefined ? { digestForm: 'hex' as const } : {}),
      extract,
      stripComponents: config.strip_components ?? 0,
      dest: normalizeDest(expand(config.dest ?? ''), config.name),
    };
    if (config.mode !== undefined) resolved.mode = parseInt(config.mode, 8);
    out.push(resolved);
  }
  return out;
}
