/**
 * The user configuration file and its environment overrides. Missing file = defaults, built
 * here without importing `yaml` or `zod` so that every `aiop` run stays quick.
 */
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfigError, type Diagnostic } from '../core/errors.js';
import type { UserConfig } from './schema.js';
import { noteUrlsIn } from '../report/known-secrets.js';

/** Log levels accepted by the configuration and the environment. */
const LEVEL_NAMES = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'DISABLED'] as const;

/** The defaults; `userConfigSchema.parse({})` gives the same (a test holds them together). */
export function defaultUserConfig(): UserConfig {
  return {
    download_retries: 3,
    stdout_log_level: 'INFO',
    file_log_level: 'DEBUG',
    log_keep: 20,
    threads: 4,
    connect_timeout: 30,
    idle_timeout: 60,
  };
}

/**
 * Environment variables that override the user configuration file (and are overridden by the
 * command line). Documented in docs/formats.md.
 */
export const USER_CONFIG_ENV = {
  AIOP_DOWNLOAD_RETRIES: 'download_retries',
  AIOP_STDOUT_LOG_LEVEL: 'stdout_log_level',
  AIOP_FILE_LOG_LEVEL: 'file_log_level',
  AIOP_CACHE_DIR: 'cache_dir',
  AIOP_LOG_DIR: 'log_dir',
  AIOP_THREADS: 'threads',
  AIOP_JOBS: 'jobs',
} as const satisfies Record<string, keyof UserConfig>;

/** Where the user configuration file is looked for: $AIOP_CONFIG, $XDG_CONFIG_HOME/aiop/config.yml, ~/.config/aiop/config.yml. */
export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIOP_CONFIG) return env.AIOP_CONFIG;
  // The XDG base directory spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'aiop', 'config.yml');
  return join(env.HOME || homedir(), '.config', 'aiop', 'config.yml');
}

function integerFrom(name: string, raw: string, min: number, problems: Diagnostic[]): number | undefined {
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < min) {
    problems.push({ message: `environment variable ${name}="${raw}" is not a whole number${min > 0 ? ` of at least ${min}` : ''}` });
    return undefined;
  }
  return Number(raw);
}

/** Applies the environment overrides; throws ConfigError naming every bad variable. */
export function applyEnvOverrides(config: UserConfig, env: NodeJS.ProcessEnv): UserConfig {
  const out: UserConfig = { ...config };
  const problems: Diagnostic[] = [];
  for (const [name, key] of Object.entries(USER_CONFIG_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    switch (key) {
      case 'download_retries': {
        const n = integerFrom(name, raw, 0, problems);
        if (n !== undefined) out.download_retries = n;
        break;
      }
      case 'threads':
      case 'jobs': {
        const n = integerFrom(name, raw, 1, problems);
        if (n !== undefined) out[key] = n;
        break;
      }
      case 'stdout_log_level':
      case 'file_log_level': {
        const level = raw.trim().toUpperCase();
        if ((LEVEL_NAMES as readonly string[]).includes(level)) out[key] = level as UserConfig[typeof key];
        else problems.push({ message: `environment variable ${name}="${raw}" is not a log level`, hint: `valid choices: ${LEVEL_NAMES.join(', ')}` });
        break;
      }
      case 'cache_dir':
      case 'log_dir':
        out[key] = raw;
        break;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/**
 * Loads the user configuration: `$AIOP_CONFIG`, else `$XDG_CONFIG_HOME/aiop/config.yml`, else
 * `~/.config/aiop/config.yml`; a missing file gives the defaults. Then the environment
 * overrides of {@link USER_CONFIG_ENV}. `file` is the file read, if one was.
 */
export async function loadUserConfig(env: NodeJS.ProcessEnv = process.env): Promise<{ config: UserConfig; file?: string }> {
  const path = userConfigPath(env);
  let exists = false;
  try {
    await stat(path);
    exists = true; // even a folder: the reader then says what is wrong
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new ConfigError([{ message: `${path}: cannot read the user configuration (${code})` }]);
  }
  if (!exists) return { config: applyEnvOverrides(defaultUserConfig(), env) };
  const [{ readYamlFile }, { userConfigSchema }] = await Promise.all([import('./yaml-file.js'), import('./schema.js')]);
  const fromFile = await readYamlFile(path, userConfigSchema, { emptyValue: {} });
  noteUrlsIn(JSON.stringify(fromFile));
  return { config: applyEnvOverrides(fromFile, env), file: path };
}
