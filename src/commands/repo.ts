/**
 * `aiop repo apt OUTPUT_DIR [--suite stable] [--component main] [--deb FILE...] [--signing_key FILE]
 * [--upload_url URL [--retries N]]`: a signed apt repository from the .debs under the playbook's
 * `.build/` (or the files given), and the files that changed PUT to URL.
 * The key comes from the file or from AIOP_SIGNING_KEY and is never printed, logged or stored.
 */
import { resolveSettings } from '../options/settings.js';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { AiopEvent } from '../core/events.js';
import { redactUrl } from '../core/url.js';
import { findPlaybookRoot } from '../playbook/find-root.js';
import { loadUserConfig } from '../playbook/user-config.js';
import { readSigningKeyText } from '../pack/signing-key.js';
import { sourceDate } from '../pack/source-date.js';
import { writeAptRepo } from '../publish/apt-repo.js';
import { uploadRepo } from '../publish/repo-upload.js';
import { describe } from '../report/format.js';

/** The parsed arguments of `aiop repo apt`. */
export interface RepoAptOptions {
  outputDir: string;
  suite: string;
  component: string;
  debs: string[];
  signingKeyFile?: string;
  /** Where to PUT what changed, as `--upload` does (checksum headers, retries, credentials). */
  uploadUrl?: string;
  /** Upload retries after the first try; default: the user configuration's download_retries. */
  retries?: number;
}

/** Refuses an upload URL that could never work, before anything is written. */
function checkUploadUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--upload_url is not a valid URL: ${redactUrl(url)}`, 'give an http:// or https:// URL, e.g. https://repo.example.com/apt');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--upload_url must be http or https: ${redactUrl(url)}`, 'give an http:// or https:// URL, e.g. https://repo.example.com/apt');
  }
}

/** Runs `aiop repo apt`. */
export async function repoAptCommand(options: RepoAptOptions, io: { cwd: string; env: NodeJS.ProcessEnv; stdout: NodeJS.WritableStream }): Promise<number> {
  if (options.uploadUrl !== undefined) checkUploadUrl(options.uploadUrl);
  const userConfig = options.uploadUrl === undefined ? undefined : (await loadUserConfig(io.env)).config;
  const key = (await readSigningKeyText(options.signingKeyFile, io.cwd, io.env))?.armored;
  if (key === undefined) throw new UsageError('aiop repo apt needs a signing key', 'give --signing_key FILE or set AIOP_SIGNING_KEY to an armored OpenPGP private key');
  let debs = options.debs.map((d) => resolve(io.cwd, d));
  let root = io.cwd;
  if (debs.length === 0) {
    root = await findPlaybookRoot(io.cwd);
    const build = join(root, '.build');
    debs = (await readdir(build).catch(() => [] as string[])).filter((n) => n.endsWith('.deb')).sort().map((n) => join(build, n));
    if (debs.length === 0) throw new UsageError(`no .deb in ${build}`, 'build with --installer deb first, or name files with --deb');
  }
  const lines: string[] = [];
  const emit = (event: AiopEvent): void => {
    if (event.type === 'log' && event.level !== 'DEBUG') lines.push(event.message);
  };
  const outputDir = resolve(io.cwd, options.outputDir);
  const result = await writeAptRepo({ outputDir, suite: options.suite, component: options.component, debs, signingKey: key, date: await sourceDate(root, io.env), emit });
  for (const line of lines) io.stdout.write(`${line}\n`);
  io.stdout.write(`apt repository in ${outputDir}: ${result.written.length} file(s) written; use it with\n  deb [signed-by=${join(outputDir, 'key.asc')}] <URL of ${outputDir}> ${options.suite} ${options.component}\n`);
  if (options.uploadUrl !== undefined && userConfig !== undefined) {
    const uploads = await uploadRepo(outputDir, result.written, options.uploadUrl, {
      retries: resolveSettings(options, userConfig).retries,
      env: io.env,
      connectTimeoutMs: userConfig.connect_timeout * 1000,
      idleTimeoutMs: userConfig.idle_timeout * 1000,
      emit: (event) => {
        const message = describe(event);
        if (message !== undefined && message.level !== 'DEBUG') io.stdout.write(`${message.text}\n`);
      },
    });
    io.stdout.write(uploads.length === 0 ? `nothing changed: nothing uploaded to ${redactUrl(options.uploadUrl)}\n` : `${uploads.length} file(s) uploaded to ${redactUrl(options.uploadUrl)}\n`);
  }
  return 0;
}
