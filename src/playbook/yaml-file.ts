/**
 * Reading one YAML configuration file: size limit, alias limit, duplicate keys, zod validation,
 * and diagnostics that point at the line at fault. Only imported on a playbook cache miss, since
 * `yaml` and `zod` are slow to import and to run on big files.
 */
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import type { Stats } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isAlias, isPair, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type Diagnostic, type SourceLocation } from '../core/errors.js';
import { closest, didYouMean } from '../core/suggest.js';
import type { ParseAnswer, ParseRequest } from './parse-worker.js';

/** Configuration files larger than this are refused (SPEC section 2). */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;
/** How many alias expansions a file may use; a billion-laughs file fails fast. */
export const MAX_ALIAS_COUNT = 100;

/** Options of {@link readYamlFile}. */
export interface ReadYamlOptions {
  /** Diagnostics name the file relative to this folder (the playbook root). */
  displayRoot?: string;
  /** The value of a file with no content (only comments, or nothing); default null (usually an error). */
  emptyValue?: unknown;
}

type PathSegment = string | number;
type IssuePath = readonly PropertyKey[];

/** A parsed, validated file with the means to point at its parts, for checks across files. */
export interface ParsedYamlFile<T> {
  value: T;
  /** Of the file as it was opened (set by {@link parseYamlFile}); the playbook cache keys on it. */
  stats?: Stats;
  /** The path shown in diagnostics. */
  display: string;
  /** Where the value (or, with `key`, the key) at `path` is; the nearest existing parent otherwise. */
  locate(path: readonly PathSegment[], key?: boolean): Pick<Diagnostic, 'location' | 'sourceLine'>;
}

