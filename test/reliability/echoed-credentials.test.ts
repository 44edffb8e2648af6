/**
 * A server that echoes the credentials it was sent (in a 401 or 403 body, plain or as the Basic
 * header) never gets them shown: not on stderr, not in machine-readable lines, not in the log
 * file. A password given as a command-line variable (`url: http://alice:${PW}@...`, `PW=...`)
 * never reaches `.aiop/state` (the last-build record, the no-op and delta records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aiop, isolatedEnv, tempDir } from '../util/run.js';
import { SIMPLE_INVENTORY, writePlaybook } from '../util/playbook.js';
import { recordTrial } from './report.js';

const USER = 'alice';
const PASSWORD = 'S3cretPW';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const FORBIDDEN = [PASSWORD, BASIC, BASIC.replace(/=+$/, ''), `${USER}:${PASSWORD}`];
const CONTENT = 'the artifact\n';
const SHA = createHash('sha256').update(CONTENT).digest('hex');

/** /403 echoes the Basic header, /401 the decoded user:password, /ok serves the file to the right credentials. */
async function echoServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const basic = auth.replace(/^Basic /, '');
    const plain = Buffer.from(basic, 'base64').toString();
    if (req.url?.startsWith('/403')) res.writeHead(403).end(`forbidden for Basic ${basic}`);
    else if (req.url?.startsWith('/401')) res.writeHead(401).end(`${plain} rejected`);
    else if (plain === `${USER}:${PASSWORD}`) res.writeHead(200).end(CONTENT);
    else res.writeHead(401).end(`${plain} rejected`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

/** What aiop wrote under `.aiop` (its state and logs; the playbook's own files are the user's). */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ['state', 'logs']) {
    for (const entry of await readdir(join(dir, sub), { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (entry.isFile()) out[join(entry.parentPath, entry.name)] = await readFile(join(entry.parentPath, entry.name), 'latin1');
    }
  }
  return out;
}

function assertClean(where: string, text: string): void {
  for (const secret of FORBIDDEN) assert.equal(text.includes(secret), false, `${where} shows "${secret}":\n${text}`);
}

const artifact = (url: string): string => `${SIMPLE_INVENTORY}    artifacts:
      - name: tool
        url: ${url}
        sha256: ${SHA}
        dest: share/
`;
const RECIPE = 'default: all\ntargets:\n  all: { virtual: true }\n';

for (const [what, path] of [['403 body with the Basic header', '403'], ['401 body with user:password', '401']] as const) {
  for (const how of ['in the URL', 'as a variable'] as const) {
    test(`credentials echoed in a ${what} (artifact URL, password ${how}) are masked on stderr, machine-readable lines and the log`, async (t) => {
      const { url, server } = await echoServer();
      t.after(() => server.close());
      const { dir, cleanup } = await tempDir();
      t.after(cleanup);
      const userinfo = how === 'in the URL' ? `${USER}:${PASSWORD}` : `${USER}:\${PW}`;
      const root = await writePlaybook(join(dir, 'pb'), { inventory: artifact(`http://${userinfo}@${url}/${path}/tool.txt`), recipe: RECIPE });
      const vars = how === 'as a variable' ? [`PW=${PASSWORD}`] : [];
      for (const extra of [[], ['--machine-readable']]) {
        const result = await aiop(['build', 'linux', 'debian12', 'amd64', '--retries', '0', ...vars, ...extra], { cwd: root, env: isolatedEnv(dir) });
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr + result.stdout, new RegExp(`HTTP ${path}`), 'the server\'s answer is shown');
        assertClean('stderr', result.stderr);
        assertClean('stdout', result.stdout);
        if (extra.length > 0) assert.match(result.stdout, /,ui,error,/);
      }
      for (const [file, text] of Object.entries(await filesUnder(join(root, '.aiop')))) assertClean(file, text);
      recordTrial({ category: 'secret', what: `credentials echoed in a ${what}, password ${how}`, held: true });
    });
  }
}

test('a :fetch URL\'s credentials echoed by the server are masked', async (t) => {
  const { url, server } = await echoServer();
  t.after(() => server.close());
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), {
    recipe: `default: all\ntargets:\n  all: { virtual: true, depends: [got.txt] }\n  got.txt:\n    commands: [":fetch http://${USER}:\${PW}@${url}/401/x.txt $target"]\n`,
  });
  const result = await aiop(['build', 'linux', 'debian12', 'amd64', `PW=${PASSWORD}`], { cwd: root, env: isolatedEnv(dir) });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /HTTP 401/);
  assertClean('stderr', result.stderr);
  for (const [file, text] of Object.entries(await filesUnder(join(root, '.aiop')))) assertClean(file, text);
  recordTrial({ category: 'secret', what: 'credentials of a :fetch URL echoed by the server', held: true });
});

test('a password given as a command-line variable is never stored in .aiop/state (last build, no-op and delta records)', async (t) => {
  const { url, server } = await echoServer();
  t.after(() => server.close());
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const root = await writePlaybook(join(dir, 'pb'), { inventory: artifact(`http://${USER}:\${PW}@${url}/ok/tool.txt`), recipe: RECIPE });
  for (let i = 0; i < 2; i++) {
    const result = await aiop(['build', 'linux', 'debian12', 'amd64', `PW=${PASSWORD}`], { cwd: root, env: isolatedEnv(dir) });
    assert.equal(result.code, 0, result.stderr);
    assertClean('stderr', result.stderr);
  }
  assert.equal(await readFile(join(root, '.build/demo-1.0.0-linux-debian12-amd64/share/tool.txt'), 'utf8'), CONTENT);
  const state = await filesUnder(join(root, '.aiop'));
  assert.ok(Object.keys(state).some((f) => f.endsWith('last-build.json')), 'the last build is recorded');
  for (const [file, text] of Object.entries(state)) assertClean(file, text);
  recordTrial({ category: 'secret', what: 'password given as a command-line variable kept out of .aiop/state', held: true });
});
