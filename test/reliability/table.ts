/**
 * `npm run reliability`: runs the reliability tests (the slow variants too: 30 kills, longer
 * fuzzing; `--quick` for the short ones), collects what each tried and whether it held, and
 * rewrites the table in docs/RELIABILITY.md between its markers. Exits 1 when a test failed
 * (the table is still written, showing what did not hold).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../util/run.js';
import type { Category, Trial } from './report.js';

const START = '<!-- reliability-table:start -->';
const END = '<!-- reliability-table:end -->';

const TITLES: Record<Category, string> = {
  kill: 'Kills survived (SIGKILL, then a normal build: identical outputs, no debris)',
  concurrency: 'Concurrent builds',
  fault: 'Faults injected',
  hostile: 'Hostile inputs refused',
  fuzz: 'Fuzz runs (fast-check)',
  secret: 'Secrets kept out of every output',
};

function runTests(report: string, quick: boolean, files: string[]): Promise<number> {
  return new Promise((resolve) => {
    const env = { ...process.env, AIOP_RELIABILITY_REPORT: report, ...(quick ? {} : { AIOP_SLOW_TESTS: '1' }) };
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { cwd: REPO, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** The markdown table of the trials, one row per thing tried, grouped by category. */
export function renderTable(trials: Trial[], mode: string): string {
  const rows = new Map<string, { category: Category; what: string; tried: number; held: number }>();
  for (const trial of trials) {
    const key = `${trial.category}\0${trial.what}`;
    const row = rows.get(key) ?? { category: trial.category, what: trial.what, tried: 0, held: 0 };
    row.tried += trial.count ?? 1;
    if (trial.held) row.held += trial.count ?? 1;
    rows.set(key, row);
  }
  const lines = [`| What | Tried | Held |`, `| --- | ---: | ---: |`];
  for (const category of Object.keys(TITLES) as Category[]) {
    // Controls (a kill that came after the build had ended) are shown, not counted.
    const control = (r: { what: string }): boolean => r.what.startsWith('(control');
    const group = [...rows.values()].filter((r) => r.category === category).sort((a, b) => Number(control(a)) - Number(control(b)) || (a.what < b.what ? -1 : 1));
    if (group.length === 0) continue;
    const tried = group.filter((r) => !control(r)).reduce((n, r) => n + r.tried, 0);
    const held = group.filter((r) => !control(r)).reduce((n, r) => n + r.held, 0);
    lines.push(`| **${TITLES[category]}** | **${tried}** | **${held}** |`);
    for (const row of group) lines.push(`| ${row.what.replace(/\|/g, '\\|')} | ${row.tried} | ${row.held} |`);
  }
  return `${lines.join('\n')}\n\n${mode}\n`;
}

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const dir = await mkdtemp(join(tmpdir(), 'aiop-reliability-'));
  const report = join(dir, 'trials.jsonl');
  try {
    const testDir = join(REPO, 'dist/test/reliability');
    const files = (await readdir(testDir)).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(testDir, f));
    const status = await runTests(report, quick, files);
    const text = await readFile(report, 'utf8').catch(() => '');
    const trials = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Trial);
    const mode = `Produced by \`npm run reliability${quick ? ' -- --quick' : ''}\` (${quick ? 'quick mode: 3 kills, short fuzzing' : 'full mode: as CI runs it'}), Node ${process.version}; tests ${status === 0 ? 'all passed' : 'FAILED'}.`;
    const doc = join(REPO, 'docs/RELIABILITY.md');
    const current = await readFile(doc, 'utf8');
    const start = current.indexOf(START);
    const end = current.indexOf(END);
    if (start < 0 || end < start) throw new Error(`docs/RELIABILITY.md lacks the ${START} ... ${END} markers`);
    await writeFile(doc, `${current.slice(0, start + START.length)}\n${renderTable(trials, mode)}${current.slice(end)}`);
    process.stdout.write(`\n${renderTable(trials, mode)}\nWritten to docs/RELIABILITY.md\n`);
    return status === 0 ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`reliability: ${String(error)}\n`);
    process.exit(1);
  },
);