/** The path shown to people: relative to the playbook root when inside it. */
export function displayPath(file: string, displayRoot?: string): string {
  if (displayRoot === undefined) return file;
  const rel = relative(displayRoot, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** Reads the file as text, refusing it before reading it whole when it is too big. */
async function readLimited(file: string, display: string): Promise<{ text: string; stats: Stats }> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot read it (${code ?? String(error)})`;
    throw new ConfigError([{ message: `${display}: ${why}` }]);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ConfigError([{ message: `${display}: not a regular file` }]);
    if (stats.size > MAX_CONFIG_BYTES) {
      throw new ConfigError([
        {
          message: `${display}: file is ${stats.size} bytes, over the 10 MiB limit for configuration files`,
          location: { file: display, line: 1, column: 1 },
        },
      ]);
    }
    const bytes = await handle.readFile();
    // The file may have grown between stat and read.
    if (bytes.length > MAX_CONFIG_BYTES) {
      throw new ConfigError([{ message: `${display}: over the 10 MiB limit for configuration files`, location: { file: display, line: 1, column: 1 } }]);
    }
    // Decoding would turn a bad byte into U+FFFD, and that would end up in names and outputs.
    if (!isUtf8(bytes)) throw new ConfigError([invalidUtf8(bytes, display)]);
    return { text: bytes.toString('utf8'), stats };
  } finally {
    await handle.close();
  }
}

/** Where the first byte that is not UTF-8 is, as a diagnostic. */
function invalidUtf8(bytes: Buffer, display: string): Diagnostic {
  const offset = firstInvalidUtf8(bytes);
  const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
  const line = bytes.subarray(0, lineStart).reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
  const column = bytes.subarray(lineStart, offset).toString('utf8').length + 1;
  const lineEnd = bytes.indexOf(0x0a, offset);
  return {
    message: `${display}: not valid UTF-8 text (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at line ${line}, column ${column})`,
    location: { file: display, line, column },
    // Up to the bad byte, shown as \xNN (decoding further would show U+FFFD again).
    sourceLine: `${bytes.subarray(lineStart, offset).toString('utf8')}\\x${bytes[offset]!.toString(16).padStart(2, '0')}`,
    hint: 'save the file as UTF-8',
  };
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and code points above U+10FFFF.
    const second = bytes[i + 1]!;
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += length;
  }
  return i;
}

/** Deeper nesting than this is refused: no configuration needs it, and a parser's stack would not survive much more. */
export const MAX_NESTING = 100;

/** Where flow collections (`[`, `{`) first nest deeper than {@link MAX_NESTING}, outside quotes and comments. */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end;
    } else if (c === '"' || (c === "'" && (i === 0 || /[\s[{,:]/.test(text[i - 1]!)))) quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_NESTING) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

function nestingDiagnostic(pos: Positions, offset: number): Diagnostic {
  // Counted here: before parsing, the line counter knows no lines yet.
  const text = pos.text;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const line = (text.slice(0, lineStart).match(/\n/g)?.length ?? 0) + 1;
  const lineEnd = text.indexOf('\n', offset);
  return {
    message: `nested deeper than ${MAX_NESTING} levels: refusing a document no configuration needs`,
    location: { file: pos.display, line, column: offset - lineStart + 1 },
    sourceLine: text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd).slice(0, 200),
  };
}

/** Every NUL character in a key or value: it cannot be part of a name, a path, a command or a variable. */
function nulCharacters(doc: Document, pos: Positions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const visitNode = (node: unknown, depth: number): void => {
    if (depth > MAX_NESTING + 1) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        visitNode(pair.key, depth + 1);
        visitNode(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visitNode(item, depth + 1);
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('\0')) {
      out.push({ message: 'a NUL character in a value: names, paths, commands and variables cannot hold one', ...pos.at(offsetOf(node)) });
    }
  };
  visitNode(doc.contents, 0);
  return out;
}

/** Positions and source lines of one text, computed lazily (only errors need them). */
class Positions {
  #lines: string[] | undefined;
  constructor(
    readonly text: string,
    readonly counter: LineCounter,
    readonly display: string,
  ) {}

  at(offset: number): Pick<Diagnostic, 'location' | 'sourceLine'> {
    const { line, col } = this.counter.linePos(Math.max(0, Math.min(offset, this.text.length)));
    this.#lines ??= this.text.split(/\r?\n|\r/);
    const location: SourceLocation = { file: this.display, line, column: col };
    const sourceLine = this.#lines[line - 1];
    return sourceLine === undefined ? { location } : { location, sourceLine };
  }
}

interface Found {
  node: Node | null;
  keyNode: Node | null;
  /** True when the whole path exists. */
  complete: boolean;
}

/** Walks the YAML tree along a path of keys and indexes. */
function walk(doc: Document, path: readonly PropertyKey[]): Found {
  let node: Node | null = (doc.contents as Node | null) ?? null;
  let keyNode: Node | null = null;
  for (const segment of path) {
    if (node !== null && isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? node;
    if (node !== null && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return { node, keyNode, complete: false };
      keyNode = pair.key as Node;
      node = (pair.value as Node | null) ?? null;
      if (node === null) return { node: keyNode, keyNode, complete: true };
    } else if (node !== null && isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      keyNode = null;
      node = node.items[segment] as Node;
    } else {
      return { node, keyNode, complete: false };
    }
  }
  return { node, keyNode, complete: true };
}

function offsetOf(node: Node | null): number {
  return node?.range?.[0] ?? 0;
}

/** `system_targets.linux.compatibility[0]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? String(s) : `.${String(s)}`;
  }
  return out;
}

function at(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'at the top level' : `at ${formatPath(path)}`;
}

/* ---------- walking a zod schema, to know which keys are allowed where ---------- */

interface ZodDefLike {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
  getter?: () => unknown;
}

function defOf(schema: unknown): ZodDefLike | undefined {
  return (schema as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
}

/** The schemas a value at `path` may be validated with, wrappers removed (several through unions). */
function leafDefsAt(schema: unknown, path: readonly PropertyKey[]): ZodDefLike[] {
  const out: ZodDefLike[] = [];
  const visit = (s: unknown, i: number, depth: number): void => {
    const def = defOf(s);
    if (!def || depth > 50) return;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        return visit(def.innerType, i, depth + 1);
      case 'pipe':
        return visit(def.in, i, depth + 1);
      case 'lazy':
        return visit(def.getter?.(), i, depth + 1);
      case 'union':
        for (const option of def.options ?? []) visit(option, i, depth + 1);
        return;
      default:
    }
    if (i === path.length) {
      out.push(def);
      return;
    }
    const segment = path[i];
    if (def.type === 'object' && def.shape && typeof segment === 'string' && segment in def.shape) visit(def.shape[segment], i + 1, depth + 1);
    else if (def.type === 'array' && typeof segment === 'number') visit(def.element, i + 1, depth + 1);
    else if (def.type === 'record') visit(def.valueType, i + 1, depth + 1);
  };
  visit(schema, 0, 0);
  return out;
}

function objectSchemasAt(schema: unknown, path: readonly PropertyKey[]): ZodDefLike[] {
  return leafDefsAt(schema, path).filter((d) => d.type === 'object');
}

/** Keys allowed at `path` by the schema. */
export function allowedKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const def of objectSchemasAt(schema, path)) for (const k of Object.keys(def.shape ?? {})) keys.add(k);
  return [...keys];
}

