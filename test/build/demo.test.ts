import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, copyExample, isolatedEnv, tempDir } from '../util/run.js';

test('the bundled example builds offline with the expected files, contents and modes', async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const root = await copyExample('hello', dir);
    const result = await aiop(['build', 'linux', 'debian12', 'amd64'], { cwd: root, env: isolatedEnv(dir) });
    assert.equal(result.code, 0, result.stderr);
    const pkg = join(root, '.build/hello-1.4.0-linux-debian12-amd64');
    const mode = async (p: string): Promise<string> => ((await stat(join(pkg, p))).mode & 0o777).toString(8);
    assert.equal(await mode('bin/hello'), '755');
    assert.equal(await mode('etc/hello/hello.conf'), '644');
    assert.equal(await readFile(join(pkg, 'bin/hello'), 'utf8'), await readFile(join(root, 'files/hello.sh'), 'utf8'));
    const readme = await readFile(join(pkg, 'share/doc/hello/README'), 'utf8');
    assert.match(readme, /^hello 1\.4\.0\n/);
    assert.match(readme, /Hello from hello, built for linux debian12 amd64\./);
    const conf = await readFile(join(pkg, 'etc/hello/hello.conf'), 'utf8');
    assert.match(conf, /GREETING="Hello"/);
    assert.match(conf, /NAME="world"/);
    assert.ok((await stat(join(pkg, 'share/doc/hello/changelog.gz'))).size > 0);
    assert.equal(await readFile(join(root, '.aiop/.gitignore'), 'utf8').then((t) => t.includes('state/')), true);
  } finally {
    await cleanup();
  }
});
