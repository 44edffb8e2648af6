/**
 * `npm run bench`: runs every scenario side by side with its peer tools (hyperfine where it
 * fits) and rewrites BENCHMARKS.md with the machine, the date and the ratios.
 *
 *   node dist/bench/run.js [--quick] [--only NAME] [--targets N] [--runs N]
 *     [--pack-mib N] [--download-mib N] [--place-mib N] [--packages N] [--packages-artifact-mib N]
 *     [--wait-load LOAD] [--report-only]
 *
 * --quick: small sizes, a smoke run (writes bench/work/BENCHMARKS.quick.md, not BENCHMARKS.md).
 * --wait-load: first wait (at most 5 minutes) for the load average to drop below LOAD.
 * --report-only: write BENCHMARKS.md again from the last run's record (after editing bench/analysis.md).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeScenarios } from './recipe.js';
import { startupScenarios } from './startup.js';
import { packScenarios } from './pack.js';
import { rpmScenarios } from './rpm.js';
import { artifactScenarios } from './artifacts.js';
import { buildAllScenarios } from './build-all.js';
import { peakRssOfCommand } from './rss.js';

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
  /** A floor given as "at most this many ms above the peer" instead of a ratio. */
  floorMsAbove?: number;
  rssMb?: number;
  /** Largest acceptable peak RSS of ours, in MB. */
  rssFloorMb?: number;
  /** Free text for the last column (output sizes, settings). */
  note?: string;
}

/** Sizes and repetitions; every size can be set from the command line. */
export interface Options {
  targets: number;
  runs: number;
  only?: string;
  quick: boolean;
  /** (e) size of the generated package, MiB. */
  packMib: number;
  /** (f) size of the downloaded artifact, MiB. */
  downloadMib: number;
  /** (g) size of the cached artifact placed into a package, MiB. */
  placeMib: number;
  /** (h) size of each of the 4 shared artifacts, MiB. */
  artifactMib: number;
  /** (h) number of packages (a matrix of 4 x packages/4). */
  packages: number;
}

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Median wall time in ms of each command, timed by hyperfine in rounds: each round times every
 * command once (one hyperfine invocation per round, the warm-up runs in the first), so a machine
 * that drifts faster or slower while it is measured (a shared VM does, by 20-30% within minutes)
 * shifts ours and the peers' alike, instead of whichever commands were timed last.
 */
export function hyperfine(cwd: string, measures: Measure[], runs: number, warmup = 1, env?: NodeJS.ProcessEnv): Map<string, number> {
  if (!has('hyperfine')) throw new Error('hyperfine is needed (apt-get install hyperfine)');
  const out = join(WORK, 'hyperfine.json');
  const times = new Map<string, number[]>(measures.map((m) => [m.name, []]));
  for (let round = 0; round < runs; round++) {
    const args = ['--style', 'none', '-N', '--runs', '1', '--export-json', out];
    if (round === 0 && warmup > 0) args.push('--warmup', String(warmup));
    for (const m of measures) {
      if (m.prepare) args.push('--prepare', m.prepare);
      else if (measures.some((x) => x.prepare)) args.push('--prepare', 'true');
    }
    for (const m of measures) args.push('-n', m.name, m.command);
    // -N runs without a shell; commands with shell syntax are wrapped by the caller.
    execFileSync('hyperfine', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'], ...(env ? { env } : {}) });
    const results = JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ command: string; times: number[] }> };
    for (const r of results.results) times.get(r.command)!.push(...r.times);
  }
  return new Map([...times].map(([name, seconds]) => [name, median(seconds) * 1000]));
}

/**
 * A prepare step that also has the kernel write out every dirty page (`sync`) before the timed
 * run: in the scenarios that write gigabytes, a command timed right after another would
 * otherwise pay for the other's writeback. (Paths must not hold a single quote.)
 */
export function settled(prepare: string): string {
  return `sh -c '${prepare} && sync'`;
}

/** The median, as hyperfine computes it (the mean of the two middle values of an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Peak resident memory of one run, in MB: the largest process of the command's tree. GNU time's
 * %M (exact, from wait4) when /usr/bin/time is installed, else the highest VmHWM seen while
 * polling /proc for the command and its descendants (Linux only).
 */
