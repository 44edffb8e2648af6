/**
 * A real nginx WebDAV server on 127.0.0.1 for upload tests: PUT with Basic auth, GET to fetch back.
 * (Minimal on purpose; the lead merges it with the artifacts helper's test/util/nginx.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from './tools.js';

export interface WebDav {
  /** Base URL of the writable collection, e.g. http://127.0.0.1:PORT/dav */
  url: string;
  port: number;
  /** Folder the uploads land in. */
  davRoot: string;
  /** nginx's access log: `METHOD URI STATUS` per line. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts nginx with WebDAV PUT under /dav/, protected by Basic auth for `user`/`password`. */
export async function startWebDav(opts: { user: string; password: string }): Promise<WebDav> {
  const nginx = which('nginx');
  if (!nginx) throw new Error('nginx is not installed');
  const dir = await mkdtemp(join(tmpdir(), 'aiop-webdav-'));
  const davRoot = join(dir, 'root', 'dav');
  await mkdir(davRoot, { recursive: true });
  await writeFile(join(dir, 'htpasswd'), `${opts.user}:{PLAIN}${opts.password}\n`);
  const port = await freePort();
  const runAsRoot = process.getuid?.() === 0;
  const conf = `
${runAsRoot ? 'user root;' : ''}
worker_processes 1;
error_log ${dir}/error.log;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  log_format plain '$request_method $uri $status';
  access_log ${dir}/access.log plain;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/root;
    location /dav/ {
      auth_basic "aiop test";
      auth_basic_user_file ${dir}/htpasswd;
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(nginx, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready = false;
  for (let i = 0; i < 200 && child.exitCode === null; i++) {
    if (await accepting(port)) {
      ready = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (!ready) {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`nginx did not start: ${stderr}${log}`);
  }
  return {
    url: `http://127.0.0.1:${port}/dav`,
    port,
    davRoot,
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    stop,
  };
}
