/** Reads the examples of docs/ci.md, so that tests keep them true. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../util/run.js';

/**
 * The fenced block of docs/ci.md whose first line is `# <name>`, without that line.
 * (The examples name the file they stand for in their first line.)
 */
export function docBlock(name: string): string {
  const text = readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8');
  for (const match of text.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)) {
    const [first, ...rest] = match[1]!.split('\n');
    if (first === `# ${name}`) return rest.join('\n');
  }
  throw new Error(`docs/ci.md has no block starting with "# ${name}"`);
}

/** The fenced block of docs/ci.md of a given language whose text contains `needle`. */
export function docBlockContaining(language: string, needle: string): string {
  const text = readFileSync(join(REPO, 'docs', 'ci.md'), 'utf8');
  for (const match of text.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))) {
    if (match[1]!.includes(needle)) return match[1]!;
  }
  throw new Error(`docs/ci.md has no ${language} block containing "${needle}"`);
}
