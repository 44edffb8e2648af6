/**
 * `npm run bench`: runs every scenario side by side with its peer tools (hyperfine where it
 * fits) and rewrites BENCHMARKS.md with the machine, the date and the ratios.
 *
 *   node dist/bench/run.js [--only NAME] [--targets N] [--runs N]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeScenarios } from './recipe.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const AIOP = join(REPO, 'dist/src/cli/aiop.js');
export const WORK = join(REPO, 'bench/work');

/** One measured command. */
export interface Measure {
  name: string;
  command: string;
  /** Run before each timing run (not timed), e.g. to clean outputs. */
  prepare?: string;
}

/** A row of BENCHMARKS.md: ours against a peer. */
export interface Row {
  scenario: string;
  ours: string;
  oursMs: number;
  peer: string;
  peerMs: number;
  /** Ours divided by the peer's; the floor is the largest acceptable ratio. */
  floor?: number;
  rssMb?: number;
}

export interface Options {
  targets: number;
  runs: number;
  only?: string;
}

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Median wall time in ms of each command, measured by hyperfine in one run so they share conditions. */
export function hyperfine(cwd: string, measures: Measure[], runs: number, warmup = 1): Map<string, number> {
  if (!has('hyperfine')) throw new Error('hyperfine is needed (apt-get install hyperfine)');
  const out = join(WORK, 'hyperfine.json');
  const args = ['--style', 'none', '-N', '--runs', String(runs), '--export-json', out];
  if (warmup > 0) args.push('--warmup', String(warmup));
  for (const m of measures) {
    if (m.prepare) args.push('--prepare', m.prepare);
    else if (measures.some((x) => x.prepare)) args.push('--prepare', 'true');
  }
  for (const m of measures) args.push('-n', m.name, m.command);
  // -N runs without a shell; commands with shell syntax are wrapped by the caller.
  execFileSync('hyperfine', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  const results = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ command: string; median: number }> };
  return new Map(results.results.map((r) => [r.command, r.median * 1000]));
}

/** Peak resident memory of one run, in MB (GNU time's %M). */
export function peakRssMb(cwd: string, command: string, prepare?: string): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  if (prepare) execFileSync('sh', ['-c', prepare], { cwd, stdio: 'ignore' });
  const out = execFileSync('/usr/bin/time', ['-f', '%M', 'sh', '-c', `${command} >/dev/null 2>&1`], { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  return Math.round(Number(out.trim().split('\n').pop()) / 1024);
}

function parseArgs(argv: string[]): Options {
  const options: Options = { targets: 10_000, runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') options.only = argv[++i];
    else if (a === '--targets') options.targets = Number(argv[++i]);
    else if (a === '--runs') options.runs = Number(argv[++i]);
  }
  return options;
}

function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node.js ${process.version}, ${process.platform}`;
}

function table(rows: Row[]): string {
  const lines = ['| scenario | ours | median | peer | median | ratio | floor | peak RSS |', '|---|---|---:|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const ratio = r.oursMs / r.peerMs;
    const verdict = r.floor === undefined ? '' : ratio <= r.floor ? ` ≤ ${r.floor} met` : ` ≤ ${r.floor} **not met**`;
    lines.push(
      `| ${r.scenario} | ${r.ours} | ${r.oursMs.toFixed(0)} ms | ${r.peer} | ${r.peerMs.toFixed(0)} ms | ${ratio.toFixed(2)} |${verdict} | ${r.rssMb === undefined ? '' : `${r.rssMb} MB`} |`,
    );
  }
  return lines.join('\n');
}

async function mainBench(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  mkdirSync(WORK, { recursive: true });
  const rows: Row[] = [];
  const notes: string[] = [];
  const scenarios = [...recipeScenarios];
  for (const scenario of scenarios) {
    if (options.only && !scenario.name.includes(options.only)) continue;
    process.stderr.write(`\n== ${scenario.name}\n`);
    const result = await scenario.run(options);
    rows.push(...result.rows);
    notes.push(...result.notes);
  }
  const date = new Date().toISOString().slice(0, 10);
  const text = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts) on ${date}.
Machine: ${machine()}.
Inputs are generated (seeded, no network); sizes: ${options.targets} recipe targets. Each time is hyperfine's
median of ${options.runs} runs in the same hyperfine invocation as its peers. Ratio = ours / peer's; the floor is
the largest ratio the issues accept.

${table(rows)}

${notes.map((n) => `- ${n}`).join('\n')}
`;
  writeFileSync(join(REPO, 'BENCHMARKS.md'), text);
  process.stdout.write(text);
  rmSync(join(WORK, 'hyperfine.json'), { force: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await mainBench();
}