/* ---------- turning zod issues into diagnostics ---------- */

interface IssueLike {
  code: string;
  path: IssuePath;
  message: string;
  keys?: string[];
  values?: unknown[];
  expected?: string;
  errors?: IssueLike[][];
  issues?: IssueLike[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
}

function typeName(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `a string`;
  return `a ${typeof value}`;
}

function expectedName(expected: string | undefined): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    default:
      return expected ?? 'something else';
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = data;
  for (const s of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, s as string)) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[s as string];
  }
  return { found: true, value: cur };
}

/** Picks the union branch that got furthest: its issues are what the user most likely meant. */
function bestBranch(branches: IssueLike[][]): IssueLike[] | undefined {
  let best: IssueLike[] | undefined;
  let bestScore = -Infinity;
  for (const issues of branches) {
    const depth = Math.max(0, ...issues.map((i) => i.path.length));
    const score = depth * 100 - issues.length - (issues.every((i) => i.code === 'invalid_type' && i.path.length === 0) ? 1000 : 0);
    if (score > bestScore) {
      best = issues;
      bestScore = score;
    }
  }
  return best;
}

function flattenIssue(issue: IssueLike, data: unknown): IssueLike[] {
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    const allTopLevelTypeErrors = issue.errors.every((b) => b.length > 0 && b.every((i) => i.code === 'invalid_type' && i.path.length === 0));
    if (allTopLevelTypeErrors) {
      const expected = [...new Set(issue.errors.flatMap((b) => b.map((i) => expectedName(i.expected))))];
      const got = valueAt(data, issue.path);
      const list = expected.length > 1 ? `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}` : expected.join('');
      return [{ code: 'invalid_type', path: issue.path, message: `expected ${list}, got ${typeName(got.value)}` }];
    }
    const branch = bestBranch(issue.errors) ?? [];
    return branch.flatMap((i) => flattenIssue({ ...i, path: [...issue.path, ...i.path] }, data));
  }
  if (issue.code === 'invalid_key' && issue.issues) {
    return issue.issues.map((i) => ({ ...i, code: 'invalid_key', path: issue.path, message: `key "${String(issue.path.at(-1))}": ${i.message}` }));
  }
  if (issue.code === 'invalid_element' && issue.issues) {
    return issue.issues.flatMap((i) => flattenIssue({ ...i, path: [...issue.path, ...i.path] }, data));
  }
  return [issue];
}

