import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { tempDir } from '../util/run.js';
import { ConfigError } from '../../src/core/errors.js';
import { defaultUserConfig, loadUserConfig, userConfigPath } from '../../src/playbook/user-config.js';
import { userConfigSchema } from '../../src/playbook/schema.js';
import { configError, writeFiles } from './helpers.js';

test('the built-in defaults are exactly what the schema gives for an empty file', () => {
  assert.deepEqual(defaultUserConfig(), userConfigSchema.parse({}));
});

test('where the file is looked for: AIOP_CONFIG, then XDG_CONFIG_HOME (absolute only), then ~/.config', () => {
  assert.equal(userConfigPath({ AIOP_CONFIG: '/x/c.yml', XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/x/c.yml');
  assert.equal(userConfigPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' }), '/xdg/aiop/config.yml');
  assert.equal(userConfigPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/aiop/config.yml');
  assert.equal(userConfigPath({}), join(homedir(), '.config/aiop/config.yml'));
});

test('precedence: AIOP_CONFIG over XDG over HOME; environment over the file', async () => {
  const { dir, cleanup } = await tempDir('aiop-ucfg-');
  try {
    await writeFiles(dir, {
      'explicit.yml': 'download_retries: 7\nstdout_log_level: WARNING\n',
      'xdg/aiop/config.yml': 'download_retries: 5\nthreads: 2\n',
      'home/.config/aiop/config.yml': 'download_retries: 1\n',
    });
    const base = { HOME: join(dir, 'home') };
    let r = await loadUserConfig(base);
    assert.equal(r.config.download_retries, 1);
    assert.equal(r.file, join(dir, 'home/.config/aiop/config.yml'));
    r = await loadUserConfig({ ...base, XDG_CONFIG_HOME: join(dir, 'xdg') });
    assert.deepEqual([r.config.download_retries, r.config.threads], [5, 2]);
    r = await loadUserConfig({ ...base, XDG_CONFIG_HOME: join(dir, 'xdg'), AIOP_CONFIG: join(dir, 'explicit.yml') });
    assert.deepEqual([r.config.download_retries, r.config.stdout_log_level, r.config.threads], [7, 'WARNING', 4]);
    r = await loadUserConfig({
      AIOP_CONFIG: join(dir, 'explicit.yml'),
      AIOP_DOWNLOAD_RETRIES: '0',
      AIOP_STDOUT_LOG_LEVEL: 'debug',
      AIOP_FILE_LOG_LEVEL: 'ERROR',
      AIOP_CACHE_DIR: '/c',
      AIOP_LOG_DIR: '/l',
      AIOP_THREADS: '9',
      AIOP_JOBS: '3',
    });
    assert.deepEqual(
      [r.config.download_retries, r.config.stdout_log_level, r.config.file_log_level, r.config.cache_dir, r.config.log_dir, r.config.threads, r.config.jobs],
      [0, 'DEBUG', 'ERROR', '/c', '/l', 9, 3],
    );
  } finally {
    await cleanup();
  }
});

test('a missing file gives the defaults (with env overrides); an empty file too', async () => {
  const { dir, cleanup } = await tempDir('aiop-ucfg-');
  try {
    const missing = await loadUserConfig({ AIOP_CONFIG: join(dir, 'none.yml'), AIOP_JOBS: '2' });
    assert.equal(missing.file, undefined);
    assert.deepEqual(missing.config, { ...defaultUserConfig(), jobs: 2 });
    await writeFiles(dir, { 'empty.yml': '# nothing\n' });
    const empty = await loadUserConfig({ AIOP_CONFIG: join(dir, 'empty.yml') });
    assert.deepEqual(empty.config, defaultUserConfig());
  } finally {
    await cleanup();
  }
});

test('bad values: the file gets located diagnostics, the environment names every bad variable', async () => {
  const { dir, cleanup } = await tempDir('aiop-ucfg-');
  try {
    await writeFiles(dir, { 'c.yml': 'download_retries: -1\nstdout_log_level: LOUD\nthreds: 2\n' });
    const { error, text } = await configError(loadUserConfig({ AIOP_CONFIG: join(dir, 'c.yml') }));
    assert.equal(error.diagnostics.length, 3, text);
    assert.match(text, /c\.yml:2:19: .*"LOUD" is not a valid choice/);
    assert.match(text, /did you mean "threads"/);
    const env = await configError(loadUserConfig({ AIOP_CONFIG: join(dir, 'none.yml'), AIOP_THREADS: '0', AIOP_FILE_LOG_LEVEL: 'LOUD', AIOP_DOWNLOAD_RETRIES: 'x' }));
    assert.ok(env.error instanceof ConfigError);
    assert.equal(env.error.diagnostics.length, 3);
    assert.match(env.text, /AIOP_THREADS="0" is not a whole number of at least 1/);
    assert.match(env.text, /AIOP_FILE_LOG_LEVEL="LOUD" is not a log level\n {2}valid choices: DEBUG, INFO/);
  } finally {
    await cleanup();
  }
});
