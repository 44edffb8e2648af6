/** --goto_pack: show the finished package folder in the platform's file manager. */
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import open from 'open';

/** How long a file-manager launcher may run before we take it as started (some block until closed). */
const LAUNCH_GRACE_MS = 3000;

/**
 * Opens the folder with the platform file manager (the `open` package); without a desktop (no DISPLAY/
 * WAYLAND_DISPLAY on Linux, or open fails) returns { opened: false, reason } instead of throwing.
 */
export async function gotoPack(folder: string, env: NodeJS.ProcessEnv = process.env): Promise<{ opened: boolean; reason?: string }> {
  try {
    if (!(await stat(folder)).isDirectory()) return { opened: false, reason: `${folder} is not a folder` };
  } catch {
    return { opened: false, reason: `${folder} does not exist` };
  }
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { opened: false, reason: 'no desktop session (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  try {
    // wait: true so a launcher that fails (no handler, no display) is reported rather than ignored.
    const launched = open(folder, { wait: true }).then(
      () => ({ opened: true }),
      (error: unknown) => ({ opened: false, reason: `could not open a file manager: ${error instanceof Error ? error.message : String(error)}` }),
    );
    const ac = new AbortController();
    const stillRunning = delay(LAUNCH_GRACE_MS, { opened: true }, { signal: ac.signal, ref: false }).catch(() => ({ opened: true }));
    const result = await Promise.race([launched, stillRunning]);
    ac.abort();
    return result;
  } catch (error) {
    return { opened: false, reason: `could not open a file manager: ${(error as Error).message}` };
  }
}
