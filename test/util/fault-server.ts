/**
 * A small scripted HTTP server for fault injection: for each path, a list of behaviours,
 * one per request (the last repeats). Counts requests per path so tests prove retries by
 * what happened, not by timing.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the server does for one request. */
export type Behaviour =
  /** 200 (or `status`) with this body and a correct Content-Length. */
  | { kind: 'ok'; body: Buffer | string; status?: number; headers?: Record<string, string> }
  /** A status with an optional body and headers (e.g. 503, 429 with Retry-After, 404). */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Announces the whole body's length, sends `after` bytes, then drops the connection. */
  | { kind: 'drop'; body: Buffer | string; after: number }
  /** Sends headers and `after` bytes of the body, then goes silent until the client gives up. */
  | { kind: 'stall'; body: Buffer | string; after: number }
  /** Never answers at all. */
  | { kind: 'stall-headers' };

export interface FaultServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  port: number;
  /** Requests received for a path so far. */
  count(path: string): number;
  /** Every request as `METHOD PATH`, in order of arrival. */
  requests: string[];
  /** Replaces a path's script (and resets its counter). */
  script(path: string, behaviours: Behaviour[]): void;
  stop(): Promise<void>;
}

/** Starts the server on a free port of 127.0.0.1. Unknown paths get 404. */
export async function startFaultServer(scripts: Record<string, Behaviour[]> = {}): Promise<FaultServer> {
  const table = new Map<string, Behaviour[]>(Object.entries(scripts));
  const counts = new Map<string, number>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    const n = counts.get(path) ?? 0;
    counts.set(path, n + 1);
    const list = table.get(path);
    if (!list || list.length === 0) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const b = list[Math.min(n, list.length - 1)]!;
    switch (b.kind) {
      case 'ok': {
        const body = Buffer.from(b.body);
        res.writeHead(b.status ?? 200, { 'content-length': String(body.length), ...b.headers }).end(body);
        return;
      }
      case 'status': {
        const body = Buffer.from(b.body ?? '');
        res.writeHead(b.status, { 'content-length': String(body.length), 'content-type': 'text/plain', ...b.headers }).end(body);
        return;
      }
      case 'drop': {
        const body = Buffer.from(b.body);
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, b.after), () => req.socket.destroy());
        return;
      }
      case 'stall': {
        const body = Buffer.from(b.body);
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, b.after));
        return;
      }
      case 'stall-headers':
        return;
    }
  };

  const server = createServer(handle);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('fault server has no address');
  const port = address.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    count: (path) => counts.get(path) ?? 0,
    script(path, behaviours) {
      table.set(path, behaviours);
      counts.delete(path);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
