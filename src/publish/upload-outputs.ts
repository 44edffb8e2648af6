/** --upload zip deb rpm: uploads the named outputs of one build, one after the other. */
import { AiopError } from '../core/errors.js';
import { uploadFile, type UploadSettings } from './upload.js';

/** The files a build made, by the names `--upload` accepts. */
export type UploadableOutputs = Partial<Record<'zip' | 'deb' | 'rpm', string>>;

/**
 * Uploads each requested kind; asking for a kind this build did not make is refused before
 * any byte is sent (the CLI should check the same earlier, as a usage error). Returns what
 * went where, for the manifest.
 */
export async function uploadOutputs(
  kinds: Array<'zip' | 'deb' | 'rpm'>,
  made: UploadableOutputs,
  baseUrl: string,
  settings: UploadSettings,
): Promise<Array<{ file: string; url: string }>> {
  const missing = kinds.filter((k) => made[k] === undefined);
  if (missing.length > 0) throw new AiopError('upload', `cannot upload ${missing.join(' and ')}: this build does not make it`);
  const done: Array<{ file: string; url: string }> = [];
  for (const kind of [...new Set(kinds)]) {
    const file = made[kind]!;
    done.push({ file, url: await uploadFile(file, baseUrl, settings) });
  }
  return done;
}
