import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNginx, type RunningNginx } from '../util/nginx.js';
import { requireTools } from '../util/tools.js';
import { snapshot } from '../util/playbook.js';
import { aap, isolatedEnv, tempDir } from '../util/run.js';
import { aapPlaybook, expectStatus } from './helpers.js';

const REMOTE_RECIPE = 'default: r.txt\ntargets:\n  r.txt:\n    commands: ["echo remote >> $PLAYBOOK/runs.log", "echo $GREETING > $target"]\nvariables: { GREETING: from-the-web }\n';

async function serve(t: import('node:test').TestContext, files: Record<string, string>, dir: string): Promise<RunningNginx> {
  const www = join(dir, 'www');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(www, name, '..'), { recursive: true });
    await writeFile(join(www, name), text);
  }
  const server = await startNginx({ root: www });
  t.after(() => server.stop());
  return server;
}

const gets = async (server: RunningNginx, path: string): Promise<number> =>
  (await server.accessLog()).filter((l) => l.startsWith(`GET ${path} 200`)).length;

test('-f http://... downloads the recipe into the current folder and builds it', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const pb = await aapPlaybook(t);
  const server = await serve(t, { 'recipes/remote.yml': REMOTE_RECIPE }, pb.dir);
  const url = `${server.url}/recipes/remote.yml`;

  const first = await pb.run(['-f', url]);
  expectStatus(first, 0);
  assert.equal(await readFile(join(pb.root, 'remote.yml'), 'utf8'), REMOTE_RECIPE);
  assert.deepEqual(await pb.takeRuns(), ['remote']);
  assert.equal(await readFile(join(pb.root, '.build/aap/r.txt'), 'utf8'), 'from-the-web\n');
  assert.equal(await gets(server, '/recipes/remote.yml'), 1);

  // It exists now: without a terminal to ask on, aap refuses to overwrite it.
  const refused = await pb.run(['-f', url]);
  expectStatus(refused, 2);
  assert.match(refused.stderr, /remote\.yml already exists; not overwriting it \(no terminal to ask on\)/);
  assert.match(refused.stderr, /use -R to fetch the recipe again, -N to use the local copy/);
  assert.equal(await gets(server, '/recipes/remote.yml'), 1);

  // -N uses the local copy without asking the server.
  await writeFile(join(pb.root, 'remote.yml'), REMOTE_RECIPE.replace('from-the-web', 'local-edit'));
  expectStatus(await pb.run(['-N', '-f', url]), 0);
  assert.equal(await readFile(join(pb.root, '.build/aap/r.txt'), 'utf8'), 'local-edit\n');
  assert.equal(await gets(server, '/recipes/remote.yml'), 1);

  // -R fetches it again, replacing the local edit.
  expectStatus(await pb.run(['-R', '-f', url]), 0);
  assert.equal(await readFile(join(pb.root, 'remote.yml'), 'utf8'), REMOTE_RECIPE);
  assert.equal(await readFile(join(pb.root, '.build/aap/r.txt'), 'utf8'), 'from-the-web\n');
  assert.equal(await gets(server, '/recipes/remote.yml'), 2);

  // A URL that is not there: exit 1 naming it, nothing left behind.
  const missing = await pb.run(['-f', `${server.url}/recipes/gone.yml`]);
  expectStatus(missing, 1);
  assert.match(missing.stderr, /gone\.yml.*404/);
  assert.equal(existsSync(join(pb.root, 'gone.yml')), false);
});

