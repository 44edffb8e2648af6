/** A WebDAV collection (PUT with Basic auth, GET to fetch back) on the test nginx of nginx.ts. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx } from './nginx.js';

export interface WebDav {
  /** Base URL of the writable collection, e.g. http://127.0.0.1:PORT/dav */
  url: string;
  port: number;
  /** Folder the uploads land in. */
  davRoot: string;
  /** nginx's access log: one `METHOD URI STATUS BYTES` line per request. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts nginx with WebDAV PUT under /dav/, protected by Basic auth for `user`/`password`. */
export async function startWebDav(opts: { user: string; password: string }): Promise<WebDav> {
  const dir = await mkdtemp(join(tmpdir(), 'aiop-webdav-'));
  const davRoot = join(dir, 'dav');
  const nginx = await startNginx({ root: join(dir, 'www'), davRoot, basicAuth: opts });
  return {
    url: `${nginx.url}/dav`,
    port: nginx.port,
    davRoot,
    accessLog: async () => (await nginx.accessLog()).join('\n'),
    async stop() {
      await nginx.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