function issueToDiagnostics(issue: IssueLike, schema: unknown, data: unknown, doc: Document, pos: Positions): Diagnostic[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, path);
    return (issue.keys ?? []).map((key) => {
      const found = walk(doc, [...path, key]);
      const place = pos.at(offsetOf(found.complete ? found.keyNode : found.node));
      const hint = didYouMean(key, allowed) ?? (allowed.length > 0 ? `allowed keys here: ${allowed.join(', ')}` : undefined);
      return { message: `unknown key "${key}" ${at(path)}`, ...place, ...(hint ? { hint } : {}) };
    });
  }
  const found = walk(doc, path);
  const place = pos.at(offsetOf(issue.code === 'invalid_key' ? (found.keyNode ?? found.node) : found.node));
  const got = valueAt(data, path);
  if (issue.code === 'invalid_type' && !got.found && path.length > 0) {
    const parent = formatPath(path.slice(0, -1));
    return [{ message: `missing required key "${String(path.at(-1))}"${parent ? ` in ${parent}` : ' at the top level'}`, ...place }];
  }
  if (issue.code === 'invalid_type' && issue.expected !== undefined) {
    if (path.length === 0 && (got.value === null || got.value === undefined)) {
      return [{ message: 'the file is empty: expected a mapping at the top level', ...place }];
    }
    const hint = issue.expected === 'array' && typeof got.value === 'string' ? { hint: `write a list: [${got.value}]` } : {};
    return [{ message: `${at(path)}: expected ${expectedName(issue.expected)}, got ${typeName(got.value)}`, ...place, ...hint }];
  }
  if (issue.code === 'invalid_value' && issue.values) {
    const choices = issue.values.map(String);
    const bad = String(got.value);
    const suggestion = didYouMean(bad, choices);
    return [
      {
        message: `${at(path)}: "${bad}" is not a valid choice`,
        ...place,
        hint: `valid choices: ${choices.join(', ')}${suggestion ? ` (${suggestion})` : ''}`,
      },
    ];
  }
  return [{ message: `${at(path)}: ${issue.message}`, ...place }];
}

/** The syntax and structure errors of a parsed document (all of them). */
function yamlErrors(doc: Document, pos: Positions): Diagnostic[] {
  return doc.errors.map((error) => {
    if (error.code === 'RESOURCE_EXHAUSTION') return nestingDiagnostic(pos, error.pos[0]);
    const message = error.code === 'DUPLICATE_KEY' ? 'duplicate key: map keys must be unique' : `YAML syntax error: ${error.message}`;
    return { message, ...pos.at(error.pos[0]) };
  });
}

/** Every key given twice in one mapping, located at the second, naming the first. */
function duplicateKeys(doc: Document, pos: Positions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const visitNode = (node: unknown, depth: number): void => {
    if (depth > 500) return;
    if (isMap(node)) {
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const key = String(pair.key.value);
          const first = seen.get(key);
          if (first) {
            const firstAt = pos.at(offsetOf(first)).location;
            out.push({
              message: `duplicate key "${key}": keys of a mapping must be unique`,
              ...pos.at(offsetOf(pair.key)),
              ...(firstAt ? { hint: `first given at line ${firstAt.line}, column ${firstAt.column}` } : {}),
            });
          } else seen.set(key, pair.key);
        }
        visitNode(pair.value, depth + 1);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visitNode(item, depth + 1);
    }
  };
  visitNode(doc.contents, 0);
  return out;
}

/** Converts the document to plain data, turning alias bombs and other failures into diagnostics. */
function toPlain(doc: Document, pos: Positions): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) throw new ConfigError([nestingDiagnostic(pos, 0)]);
    const firstAlias = pos.text.search(/(^|[\s[{,:-])\*[^\s,\]}]/);
    const offset = firstAlias < 0 ? 0 : firstAlias + 1;
    const message = error instanceof ReferenceError && /alias/i.test(error.message)
      ? `too many YAML alias expansions (limit ${MAX_ALIAS_COUNT}): refusing a possible alias bomb`
      : `cannot read the YAML document: ${error instanceof Error ? error.message : String(error)}`;
    throw new ConfigError([{ message, ...pos.at(offset) }]);
  }
}

/**
 * YAML reads `version: 1.10` as the number 1.1 and `2.0` as 2. Where the schema takes text, the
 * value is what the user wrote, not the number's shortest spelling.
 */
function keepNumbersAsWritten(doc: Document, data: unknown, schema: unknown, at: PathSegment[] = []): unknown {
  const fixes: Array<[PathSegment[], string]> = [];
  const visitNode = (node: unknown, path: PathSegment[], depth: number): void => {
    if (depth > 200) return;
    if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) visitNode(pair.value, [...path, String(pair.key.value)], depth + 1);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visitNode(item, [...path, i], depth + 1));
    } else if (isScalar(node) && typeof node.value === 'number' && typeof node.source === 'string' && node.source !== String(node.value)) {
      fixes.push([path, node.source]);
    }
  };
  visitNode(doc.contents, at, 0);
  for (const [path, source] of fixes) {
    if (path.length === 0 || !leafDefsAt(schema, path).some((d) => d.type === 'string')) continue;
    const parent = valueAt(data, path.slice(0, -1));
    if (parent.found && parent.value !== null && typeof parent.value === 'object') {
      (parent.value as Record<PropertyKey, unknown>)[path.at(-1)!] = source;
    }
  }
  return data;
}

