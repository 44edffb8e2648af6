import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { readLines, writePlaybook } from '../util/playbook.js';

test('build_again prints and replays the last build; with none recorded it exits 2', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: out\ntargets:\n  out: { commands: ["echo $arch >> $PLAYBOOK/runs.log", ":touch $target"] }\n`,
  });
  const env = isolatedEnv(dir);
  const none = await aiop(['build_again'], { cwd: root, env });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no build recorded/);

  const first = await aiop(['build', 'linux', 'debian12', 'amd64', '--zip_pack'], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  const zip = join(root, '.build/demo-1.0.0-linux-debian12-amd64.zip');
  await rm(zip);
  await rm(join(root, '.build/demo-1.0.0-linux-debian12-amd64'), { recursive: true });
  await rm(join(root, 'runs.log'));
  const again = await aiop(['build_again'], { cwd: root, env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^aiop build linux debian12 amd64 --zip_pack$/m, 'the command is printed first');
  assert.deepEqual(await readLines(join(root, 'runs.log')), ['amd64'], 'the same build was replayed');
  assert.ok((await stat(zip)).isFile(), 'with the same options (--zip_pack)');
});