test('-f FILE and -f URL work in a folder that is not a playbook: the recipe is read or fetched there and built', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir('aiop-aap-anywhere-');
  t.after(cleanup);
  const env = { ...isolatedEnv(dir), CI: undefined };
  const recipe = 'default: r.txt\ntargets:\n  r.txt:\n    sources: [in.txt]\n    commands: ["cat $source > $target", "echo made $target"]\n';
  const server = await serve(t, { 'recipes/remote.yml': recipe }, dir);
  const work = join(dir, 'work');
  await mkdir(work);
  await writeFile(join(work, 'in.txt'), 'hello\n');
  await writeFile(join(work, 'local.yml'), recipe);
  const run = (args: string[]) => aap(args, { cwd: work, env });

  const local = await run(['-f', 'local.yml']);
  expectStatus(local, 0);
  assert.equal(local.stdout, `made ${join(work, '.build/aap/r.txt')}\n`);
  assert.match(local.stderr, /^==> r\.txt$/m);
  assert.equal(await readFile(join(work, '.build/aap/r.txt'), 'utf8'), 'hello\n');
  const again = await run(['-f', 'local.yml']);
  expectStatus(again, 0);
  assert.match(again.stderr, /everything is up to date \(1 targets\)/);

  const url = `${server.url}/recipes/remote.yml`;
  await rm(join(work, '.build'), { recursive: true });
  const fetched = await run(['-f', url]);
  expectStatus(fetched, 0);
  assert.match(fetched.stderr, /fetched recipe .*remote\.yml -> .*work\/remote\.yml/);
  assert.equal(await readFile(join(work, 'remote.yml'), 'utf8'), recipe);
  assert.equal(await readFile(join(work, '.build/aap/r.txt'), 'utf8'), 'hello\n');
  // The question before overwriting it: no terminal here, so no.
  const refused = await run(['-f', url]);
  expectStatus(refused, 2);
  assert.match(refused.stderr, /remote\.yml already exists; not overwriting it \(no terminal to ask on\)/);
  await writeFile(join(work, 'remote.yml'), recipe.replace('made', 'local'));
  const kept = await run(['-N', '-F', '-f', url]);
  expectStatus(kept, 0);
  assert.match(kept.stdout, /^local /);
  const refetched = await run(['-R', '-F', '-f', url]);
  expectStatus(refetched, 0);
  assert.match(refetched.stdout, /^made /);
  assert.equal(await readFile(join(work, 'remote.yml'), 'utf8'), recipe);
  assert.equal(await gets(server, '/recipes/remote.yml'), 2);

  // What needs a playbook is missing, and says so; the default recipe needs one.
  await writeFile(join(work, 'named.yml'), 'default: n\ntargets:\n  n: { virtual: true, commands: [":print $name"] }\n');
  const named = await run(['-f', 'named.yml']);
  expectStatus(named, 2);
  assert.match(named.stderr, /variable "name" is not set/);
  const plain = await run([]);
  expectStatus(plain, 2);
  assert.match(plain.stderr, /not a playbook root/);
});

test('-n -f URL reads the recipe from a scratch copy: the tree stays byte-identical', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const pb = await aapPlaybook(t);
  const server = await serve(t, { 'remote.yml': REMOTE_RECIPE }, pb.dir);
  const before = await snapshot(pb.root);
  const dry = await pb.run(['-n', '-f', `${server.url}/remote.yml`]);
  expectStatus(dry, 0);
  assert.match(dry.stderr, /==> r\.txt \(would run\)/);
  assert.deepEqual(await snapshot(pb.root), before);
});

test(':fetch goes through the artifact cache; -a downloads once per run instead', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const pb = await aapPlaybook(t, {
    recipe: `default: all
targets:
  all: { virtual: true, depends: [one.txt, two.txt] }
  one.txt: { commands: [":fetch $URL/data.txt $target"] }
  two.txt: { commands: [":fetch $URL/data.txt $target"] }
`,
  });
  const server = await serve(t, { 'data.txt': 'payload\n' }, pb.dir);
  const URL = `URL=${server.url}`;

  expectStatus(await pb.run(['-j', '1', URL]), 0);
  assert.equal(await readFile(join(pb.root, '.build/aap/two.txt'), 'utf8'), 'payload\n');
  assert.equal(await gets(server, '/data.txt'), 1, 'two :fetch of one URL: one download');
  expectStatus(await pb.run(['-F', URL]), 0);
  assert.equal(await gets(server, '/data.txt'), 1, 'the next run takes it from the cache');
  assert.ok(existsSync(join(pb.dir, 'xdg-cache/aiop')), 'the cache is the isolated one');

  expectStatus(await pb.run(['-F', '-a', '-j', '1', URL]), 0);
  assert.equal(await gets(server, '/data.txt'), 2, '-a: downloaded again, once for the whole run');
  expectStatus(await pb.run(['-F', '--nocache', URL]), 0);
  assert.equal(await gets(server, '/data.txt'), 3, '-a: and again in the next run');
  assert.equal(await readFile(join(pb.root, '.build/aap/one.txt'), 'utf8'), 'payload\n');

  // -c ':fetch' works the same, relative to the playbook root.
  expectStatus(await pb.run(['-c', `:fetch ${server.url}/data.txt got/data.txt`]), 0);
  assert.equal(await readFile(join(pb.root, 'got/data.txt'), 'utf8'), 'payload\n');
});

