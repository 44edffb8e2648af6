/** --goto_pack: show the finished package folder in the platform's file manager. */
import { stat } from 'node:fs/promises';
import open from 'open';

/** How long a launcher may run before we take it as started (some stay until the window closes). */
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
  let child;
  try {
    // wait: false makes `open` detach the launcher with its output ignored: the core never prints.
    child = await open(folder, { wait: false });
  } catch (error) {
    return { opened: false, reason: `could not open a file manager: ${error instanceof Error ? error.message : String(error)}` };
  }
  const launcher = child;
  const result = await new Promise<{ opened: boolean; reason?: string }>((resolve) => {
    // A launcher that fails (no handler for folders, no display) exits at once with a status;
    // one still running after the grace period has started the file manager.
    const timer = setTimeout(() => resolve({ opened: true }), LAUNCH_GRACE_MS);
    launcher.once('error', (error) => {
      clearTimeout(timer);
      resolve({ opened: false, reason: `could not open a file manager: ${error.message}` });
    });
    launcher.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? { opened: true } : { opened: false, reason: `the file manager launcher exited with status ${code ?? 'unknown'}` });
    });
  });
  // Whatever it does from now on must not keep aiop alive.
  launcher.unref();
  return result;
}
