/** Shared pieces of the reporting tests: in-memory sinks and synthetic event sequences. */
import { Writable } from 'node:stream';
import type { AiopEvent } from '../../src/core/events.js';

/** A real Writable that keeps what it receives; `isTTY` stays false like a pipe. */
export class Collector extends Writable {
  readonly chunks: string[] = [];
  isTTY = false;
  columns = 80;

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    done();
  }

  get text(): string {
    return this.chunks.join('');
  }
}

export const PKG = 'hello-1.4.0-linux-debian12-amd64';

/**
 * A whole successful package build, as the core would emit it. The description and
 * messages carry commas and newlines on purpose (they must be escaped and decode back).
 */
export function successfulBuild(pkg = PKG, folder = `/tmp/.build/${pkg}`): AiopEvent[] {
  return [
    { type: 'package-start', pkg, systemTarget: 'linux', compat: { distro: 'debian12', arch: 'amd64' } },
    { type: 'phase', phase: 'load', pkg },
    { type: 'log', level: 'DEBUG', source: 'playbook', message: 'read .aiop/inventory_config.yml', pkg },
    { type: 'phase', phase: 'fetch', pkg },
    { type: 'download-start', pkg, name: 'jq', url: 'https://example.com/jq.tar.gz', total: 4096, attempt: 1 },
    { type: 'download-progress', pkg, name: 'jq', url: 'https://example.com/jq.tar.gz', bytes: 2048, total: 4096, rate: 1024 },
    { type: 'download-done', pkg, name: 'jq', url: 'https://example.com/jq.tar.gz', bytes: 4096, fromCache: false, integrity: 'sha256-abc' },
    { type: 'cache-hit', pkg, name: 'yq', url: 'https://example.com/yq.tar.gz', integrity: 'sha256-def' },
    { type: 'phase', phase: 'recipe', pkg },
    { type: 'targets-planned', pkg, total: 3 },
    { type: 'target-start', pkg, target: 'bin/hello', reason: 'never-built' },
    { type: 'command', pkg, target: 'bin/hello', command: 'cp files/hello.sh bin/hello', builtin: false },
    { type: 'command-output', pkg, target: 'bin/hello', stream: 'stdout', text: 'copied\n' },
    { type: 'command-end', pkg, target: 'bin/hello', command: 'cp files/hello.sh bin/hello', durationMs: 5, ok: true },
    { type: 'target-done', pkg, target: 'bin/hello', durationMs: 6, changed: true },
    { type: 'target-skip', pkg, target: 'share/doc/hello/README', reason: 'up-to-date' },
    { type: 'target-start', pkg, target: 'package', reason: 'virtual' },
    { type: 'target-done', pkg, target: 'package', durationMs: 1, changed: true },
    { type: 'log', level: 'WARNING', source: 'engine', message: 'a warning, with a comma', pkg },
    { type: 'phase', phase: 'pack', pkg },
    {
      type: 'output',
      pkg,
      kind: 'folder',
      id: folder,
      description: 'Says hello, politely.\nA longer description, on two lines.',
      files: ['bin/hello', 'share/doc/hello/README'],
    },
    { type: 'output', pkg, kind: 'zip', id: `${folder}.zip`, description: 'zip of hello', files: [`${folder}.zip`] },
    { type: 'phase', phase: 'done', pkg },
    { type: 'package-done', pkg, ok: true, durationMs: 1500 },
  ];
}

/** A failed package: a command fails, the failure carries commas and a newline. */
export function failedBuild(pkg = 'hello-1.4.0-linux-ubuntu22.04-arm64'): AiopEvent[] {
  return [
    { type: 'package-start', pkg, systemTarget: 'linux', compat: { distro: 'ubuntu22.04', arch: 'arm64' } },
    { type: 'phase', phase: 'recipe', pkg },
    { type: 'targets-planned', pkg, total: 1 },
    { type: 'target-start', pkg, target: 'bin/hello', reason: 'never-built' },
    { type: 'target-fail', pkg, target: 'bin/hello', error: 'exit status 1' },
    { type: 'failure', pkg, target: pkg, message: 'command failed, see below:\nfalse: exit status 1' },
    { type: 'package-done', pkg, ok: false, error: 'command failed', durationMs: 20 },
  ];
}
