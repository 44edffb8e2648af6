/**
 * Seeded, generated inputs, made once and kept under bench/work/data/ (a `.complete` marker
 * says a folder or file was finished, so an interrupted generation is redone, not reused).
 * Random bytes are an AES-128-CTR key stream (fast, and the same bytes for the same seed);
 * text is lines of words drawn by a small seeded generator, so it compresses like prose.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const MIB = 1024 * 1024;
const CHUNK = MIB;

/** Folder of generated data, shared by every scenario. */
// Resolved here, not imported from run.ts: run.ts imports the scenarios, which import this module.
export const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/work/data');

/** A seeded 32-bit generator (mulberry32). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her all she there would their we him been has when who will more no if out so said what up its about into ' +
  'than them can only other new some could time these two may then do first any my now such like our over man me even ' +
  'most made after also did many before must through back years where much your way well down should because each ' +
  'package build target artifact recipe version archive release compress install configure signature source folder'
).split(' ');

/** Chunks of `bytes` bytes of seeded prose-like text. */
function* textChunks(bytes: number, seed: number): Generator<Buffer> {
  const next = generator(seed);
  let left = bytes;
  while (left > 0) {
    const parts: string[] = [];
    let size = 0;
    const want = Math.min(CHUNK, left);
    while (size < want) {
      const n = 6 + (next() % 10);
      const line: string[] = [];
      for (let i = 0; i < n; i++) line.push(WORDS[next() % WORDS.length]!);
      const text = `${line.join(' ')}.${next() % 7 === 0 ? ` ${next() % 100000}` : ''}\n`;
      parts.push(text);
      size += text.length;
    }
    const chunk = Buffer.from(parts.join('')).subarray(0, want);
    left -= chunk.length;
    yield chunk;
  }
}

/** Chunks of `bytes` seeded random bytes. */
function* randomChunks(bytes: number, seed: number): Generator<Buffer> {
  const key = createHash('sha256').update(`aiop bench ${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  let left = bytes;
  while (left > 0) {
    const n = Math.min(CHUNK, left);
    yield cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    left -= n;
  }
}

/** Writes chunks to a file, waiting for the stream to drain (memory stays flat). */
async function writeChunks(file: string, chunks: Iterable<Buffer>): Promise<void> {
  const out = createWriteStream(file);
  for (const chunk of chunks) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/**
 * A package folder of about `mib` MiB: half text, half random bytes, in files of a few
 * MiB under nested folders, plus a hundred small files. Made once per size.
 */
export async function packageTree(mib: number): Promise<string> {
  const dir = join(DATA, `pkg-${mib}m`, 'pkg');
  const marker = join(DATA, `pkg-${mib}m`, '.complete');
  if (existsSync(marker)) return dir;
  process.stderr.write(`generating a ${mib} MiB package in ${dir}\n`);
  rmSync(join(DATA, `pkg-${mib}m`), { recursive: true, force: true });
  const half = (mib * MIB) / 2;
  const smallCount = 100;
  const smallSize = 4096;
  const textFile = 8 * MIB;
  const randomFile = 32 * MIB;
  let seed = 1;
  let left = half - smallCount * smallSize;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(textFile, left);
    const folder = join(dir, 'share', 'doc', `part${i % 8}`);
    mkdirSync(folder, { recursive: true });
    await writeChunks(join(folder, `text-${i}.txt`), textChunks(size, seed++));
    left -= size;
  }
  mkdirSync(join(dir, 'etc', 'small'), { recursive: true });
  for (let i = 0; i < smallCount; i++) await writeChunks(join(dir, 'etc', 'small', `conf-${i}.conf`), textChunks(smallSize, seed++));
  left = half;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(randomFile, left);
    const folder = join(dir, 'lib', `blob${i % 4}`);
    mkdirSync(folder, { recursive: true });
    await writeChunks(join(folder, `data-${i}.bin`), randomChunks(size, seed++));
    left -= size;
  }
  writeFileSync(marker, '');
  return dir;
}

/** One file of `mib` MiB; `kind` says random bytes or half text then half random. Made once. */
export async function dataFile(name: string, mib: number, kind: 'random' | 'mixed', seed: number): Promise<{ file: string; sha256: string }> {
  const folder = join(DATA, `${name}-${mib}m-${kind}`);
  const file = join(folder, `${name}.bin`);
  const marker = join(folder, '.complete');
  if (!existsSync(marker)) {
    process.stderr.write(`generating ${file} (${mib} MiB)\n`);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const bytes = mib * MIB;
    const chunks = kind === 'random' ? randomChunks(bytes, seed) : (function* () {
      yield* textChunks(bytes / 2, seed);
      yield* randomChunks(bytes - bytes / 2, seed + 1);
    })();
    await writeChunks(file, chunks);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    writeFileSync(marker, hash.digest('hex'));
  }
  return { file, sha256: readFileSync(marker, 'utf8') };
}

/**
 * A package folder of `count` small text files (0.5-16 KiB, seeded sizes and content) in
 * a few hundred nested folders: the shape of an application with many assets. Made once per count.
 */
export function smallFilesTree(count: number): string {
  const dir = join(DATA, `small-${count}`, 'pkg');
  const marker = join(DATA, `small-${count}`, '.complete');
  if (existsSync(marker)) return dir;
  process.stderr.write(`generating a package of ${count} small files in ${dir}\n`);
  rmSync(join(DATA, `small-${count}`), { recursive: true, force: true });
  const next = generator(count);
  for (let i = 0; i < count; i++) {
    const folder = join(dir, 'share', `app${i % 7}`, `assets${(i >> 3) % 40}`);
    mkdirSync(folder, { recursive: true });
    const size = 512 + (next() % (16 * 1024 - 512));
    writeFileSync(join(folder, `file-${i}.txt`), Buffer.concat([...textChunks(size, i + 1)]));
  }
  writeFileSync(marker, '');
  return dir;
}