test('the fetch, update and refresh targets: get the remote files without building, then build, and fetch the recipe again', async (t) => {
  if (!requireTools(t, 'nginx')) return;
  const { dir, cleanup } = await tempDir('aiop-aap-fetch-');
  t.after(cleanup);
  const env = { ...isolatedEnv(dir), CI: undefined };
  const recipe = `default: all
targets:
  all: { virtual: true, depends: [one.txt, doubled.txt] }
  one.txt: { commands: [":fetch $URL/data.txt $target"] }
  doubled.txt: { sources: [one.txt], commands: ["cat $source $source > $target", "echo built doubled"] }
  notes: { virtual: true, commands: [":fetch $URL/notes.txt got/notes.txt"] }
`;
  const server = await serve(t, { 'r.yml': recipe, 'data.txt': 'v1\n', 'notes.txt': 'notes\n' }, dir);
  const work = join(dir, 'work');
  await mkdir(work);
  const URL = `URL=${server.url}`;
  const recipeUrl = `${server.url}/r.yml`;
  const run = (args: string[]) => aap(['-f', recipeUrl, URL, ...args], { cwd: work, env });

  // fetch: the recipe, then every file its :fetch commands name, into place; nothing is built.
  const fetched = await run(['fetch']);
  expectStatus(fetched, 0);
  assert.match(fetched.stderr, /^fetched recipe .*\/r\.yml -> .*work\/r\.yml$/m);
  assert.match(fetched.stderr, /^fetched http:\/\/.*\/data\.txt -> \.build\/aap\/one\.txt$/m);
  assert.match(fetched.stderr, /^fetched http:\/\/.*\/notes\.txt -> got\/notes\.txt$/m);
  assert.match(fetched.stderr, /^fetched 2 remote files$/m);
  assert.doesNotMatch(fetched.stderr, /==>/, 'no target was made');
  assert.equal(fetched.stdout, '');
  assert.equal(await readFile(join(work, '.build/aap/one.txt'), 'utf8'), 'v1\n');
  assert.equal(await readFile(join(work, 'got/notes.txt'), 'utf8'), 'notes\n');
  assert.equal(existsSync(join(work, '.build/aap/doubled.txt')), false);
  assert.equal(await gets(server, '/data.txt'), 1);

  // -n fetch says what it would get and gets nothing.
  const dry = await run(['-n', 'fetch']);
  expectStatus(dry, 0);
  assert.match(dry.stderr, /^-n: would :fetch http:\/\/.*\/data\.txt .*one\.txt$/m);
  assert.equal(await gets(server, '/data.txt'), 1);

  // update: the files anew (not from the cache), then the default build, which uses them.
  await writeFile(join(dir, 'www/data.txt'), 'v2\n');
  const updated = await run(['update']);
  expectStatus(updated, 0);
  assert.match(updated.stderr, /^fetched 2 remote files$/m);
  assert.match(updated.stderr, /^==> doubled\.txt$/m);
  assert.equal(updated.stdout, 'built doubled\n');
  assert.equal(await readFile(join(work, '.build/aap/doubled.txt'), 'utf8'), 'v2\nv2\n');
  assert.equal(await gets(server, '/data.txt'), 2, 'one download for the fetch and the build together');

  // refresh: only the recipe again; -N: the local copy, and says so.
  const before = await gets(server, '/r.yml');
  const refreshed = await run(['refresh']);
  expectStatus(refreshed, 0);
  assert.match(refreshed.stderr, /^fetched recipe /m);
  assert.doesNotMatch(refreshed.stderr, /==>|fetched http/);
  assert.equal(await gets(server, '/r.yml'), before + 1);
  const kept = await run(['-N', 'refresh']);
  expectStatus(kept, 0);
  assert.match(kept.stderr, /^refresh: the recipe was not fetched: -N says not to fetch it$/m);
  const localUpdate = await run(['-N', 'update']);
  expectStatus(localUpdate, 0);
  assert.equal(await gets(server, '/r.yml'), before + 1, '-N update does not fetch the recipe');
  assert.match(localUpdate.stderr, /^fetched 2 remote files$/m);

  // A recipe that defines its own fetch target gets it made instead.
  await writeFile(join(work, 'own.yml'), 'targets:\n  fetch: { virtual: true, commands: [":print my own fetch"] }\n');
  const own = await aap(['-f', 'own.yml', 'fetch'], { cwd: work, env });
  expectStatus(own, 0);
  assert.equal(own.stdout, 'my own fetch\n');
  const none = await aap(['-f', 'NONE', 'fetch'], { cwd: work, env });
  expectStatus(none, 0);
  assert.match(none.stderr, /^fetch: the recipe names no remote file \(no :fetch command\)$/m);
});