/** Parses YAML text already read from `display`; validates it with `schema`. */
export function parseYamlText<S extends z.ZodType>(text: string, display: string, schema: S, emptyValue: unknown = null): ParsedYamlFile<z.output<S>> {
  const counter = new LineCounter();
  const pos = new Positions(text, counter, display);
  const deep = tooDeep(text);
  if (deep !== undefined) throw new ConfigError([nestingDiagnostic(pos, deep)]);
  // yaml's own duplicate-key check compares every key with every other (minutes on a big recipe); ours is linear.
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, keepSourceTokens: false });
  const syntax = [...yamlErrors(doc, pos), ...duplicateKeys(doc, pos), ...nulCharacters(doc, pos)];
  if (syntax.length > 0) throw new ConfigError(syntax);
  const plain = keepNumbersAsWritten(doc, toPlain(doc, pos), schema);
  const data = (plain === null || plain === undefined) && doc.contents === null ? emptyValue : plain;
  const result = schema.safeParse(data);
  if (!result.success) {
    const issues = (result.error.issues as unknown as IssueLike[]).flatMap((i) => flattenIssue(i, data));
    // A mistyped required key is reported once, as unknown with its suggestion, not also as missing.
    const mistyped = new Set<string>();
    for (const i of issues) {
      if (i.code !== 'unrecognized_keys') continue;
      const allowed = allowedKeysAt(schema, i.path);
      for (const k of i.keys ?? []) {
        const best = closest(k, allowed);
        if (best !== undefined) mistyped.add(JSON.stringify([...i.path, best].map(String)));
      }
    }
    const kept = issues.filter((i) => !(i.code === 'invalid_type' && mistyped.has(JSON.stringify(i.path.map(String))) && !valueAt(data, i.path).found));
    const diagnostics = kept.flatMap((i) => issueToDiagnostics(i, schema, data, doc, pos));
    throw new ConfigError(sortDiagnostics(dedupe(diagnostics)));
  }
  return {
    value: result.data as z.output<S>,
    display,
    locate: locator(doc, pos),
  };
}

/** About how much text one piece holds (see {@link OFF_THREAD_CHARS}). */
const PIECE_CHARS = 64 * 1024;

/** A text cut into the rest of the document (with `key:` left empty) and pieces of the mapping under `key`. */
interface SplitText {
  key: string;
  rest: string;
  pieces: string[];
}

/**
 * Cuts the largest block mapping under a top-level `key:` into pieces, each a run of whole
 * entries, where that is plainly safe: one document with no directives, the key written
 * plainly with nothing after it, and every line of the mapping either blank, a comment, an
 * entry starting at the mapping's indentation with a plain or quoted key, or more indented
 * (an entry's value). Anything else, and any piece that does not parse on its own (an alias
 * of an anchor in another piece, a multi-line scalar cut in two), leaves the text to be
 * parsed whole, which also gives any diagnostic its place.
 */
