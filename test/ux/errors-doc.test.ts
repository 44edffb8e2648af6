import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../util/run.js';

/** Calls that make an expected failure, with the message as the first text argument. */
const THROWERS = /(?:new (?:UsageError|AiopError|VariableError|TryFailure)|configError|\bfail)\(\s*(?:'[a-z-]+',\s*)?(?:(['"])((?:\\.|(?!\1).)*)\1|`((?:\\.|[^`])*)`)/gs;
/** Diagnostics built in place. */
const DIAGNOSTICS = /message: (?:(['"])((?:\\.|(?!\1).)*)\1|`((?:\\.|[^`])*)`)/g;

/** Backticks and line wrapping do not matter when comparing text. */
function normal(text: string): string {
  return text.replace(/\\`/g, '`').replace(/`` ?| ?``/g, '').replace(/`/g, '').replace(/\s+/g, ' ');
}

/** The longest fixed part (8 characters or more) of each error message in src/, by file. */
async function messageParts(): Promise<Array<{ file: string; part: string }>> {
  const src = join(REPO, 'src');
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const out: Array<{ file: string; part: string }> = [];
  for (const file of files) {
    const text = await readFile(join(src, file), 'utf8');
    for (const re of [THROWERS, DIAGNOSTICS]) {
      for (const m of text.matchAll(re)) {
        // Log lines are not errors.
        if (re === DIAGNOSTICS && /type: 'log'|emit\(\{\s*$|level: '/.test(text.slice(Math.max(0, m.index - 200), m.index))) continue;
        const literal = m[2] ?? m[3] ?? '';
        const parts = literal
          .split(/\$\{(?:[^{}]|\{[^{}]*\})*\}/)
          .map((p) => normal(p.split('${')[0]!).trim())
          .filter((p) => p.length >= 8)
          .sort((a, b) => b.length - a.length);
        if (parts[0] !== undefined) out.push({ file: `src/${file}`, part: parts[0] });
      }
    }
  }
  return out;
}

test('docs/errors.md has an entry for every error message in src/', async () => {
  const doc = normal(await readFile(join(REPO, 'docs/errors.md'), 'utf8'));
  const parts = await messageParts();
  assert.ok(parts.length > 100, `found only ${parts.length} messages: the extraction is broken`);
  const missing = parts.filter((p) => !doc.includes(p.part));
  assert.deepEqual(
    missing.map((m) => `${m.file}: "${m.part}"`),
    [],
    'these messages have no entry in docs/errors.md: add them with their cause and fix',
  );
});
