/**
 * A reader of Packer's machine-readable output written from Packer's documentation only
 * (the seed `packer-build-machine-readable.txt` and the format page): it does not reuse
 * any of aiop's code, so it catches aiop drifting from the format. It throws on any line
 * that the documentation does not allow.
 */
import assert from 'node:assert/strict';

export interface ParsedArtifact {
  builderId?: string;
  id?: string;
  string?: string;
  files: string[];
  nil: boolean;
}

export interface ParsedRun {
  ui: Array<{ kind: string; text: string }>;
  artifacts: Map<string, ParsedArtifact[]>;
  errors: Array<{ target: string; message: string }>;
  errorCount?: number;
}

/** Packer's documented decoding of a data field. */
export function decode(field: string): string {
  return field.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\r', '\r').replaceAll('\\n', '\n');
}

/** Number of data fields each type and artifact subtype takes (from the reference). */
const ARITY: Record<string, number> = { 'artifact-count': 1, 'error-count': 1, error: 1, ui: 2 };
const SUBTYPE_ARITY: Record<string, number> = { 'builder-id': 1, end: 0, file: 2, 'files-count': 1, id: 1, nil: 0, string: 1 };

interface ArtifactState {
  count: number;
  /** index being described, or -1 before the first */
  open: number;
  closed: number;
  filesCount?: number;
  items: ParsedArtifact[];
}

/** Parses the whole stdout of a run; asserts every documented rule on the way. */
export function parseMachineReadable(stdout: string): ParsedRun {
  assert.ok(stdout === '' || stdout.endsWith('\n'), 'output ends with a newline');
  const lines = stdout === '' ? [] : stdout.slice(0, -1).split('\n');
  const run: ParsedRun = { ui: [], artifacts: new Map(), errors: [] };
  const state = new Map<string, ArtifactState>();
  for (const line of lines) {
    const fields = line.split(',');
    assert.ok(fields.length >= 3, `at least 3 fields: ${line}`);
    const [timestamp, target, type, ...raw] = fields as [string, string, string, ...string[]];
    assert.match(timestamp, /^\d+$/, `integer timestamp: ${line}`);
    assert.ok(!line.includes('\r'), `no raw carriage return: ${JSON.stringify(line)}`);
    const data = raw.map(decode);
    if (type === 'artifact') {
      assert.ok(data.length >= 2, `artifact takes at least 2 data fields: ${line}`);
      const st = state.get(target);
      assert.ok(st, `artifact-count comes before artifacts of ${target}: ${line}`);
      const index = Number(raw[0]);
      assert.match(raw[0] ?? '', /^\d+$/, `artifact index is an integer: ${line}`);
      const subtype = raw[1] ?? '';
      const arity = SUBTYPE_ARITY[subtype];
      assert.ok(arity !== undefined, `known artifact subtype: ${line}`);
      assert.equal(data.length - 2, arity, `arity of artifact ${subtype}: ${line}`);
      if (index !== st.open) {
        assert.equal(index, st.closed, `artifacts come in order, each after the previous one's end: ${line}`);
        assert.ok(index < st.count, `index below artifact-count: ${line}`);
        st.open = index;
        st.filesCount = undefined;
        st.items.push({ files: [], nil: false });
      }
      const item = st.items[index]!;
      switch (subtype) {
        case 'builder-id':
          item.builderId = data[2];
          break;
        case 'id':
          item.id = data[2];
          break;
        case 'string':
          item.string = data[2];
          break;
        case 'nil':
          item.nil = true;
          break;
        case 'files-count':
          assert.match(raw[2] ?? '', /^\d+$/);
          st.filesCount = Number(raw[2]);
          break;
        case 'file':
          assert.ok(st.filesCount !== undefined, `files-count before file lines: ${line}`);
          assert.equal(Number(raw[2]), item.files.length, `file indices 0..N-1 in order: ${line}`);
          assert.ok(item.files.length < st.filesCount, `no more files than files-count: ${line}`);
          item.files.push(data[3]!);
          break;
        case 'end':
          if (st.filesCount !== undefined) assert.equal(item.files.length, st.filesCount, `files-count = file lines: ${line}`);
          st.closed = index + 1;
          st.open = -1;
          break;
      }
      continue;
    }
    const arity = ARITY[type];
    assert.ok(arity !== undefined, `a documented type (stdout carries nothing else): ${line}`);
    assert.equal(data.length, arity, `arity of ${type}: ${line}`);
    switch (type) {
      case 'ui':
        assert.equal(target, '', `ui lines have an empty target: ${line}`);
        assert.ok(['say', 'message', 'error'].includes(data[0]!), `ui subtype: ${line}`);
        run.ui.push({ kind: data[0]!, text: data[1]! });
        break;
      case 'artifact-count':
        assert.match(raw[0] ?? '', /^\d+$/);
        assert.ok(!state.has(target), `one artifact-count per target: ${line}`);
        state.set(target, { count: Number(raw[0]), open: -1, closed: 0, items: [] });
        break;
      case 'error-count':
        assert.equal(target, '', `error-count has an empty target: ${line}`);
        assert.equal(run.errorCount, undefined, 'one error-count');
        run.errorCount = Number(raw[0]);
        break;
      case 'error':
        assert.ok(run.errorCount !== undefined, `error-count before error lines: ${line}`);
        run.errors.push({ target, message: data[0]! });
        break;
    }
  }
  for (const [target, st] of state) {
    assert.equal(st.closed, st.count, `every artifact of ${target} (0..${st.count - 1}) closed by end`);
    run.artifacts.set(target, st.items);
  }
  if (run.errorCount !== undefined) assert.equal(run.errors.length, run.errorCount, 'error-count = error lines');
  return run;
}