function splitBigMapping(text: string): SplitText | undefined {
  if (/^(?:---|\.\.\.)(?:\s|$)|^%/m.test(text)) return undefined;
  const lineStarts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineAt = (n: number): string => text.slice(lineStarts[n]!, n + 1 < lineStarts.length ? lineStarts[n + 1]! - 1 : text.length);
  const blankOrComment = (line: string): boolean => /^[ ]*(?:#.*)?\r?$/.test(line);
  // The largest body under a top-level `key:` with nothing after the colon.
  let best: { key: string; from: number; to: number } | undefined;
  for (let n = 0; n < lineStarts.length; n++) {
    const head = /^([A-Za-z_][A-Za-z0-9_-]*):[ ]*(?:#.*)?\r?$/.exec(lineAt(n));
    if (!head) continue;
    let end = n + 1;
    while (end < lineStarts.length && (lineAt(end).startsWith(' ') || blankOrComment(lineAt(end)))) end++;
    if (end - n > 1 && (!best || end - n > best.to - best.from)) best = { key: head[1]!, from: n + 1, to: end };
  }
  if (!best) return undefined;
  const bodyFrom = lineStarts[best.from]!;
  const bodyTo = best.to < lineStarts.length ? lineStarts[best.to]! : text.length;
  if (bodyTo - bodyFrom < PIECE_CHARS) return undefined;
  let indent = -1;
  const pieces: string[] = [];
  let pieceFrom = bodyFrom;
  for (let n = best.from; n < best.to; n++) {
    const line = lineAt(n);
    if (blankOrComment(line)) continue;
    const lineIndent = line.length - line.trimStart().length;
    if (line[lineIndent] === '\t') return undefined;
    if (indent < 0) indent = lineIndent;
    if (lineIndent > indent) continue;
    // An entry of the mapping: a plain or quoted key (no anchor, tag, alias, complex key or list).
    if (lineIndent < indent || !/[A-Za-z0-9_./$"']/.test(line[lineIndent]!)) return undefined;
    if (lineStarts[n]! - pieceFrom >= PIECE_CHARS) {
      pieces.push(text.slice(pieceFrom, lineStarts[n]!));
      pieceFrom = lineStarts[n]!;
    }
  }
  pieces.push(text.slice(pieceFrom, bodyTo));
  return { key: best.key, rest: text.slice(0, bodyFrom) + text.slice(bodyTo), pieces };
}

/**
 * Parses a text cut by {@link splitBigMapping} and validates the whole value: the same value
 * as parsing it whole, or undefined when anything in it is not plainly right (then it is
 * parsed whole, for the diagnostics).
 */
function parsePieces(split: SplitText, display: string, schema: z.ZodType): { value: unknown } | undefined {
  const parse = (text: string): Document | undefined => {
    const counter = new LineCounter();
    const pos = new Positions(text, counter, display);
    const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, keepSourceTokens: false });
    if (doc.errors.length > 0 || duplicateKeys(doc, pos).length > 0 || nulCharacters(doc, pos).length > 0) return undefined;
    return doc;
  };
  try {
    const restDoc = parse(split.rest);
    if (!restDoc || !isMap(restDoc.contents)) return undefined;
    const data = toPlain(restDoc, new Positions(split.rest, new LineCounter(), display)) as Record<string, unknown>;
    if (data === null || typeof data !== 'object' || Array.isArray(data) || !Object.prototype.hasOwnProperty.call(data, split.key) || data[split.key] !== null) return undefined;
    keepNumbersAsWritten(restDoc, data, schema);
    const entries: Record<string, unknown> = {};
    data[split.key] = entries;
    for (const piece of split.pieces) {
      const doc = parse(piece);
      if (!doc || !isMap(doc.contents)) return undefined;
      const value = toPlain(doc, new Positions(piece, new LineCounter(), display)) as Record<string, unknown>;
      for (const name of Object.keys(value)) {
        // A key given in two pieces: the whole text says where.
        if (name === '__proto__' || Object.prototype.hasOwnProperty.call(entries, name)) return undefined;
        entries[name] = value[name];
      }
      keepNumbersAsWritten(doc, data, schema, [split.key]);
    }
    const result = schema.safeParse(data);
    return result.success ? { value: result.data } : undefined;
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

/**
 * A `locate` that parses the whole text with positions on its first call: positions are only
 * needed to report a problem found later.
 */
function locateLater(text: string, display: string): ParsedYamlFile<unknown>['locate'] {
  let located: ParsedYamlFile<unknown>['locate'] | undefined;
  return (path, key) => {
    if (located === undefined) {
      const counter = new LineCounter();
      const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, keepSourceTokens: false });
      located = locator(doc, new Positions(text, counter, display));
    }
    return located(path, key);
  };
}

/**
 * Parses a big text a piece at a time when it can be cut ({@link splitBigMapping}) and is
 * valid; undefined otherwise (then it is parsed whole, which also finds its diagnostics).
 */
function parseYamlPieces<S extends z.ZodType>(text: string, display: string, schema: S): ParsedYamlFile<z.output<S>> | undefined {
  const split = splitBigMapping(text);
  const parsed = split && parsePieces(split, display, schema);
  if (!parsed) return undefined;
  return { value: parsed.value as z.output<S>, display, locate: locateLater(text, display) };
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const k = `${d.location?.line}:${d.location?.column}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Diagnostics grouped by file (in order of first appearance), each file's in line order. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of diagnostics) {
    const f = d.location?.file ?? '';
    if (!fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
  }
  const rank = (d: Diagnostic): number => fileOrder.get(d.location?.file ?? '')!;
  return [...diagnostics].sort(
    (a, b) => rank(a) - rank(b) || (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0),
  );
}

/** Like {@link readYamlFile}, also giving the means to locate parts of the file for later checks. */
export async function parseYamlFile<S extends z.ZodType>(file: string, schema: S, opts?: ReadYamlOptions): Promise<ParsedYamlFile<z.output<S>>> {
  const display = displayPath(file, opts?.displayRoot);
  const { text, stats } = await readLimited(file, display);
  if (text.length >= OFF_THREAD_CHARS) {
    const pieces = parseYamlPieces(text, display, schema);
    if (pieces) return { ...pieces, stats };
    const { FILE_SCHEMAS } = await import('./schema.js');
    const name = (Object.keys(FILE_SCHEMAS) as Array<keyof typeof FILE_SCHEMAS>).find((key) => FILE_SCHEMAS[key] === (schema as unknown));
    if (name !== undefined) return { ...(await parseOffThread<z.output<S>>({ text, display, schema: name, emptyValue: opts?.emptyValue ?? null })), stats };
  }
  return { ...parseYamlText(text, display, schema, opts?.emptyValue), stats };
}

/**
 * From this size on a file is parsed a piece at a time, when its bulk is one block mapping
 * under a top-level key (a recipe's `targets:`, see {@link splitBigMapping}), else on a worker
 * thread. Parsed whole, a 1 MB recipe has a syntax tree of about 50 MB and a document of 25 MB
 * alive together, and that garbage would stay in the build's heap until a full collection
 * (on a thread, the thread's heap and the build's add up); a piece at a time, only the values
 * stay. Below this size, neither costs what it saves.
 */
export const OFF_THREAD_CHARS = 256 * 1024;

/**
 * Parses and validates a big file on a worker thread (src/playbook/parse-worker.ts). Only
 * the value comes back; positions are needed only to report a problem found later, and
 * then the text is parsed again here.
 */
async function parseOffThread<T>(request: ParseRequest): Promise<ParsedYamlFile<T>> {
  const { Worker } = await import('node:worker_threads');
  const answer = await new Promise<ParseAnswer>((resolveAnswer, reject) => {
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url), { workerData: request });
    let got: ParseAnswer | undefined;
    worker.once('message', (message: ParseAnswer) => (got = message));
    worker.once('error', reject);
    worker.once('exit', (code) => (got ? resolveAnswer(got) : reject(new Error(`the YAML parser thread for ${request.display} stopped with code ${code} and no answer`))));
  });
  if ('diagnostics' in answer) throw new ConfigError(answer.diagnostics);
  const { text, display } = request;
  return { value: answer.value as T, display, locate: locateLater(text, display) };
}

/** Where a path (or its key) is in a parsed document. */
function locator(doc: Document, pos: Positions): ParsedYamlFile<unknown>['locate'] {
  return (path, key) => {
    const found = walk(doc, path);
    return pos.at(offsetOf(key && found.complete ? (found.keyNode ?? found.node) : found.node));
  };
}

/**
 * Reads, parses (yaml 2, positions via LineCounter) and validates a YAML file with a zod schema.
 * Files over 10 MiB are refused (before reading them whole), YAML aliases limited
 * ({@link MAX_ALIAS_COUNT}) so an alias bomb fails fast, duplicate keys are errors. Throws
 * ConfigError with ALL diagnostics found in the file: file:line:column (1-based), the offending
 * source line, and a hint: did-you-mean for an unknown key, the valid choices for a wrong enum
 * value. The `file` in diagnostics is relative to `displayRoot` when given.
 */
export async function readYamlFile<S extends z.ZodType>(file: string, schema: S, opts?: ReadYamlOptions): Promise<z.output<S>> {
  return (await parseYamlFile(file, schema, opts)).value;
}
