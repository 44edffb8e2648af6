/**
 * Peak RSS without GNU time: poll /proc for a command's process tree and keep the highest
 * VmHWM (the kernel's own high-water mark, so a short spike between two polls is still seen
 * as long as the process is alive at the next poll).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** VmHWM of one process in KiB, or 0 when it is gone. */
function highWaterKib(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** The pid and all its living descendants. */
function tree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const p = all[i]!;
    let children = '';
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ')) if (c.trim() !== '') all.push(Number(c));
  }
  return all;
}

/** Runs `sh -c command` and returns the largest VmHWM (KiB) of any process in its tree. */
export function peakRssOfCommand(cwd: string, command: string, env?: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, stdio: 'ignore', ...(env ? { env } : {}) });
    let peak = 0;
    const poll = (): void => {
      if (child.pid === undefined) return;
      for (const pid of tree(child.pid)) peak = Math.max(peak, highWaterKib(pid));
    };
    const timer = setInterval(poll, 10);
    child.once('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`${command} exited with ${code}`));
      else resolve(peak);
    });
  });
}
