/**
 * Settings resolved in one place: the command line wins over the environment (`AIOP_JOBS`,
 * `AIOP_DOWNLOAD_RETRIES`, ...), which wins over the user configuration file, which wins over
 * the built-in defaults. The environment and the file are merged by `loadUserConfig`
 * (src/playbook/user-config.ts); the command line is merged here. `aiop build`, `build_all`
 * and `aap` take their retries, jobs, threads and log levels from {@link resolveSettings}.
 */
import { availableParallelism } from 'node:os';
import type { Level } from '../core/events.js';
import type { UserConfig } from '../playbook/schema.js';

/** The command-line options that settings depend on; any command's options fit. */
export interface SettingsOptions {
  retries?: number;
  jobs?: number;
  threads?: number;
  stdoutLogLevel?: Level;
  fileLogLevel?: Level;
}

/** The settings a build runs with. */
export interface ResolvedSettings {
  /** Download (and upload) retries after the first try: `--retries`, else `download_retries`. */
  retries: number;
  /** Recipe targets run at once: `-j`, else `jobs`, else the number of CPUs this process may use. */
  jobs: number;
  /** Packages built at once by `build_all`: `--threads`, else `threads`. */
  threads: number;
  /** Console log level asked for: `-sll`, else `stdout_log_level` (`-v` still wins over it when reporting). */
  stdoutLevel: Level;
  /** Log file level asked for: `-fll`, else `file_log_level` (`-v` still wins over it when reporting). */
  fileLevel: Level;
}

/** Merges the command-line options over the user configuration (which already holds the environment). */
export function resolveSettings(options: SettingsOptions, userConfig: UserConfig): ResolvedSettings {
  return {
    retries: options.retries ?? userConfig.download_retries,
    jobs: options.jobs ?? userConfig.jobs ?? availableParallelism(),
    threads: options.threads ?? userConfig.threads,
    stdoutLevel: options.stdoutLogLevel ?? userConfig.stdout_log_level,
    fileLevel: options.fileLogLevel ?? userConfig.file_log_level,
  };
}