export async function peakRssMb(cwd: string, command: string, prepare?: string, env?: NodeJS.ProcessEnv): Promise<number | undefined> {
  if (prepare) execFileSync('sh', ['-c', prepare], { cwd, stdio: 'ignore', ...(env ? { env } : {}) });
  if (existsSync('/usr/bin/time')) {
    // GNU time writes to stderr, which execFileSync does not return: ask for a file instead.
    const out = join(WORK, 'time.txt');
    execFileSync('/usr/bin/time', ['-f', '%M', '-o', out, 'sh', '-c', `${command} >/dev/null 2>&1`], {
      cwd,
      stdio: 'ignore',
      ...(env ? { env } : {}),
    });
    const kib = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
    rmSync(out, { force: true });
    return Math.round(kib / 1024);
  }
  if (!existsSync('/proc/self/status')) return undefined;
  const kib = await peakRssOfCommand(cwd, command, env);
  return Math.round(kib / 1024);
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = quick
    ? { targets: 500, runs: 2, quick, packMib: 32, downloadMib: 64, placeMib: 32, artifactMib: 1, packages: 8 }
    : { targets: 10_000, runs: 5, quick, packMib: 1024, downloadMib: 2048, placeMib: 1024, artifactMib: 4, packages: 16 };
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive whole number, got "${value ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') options.only = argv[++i];
    else if (a === '--targets') options.targets = number(a, argv[++i]);
    else if (a === '--runs') options.runs = number(a, argv[++i]);
    else if (a === '--pack-mib') options.packMib = number(a, argv[++i]);
    else if (a === '--download-mib') options.downloadMib = number(a, argv[++i]);
    else if (a === '--place-mib') options.placeMib = number(a, argv[++i]);
    else if (a === '--packages-artifact-mib') options.artifactMib = number(a, argv[++i]);
    else if (a === '--packages') options.packages = Math.max(4, Math.ceil(number(a, argv[++i]) / 4) * 4);
    else if (a !== '--quick') throw new Error(`unknown option ${a}`);
  }
  return options;
}

function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node.js ${process.version}, ${process.platform}`;
}

/** The verdicts of one row: time floor and memory floor, each "met" or "**not met**". */
function verdicts(r: Row): { time: string; rss: string } {
  const ratio = r.oursMs / r.peerMs;
  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  let time = '';
  if (r.floor !== undefined) time = `≤ ${r.floor} ${mark(ratio <= r.floor)}`;
  else if (r.floorMsAbove !== undefined) time = `≤ +${r.floorMsAbove} ms ${mark(r.oursMs - r.peerMs <= r.floorMsAbove)}`;
  const rss = r.rssMb === undefined ? '' : `${r.rssMb} MB${r.rssFloorMb === undefined ? '' : ` (< ${r.rssFloorMb}: ${mark(r.rssMb < r.rssFloorMb)})`}`;
  return { time, rss };
}

/** The Markdown table of BENCHMARKS.md. */
export function table(rows: Row[]): string {
  const lines = [
    '| scenario | ours | median | peer | median | ratio | floor | peak RSS (ours) | notes |',
    '|---|---|---:|---|---:|---:|---|---|---|',
  ];
  for (const r of rows) {
    const ratio = r.oursMs / r.peerMs;
    const { time, rss } = verdicts(r);
    const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
    lines.push(`| ${r.scenario} | ${r.ours} | ${ms(r.oursMs)} | ${r.peer} | ${ms(r.peerMs)} | ${ratio.toFixed(2)} | ${time} | ${rss} | ${r.note ?? ''} |`);
  }
  return lines.join('\n');
}

/** Rows whose time or memory floor is not met. */
function unmet(rows: Row[]): Row[] {
  return rows.filter((r) => {
    const v = verdicts(r);
    return v.time.includes('not met') || v.rss.includes('not met');
  });
}

/** What one run measured; saved so that BENCHMARKS.md can be written again (`--report-only`) without measuring. */
interface RunRecord {
  args: string;
  date: string;
  minutes: string;
  machine: string;
  load: string;
  options: Options;
  rows: Row[];
  notes: string[];
  /** What the run changed in its environment, and why (rendered under the machine line). */
  environment?: string;
}

/** BENCHMARKS.md from one run, with bench/analysis.md (the profiles behind unmet floors) appended. */
function render(run: RunRecord): string {
  const { options, rows, notes } = run;
  const missed = unmet(rows);
  const analysisFile = join(REPO, 'bench/analysis.md');
  const analysis = existsSync(analysisFile) ? `\n${readFileSync(analysisFile, 'utf8').trim()}\n` : '';
  return `# Benchmarks

