/**
 * Debian's nginx as a child process for tests: static files from `root`, optionally
 * WebDAV PUT under `/dav/` with Basic auth, optionally TLS. Everything (config, pid,
 * logs, temp paths) lives in a private temp folder removed by `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from './tools.js';

export interface NginxOptions {
  /** Folder served at `/`. */
  root: string;
  /** Folder that receives WebDAV PUTs under `/dav/` (needs `basicAuth`, else no auth). */
  davRoot?: string;
  basicAuth?: { user: string; password: string };
  /** Serve https with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
}

export interface RunningNginx {
  /** `http://127.0.0.1:PORT` (or https), without a trailing slash. */
  url: string;
  port: number;
  /** Access log lines so far: `METHOD URI STATUS BYTES`. */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function config(dir: string, port: number, options: NginxOptions): string {
  const asRoot = process.getuid?.() === 0;
  const listen = options.tls ? `listen 127.0.0.1:${port} ssl;\n    ssl_certificate ${options.tls.certFile};\n    ssl_certificate_key ${options.tls.keyFile};` : `listen 127.0.0.1:${port};`;
  const dav = options.davRoot
    ? `
    location /dav/ {
      alias ${options.davRoot}/;
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
      ${options.basicAuth ? `auth_basic "aiop test"; auth_basic_user_file ${join(dir, 'htpasswd')};` : ''}
    }`
    : '';
  return `${asRoot ? 'user root;' : ''}
daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} info;
events { worker_connections 256; }
http {
  log_format aiop '$request_method $uri $status $body_bytes_sent';
  access_log ${join(dir, 'access.log')} aiop;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  default_type application/octet-stream;
  sendfile on;
  server {
    ${listen}
    server_name localhost;
    root ${options.root};
    location / { }${dav}
  }
}
`;
}

/** Starts nginx on a free port of 127.0.0.1 and waits until it accepts connections. */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const nginx = which('nginx');
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = await mkdtemp(join(tmpdir(), 'aiop-nginx-'));
  if (options.basicAuth) {
    // nginx reads the {PLAIN} scheme; fine for a throwaway test server. A ':' would end the
    // password (nginx allows a comment field after it), so refuse it rather than fail obscurely.
    if (options.basicAuth.password.includes(':') || options.basicAuth.user.includes(':')) {
      throw new Error('startNginx: basicAuth user and password must not contain ":"');
    }
    await writeFile(join(dir, 'htpasswd'), `${options.basicAuth.user}:{PLAIN}${options.basicAuth.password}\n`);
  }
  if (options.davRoot) await mkdir(options.davRoot, { recursive: true });
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, 'nginx.conf'), config(dir, port, options));
    const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let alive = true;
    void exited.then(() => (alive = false));
    for (let i = 0; i < 200 && alive; i++) {
      if (await canConnect(port)) {
        const scheme = options.tls ? 'https' : 'http';
        return {
          url: `${scheme}://127.0.0.1:${port}`,
          port,
          async accessLog() {
            const text = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
            return text.split('\n').filter((l) => l !== '');
          },
          async stop() {
            if (alive) {
              child.kill('SIGTERM');
              await exited;
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (alive) {
      child.kill('SIGKILL');
      await exited;
    }
    const errorLog = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    lastError = `${stderr}\n${errorLog}`.trim();
    // Someone else took the port between our check and nginx's bind: try another.
    if (!/Address already in use/.test(lastError)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`nginx did not start: ${lastError}`);
}