Written by \`npm run bench${run.args ? ` -- ${run.args}` : ''}\` (bench/run.ts) on ${run.date}, in ${run.minutes} minutes.
Machine: ${run.machine}. Load average when the run started: ${run.load}.${run.environment ? `\n${run.environment}` : ''}
Inputs are generated (seeded, no network: servers listen on 127.0.0.1 only); sizes: ${options.targets} recipe targets,
a ${options.packMib} MiB package to pack, a ${options.downloadMib} MiB download, a ${options.placeMib} MiB artifact to place,
${options.packages} packages sharing 4 artifacts of ${options.artifactMib} MiB. Each time is the median over the runs given in
the scenario's notes (default ${options.runs}, three times that for the recipe's sub-second builds, fewer for the large
ones), timed by hyperfine in rounds: each round times ours and its peers once each, so the machine's drift during the
run shifts them alike; where a scenario writes gigabytes (pack, rpm, download, place), each timed run starts after \`sync\`,
so none pays for the writeback of the one before. Ratio = ours / peer's; the floor is the largest ratio the issues accept.
Peak RSS of ours: for the helper scripts that call the library (pack-one, fetch-one), Node's own maxRSS, the largest over
the timed runs; for \`aiop\` commands, the largest process of one extra run (GNU time, or VmHWM polled from /proc).

${table(rows)}

${missed.length === 0 ? 'Every floor is met in this run.' : `Floors not met in this run: ${missed.map((r) => `${r.scenario} (${r.ours} against ${r.peer})`).join('; ')}. See below for why.`}

${notes.map((n) => `- ${n}`).join('\n')}
${analysis}`;
}

/**
 * NODE_EXTRA_CA_CERTS makes every Node process read and parse that bundle when it starts,
 * before any of its code runs. No scenario uses TLS, so the run goes without it (every
 * command, ours and the peers'), and the report says what it would have cost.
 */
function withoutExtraCaCerts(): string | undefined {
  const bundle = process.env['NODE_EXTRA_CA_CERTS'];
  if (bundle === undefined) return undefined;
  const times = hyperfine(
    tmpdir(),
    [
      { name: 'with', command: `env NODE_EXTRA_CA_CERTS=${bundle} node -e 0` },
      { name: 'without', command: 'env -u NODE_EXTRA_CA_CERTS node -e 0' },
    ],
    10,
    2,
  );
  delete process.env['NODE_EXTRA_CA_CERTS'];
  const ms = (name: string): string => `${Math.round(times.get(name)!)} ms`;
  return `This machine's environment sets NODE_EXTRA_CA_CERTS (${bundle}), which makes every Node.js process parse that bundle at start-up (\`node -e 0\`: ${ms('with')} with it, ${ms('without')} without, measured before the run). No scenario uses TLS, so every command ran without it.`;
}

/** Waits (up to `maxMinutes`) for the 1-minute load average to fall below `limit`; other work skews every number. */
async function waitForQuiet(limit: number, maxMinutes: number): Promise<void> {
  const deadline = Date.now() + maxMinutes * 60_000;
  while (loadavg()[0]! >= limit && Date.now() < deadline) {
    process.stderr.write(`load average ${loadavg()[0]!.toFixed(2)} >= ${limit}: waiting\n`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

async function mainBench(): Promise<void> {
  const argv = process.argv.slice(2);
  const reportOnly = argv.includes('--report-only');
  const waitAt = argv.indexOf('--wait-load');
  const waitLoad = waitAt >= 0 ? Number(argv[waitAt + 1]) : undefined;
  const rest = argv.filter((a, i) => a !== '--report-only' && (waitAt < 0 || (i !== waitAt && i !== waitAt + 1)));
  const options = parseArgs(rest);
  mkdirSync(WORK, { recursive: true });
  const record = join(WORK, options.quick ? 'last-run.quick.json' : 'last-run.json');
  const output = join(REPO, options.quick ? join('bench/work', 'BENCHMARKS.quick.md') : 'BENCHMARKS.md');
  if (reportOnly) {
    const text = render(JSON.parse(readFileSync(record, 'utf8')) as RunRecord);
    writeFileSync(output, text);
    process.stdout.write(text);
    return;
  }
  if (waitLoad !== undefined) await waitForQuiet(waitLoad, 5);
  const environment = withoutExtraCaCerts();
  const rows: Row[] = [];
  const notes: string[] = [];
  const scenarios = [...startupScenarios, ...recipeScenarios, ...packScenarios, ...rpmScenarios, ...artifactScenarios, ...buildAllScenarios];
  const started = Date.now();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  for (const scenario of scenarios) {
    if (options.only && !scenario.name.includes(options.only)) continue;
    process.stderr.write(`\n== ${scenario.name}\n`);
    const result = await scenario.run(options);
    rows.push(...result.rows);
    notes.push(...result.notes);
  }
  const run: RunRecord = {
    args: rest.join(' '),
    date: new Date().toISOString().slice(0, 10),
    minutes: ((Date.now() - started) / 60_000).toFixed(1),
    machine: machine(),
    load,
    options,
    rows,
    notes,
    ...(environment ? { environment } : {}),
  };
  writeFileSync(record, `${JSON.stringify(run, null, 2)}\n`);
  const text = render(run);
  writeFileSync(output, text);
  process.stdout.write(text);
  rmSync(join(WORK, 'hyperfine.json'), { force: true });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await mainBench();
}
