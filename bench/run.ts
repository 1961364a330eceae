/**
 * Runs every benchmark in turn and rewrites BENCHMARKS.md with what was measured: `npm run bench`.
 *
 * A benchmark is one entry in BENCHMARKS below: an id, the settings it reads, and a `run` that returns a
 * BenchmarkReport (figures with their baselines, notes, the command that reproduces it). Adding one (search,
 * authentication overhead …) means writing bench/<name>.ts with a `run…Benchmark` function and adding its entry.
 *
 * BENCH_ONLY=ingest,memory runs some of them; the sections of the others are kept from the previous file.
 * Speed is measured, not asserted: a missed target is reported, and only a benchmark that could not run makes
 * the exit code non-zero.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runIngestBenchmark } from './ingest.js';
import { runLoginBenchmark } from './login.js';
import { runMemoryBenchmark } from './memory.js';
import { runSearchBenchmark } from './search.js';
import { runSoak } from './soak.js';
import { runUploadsBenchmark } from './uploads.js';
import { runAuthBenchmark, runClusterBenchmark } from './throughput.js';
import { type BenchmarkReport, envInteger, FIGURE_HEADERS, figureCells, formatNumber, machineFacts, printReport } from './lib/report.js';

export interface BenchmarkEntry {
  id: string;
  title: string;
  /** Environment variables it reads, for "How to run". */
  settings: Array<{ name: string; fallback: string; meaning: string }>;
  /** Runs only when BENCH_ONLY names it (long runs); otherwise its section is kept from its last run. */
  onlyWhenNamed?: boolean;
  run(): Promise<BenchmarkReport>;
}

/** Every benchmark, in the order they run. */
export const BENCHMARKS: BenchmarkEntry[] = [
  {
    id: 'ingest',
    title: 'Ingest: upload plus renditions',
    settings: [
      { name: 'BENCH_INGEST_COUNT', fallback: '24', meaning: 'number of 12-megapixel JPEGs uploaded (and rendered by the baseline)' },
      { name: 'BENCH_INGEST_ROUNDS', fallback: '3', meaning: 'measured Damson runs, each between two sharp-alone runs; the figures are medians' },
      { name: 'BENCH_INGEST_TIMEOUT_S', fallback: '300 + 10 per photo and round', meaning: 'hard time limit of the ingest benchmark' },
    ],
    run: async () => (await runIngestBenchmark()).report,
  },
  {
    id: 'memory',
    title: 'Memory: streaming a large file up and down, whole and by range',
    settings: [
      { name: 'BENCH_MEMORY_MB', fallback: '1024', meaning: 'size of the file uploaded and downloaded, in MiB' },
      { name: 'BENCH_MEMORY_ROUNDS', fallback: '3', meaning: 'rounds of node:http downloads (whole file, first half, middle half) from Damson and from the floor, in alternating order; the figures are medians' },
      { name: 'BENCH_MEMORY_TIMEOUT_S', fallback: '300 + 0.5 per MiB', meaning: 'hard time limit of the memory benchmark' },
    ],
    run: async () => (await runMemoryBenchmark()).report,
  },
  {
    id: 'uploads',
    title: 'Uploads at once: server memory under concurrent large uploads',
    settings: [
      { name: 'BENCH_UPLOAD_CLIENTS', fallback: '20', meaning: '`uploads`: clients uploading at once, each one file on a connection of its own' },
      { name: 'BENCH_UPLOAD_MB', fallback: '200', meaning: '`uploads`: size of each client\u2019s file, in MiB' },
      { name: 'BENCH_UPLOAD_TIMEOUT_S', fallback: '300 + 0.25 per MiB uploaded', meaning: 'hard time limit of the uploads benchmark' },
    ],
    run: async () => (await runUploadsBenchmark()).report,
  },
  {
    id: 'search',
    title: 'Search: query latency over HTTP against the direct query',
    settings: [
      { name: 'BENCH_SEARCH_ASSETS', fallback: '100000', meaning: 'assets generated for the `search` benchmark (the `search-1m` one always uses 1,000,000)' },
      { name: 'BENCH_SEARCH_SAMPLES', fallback: '200', meaning: 'measured samples per kind of query (each over HTTP, through SearchService and as raw SQL)' },
      { name: 'BENCH_SEARCH_SECONDS', fallback: '90 (480 for `search-1m`)', meaning: 'time budget of the measured pass, shared by the kinds of query; a kind stops early once its share is spent' },
      { name: 'BENCH_SEARCH_TIMEOUT_S', fallback: '900 + 3 ms per asset', meaning: 'hard time limit of a search benchmark' },
      {
        name: 'BENCH_SEARCH_KEEP',
        fallback: 'unset',
        meaning: 'a directory that keeps the generated SQLite catalogue: generated there once, reused by later runs of the same size (for profiling; the report says so)',
      },
    ],
    run: async () => (await runSearchBenchmark()).report,
  },
  {
    id: 'search-1m',
    title: 'Search at 1,000,000 assets',
    settings: [],
    onlyWhenNamed: true,
    run: async () => (await runSearchBenchmark({ assets: 1_000_000, measureSeconds: envInteger('BENCH_SEARCH_SECONDS', 480, 1, 86_400) })).report,
  },
  {
    id: 'ingest-pg',
    title: 'Ingest on PostgreSQL',
    settings: [{ name: 'BENCH_PG_URL', fallback: 'postgres://postgres@127.0.0.1:5432/postgres', meaning: 'the PostgreSQL of the `-pg` benchmarks (a schema of their own, dropped afterwards)' }],
    run: async () => onPostgres((await runIngestBenchmark({ databaseUrl: postgresUrl() })).report),
  },
  {
    id: 'search-pg',
    title: 'Search on PostgreSQL',
    settings: [],
    run: async () => onPostgres((await runSearchBenchmark({ databaseUrl: postgresUrl() })).report),
  },
  {
    id: 'auth',
    title: 'Throughput: authentication overhead against bare Fastify',
    settings: [
      { name: 'BENCH_THROUGHPUT_SECONDS', fallback: '5', meaning: '`auth` and `cluster`: measured seconds of each run of a case (one request kind against one server set-up)' },
      { name: 'BENCH_THROUGHPUT_WARMUP_S', fallback: '1', meaning: '`auth` and `cluster`: seconds of unmeasured load before each measured run' },
      { name: 'BENCH_THROUGHPUT_CONNECTIONS', fallback: '10', meaning: '`auth` and `cluster`: keep-alive connections of each load generator (autocannon, pipelining 1)' },
      { name: 'BENCH_THROUGHPUT_ROUNDS', fallback: '2', meaning: '`auth` and `cluster`: runs of every case, in alternating order; rates are means over them, latencies percentiles over all their answers' },
      { name: 'BENCH_THROUGHPUT_TIMEOUT_S', fallback: '120 + rounds × cases × (seconds + warm-up + 10)', meaning: 'hard time limit of the `auth` and of the `cluster` benchmark' },
    ],
    run: () => runAuthBenchmark(),
  },
  {
    id: 'cluster',
    title: 'Throughput: one Damson API node against two (PostgreSQL + Redis)',
    settings: [
      {
        name: 'BENCH_CLUSTER_DATABASE_URL',
        fallback: 'BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres',
        meaning: 'the PostgreSQL the `cluster` benchmark needs, used in a schema of its own that is dropped afterwards (Redis is a private redis-server it starts)',
      },
    ],
    run: () => runClusterBenchmark(),
  },
  {
    id: 'login',
    title: 'Logins under load',
    settings: [
      { name: 'BENCH_LOGIN_CONCURRENT', fallback: '50', meaning: 'logins sent at once in each burst' },
      { name: 'BENCH_LOGIN_ROUNDS', fallback: '4', meaning: 'bursts measured' },
    ],
    run: async () => (await runLoginBenchmark()).report,
  },
  {
    id: 'soak',
    title: 'Soak: a mixed workload over time',
    settings: [
      { name: 'BENCH_SOAK_SECONDS', fallback: '60', meaning: 'how long the mixed workload runs (the recorded run uses 600)' },
      { name: 'BENCH_SOAK_CLIENTS', fallback: '4', meaning: 'clients running it at once' },
    ],
    run: async () => (await runSoak()).report,
  },
];

/** The `-pg` entries run the same benchmark as their SQLite twin, on PostgreSQL, so the two sections sit side by side. */
function postgresUrl(): string {
  return process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

function onPostgres(report: BenchmarkReport): BenchmarkReport {
  return { ...report, title: `${report.title} (PostgreSQL)` };
}

const COMMON_SETTINGS = [
  { name: 'BENCH_DATABASE_URL', fallback: 'unset (SQLite)', meaning: 'a postgres:// URL: Damson runs on PostgreSQL, in a schema of its own that is dropped afterwards' },
  {
    name: 'BENCH_ONLY',
    fallback: `all but ${BENCHMARKS.filter((entry) => entry.onlyWhenNamed).map((entry) => `\`${entry.id}\``).join(', ')}`,
    meaning: `comma-separated ids of the benchmarks to run (${BENCHMARKS.map((entry) => `\`${entry.id}\``).join(', ')}); the other sections of BENCHMARKS.md are kept`,
  },
];

const OUTPUT = join(import.meta.dirname, '..', 'BENCHMARKS.md');

type Outcome = { entry: BenchmarkEntry; report: BenchmarkReport } | { entry: BenchmarkEntry; error: string; seconds: number };

async function main(): Promise<number> {
  const selected = selectBenchmarks(process.env.BENCH_ONLY);
  const previous = await readFile(OUTPUT, 'utf8').catch(() => '');
  const facts = machineFacts();
  const outcomes = new Map<string, Outcome>();

  for (const entry of selected) {
    process.stderr.write(`\n### ${entry.title} (${entry.id})\n`);
    const started = performance.now();
    try {
      const report = await entry.run();
      printReport(report);
      outcomes.set(entry.id, { entry, report });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`${entry.id} failed: ${message}\n`);
      outcomes.set(entry.id, { entry, error: message, seconds: (performance.now() - started) / 1000 });
    }
  }

  const sections = BENCHMARKS.map((entry) => {
    const outcome = outcomes.get(entry.id);
    if (outcome) return wrap(entry.id, 'report' in outcome ? reportSection(outcome.report, facts) : failureSection(outcome, facts));
    return previousSection(previous, entry.id) ?? wrap(entry.id, `## ${entry.title}\n\nNot run yet: \`BENCH_ONLY=${entry.id} npm run bench\`.\n`);
  });
  await writeFile(OUTPUT, document(facts, sections, outcomes, previous));
  process.stderr.write(`\nwrote ${OUTPUT}\n`);
  return [...outcomes.values()].some((outcome) => 'error' in outcome) ? 1 : 0;
}

function selectBenchmarks(only: string | undefined): BenchmarkEntry[] {
  if (!only || only.trim() === '') return BENCHMARKS.filter((entry) => !entry.onlyWhenNamed);
  const ids = only.split(',').map((id) => id.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !BENCHMARKS.some((entry) => entry.id === id));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((entry) => entry.id).join(', ')}`);
  return BENCHMARKS.filter((entry) => ids.includes(entry.id));
}

const begin = (id: string) => `<!-- bench:${id} -->`;
const end = (id: string) => `<!-- /bench:${id} -->`;

function wrap(id: string, body: string): string {
  return `${begin(id)}\n${body.trimEnd()}\n${end(id)}`;
}

/** A section of the previous BENCHMARKS.md, kept when its benchmark did not run this time. */
function previousSection(previous: string, id: string): string | undefined {
  const from = previous.indexOf(begin(id));
  const to = previous.indexOf(end(id));
  if (from < 0 || to < from) return undefined;
  return previous.slice(from, to + end(id).length);
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`)].join('\n');
}

function runLine(facts: Record<string, string>, seconds: number): string {
  return `_Measured ${facts.Date} on ${facts.CPU}, ${facts.Memory}, Node ${facts.Node}; took ${formatNumber(seconds, 0)} s._`;
}

function reportSection(report: BenchmarkReport, facts: Record<string, string>): string {
  const parameters = Object.entries(report.parameters).map(([name, value]) => `${name} = ${value}`).join(', ');
  return [
    `## ${report.title}`,
    '',
    runLine(facts, report.seconds),
    '',
    report.description,
    '',
    `**Baseline:** ${report.baseline}`,
    '',
    `**Parameters:** ${parameters}.`,
    '',
    table(FIGURE_HEADERS, report.figures.map(figureCells)),
    '',
    ...(report.tables ?? []).flatMap((extra) => [`**${extra.title}**`, '', table(extra.headers, extra.rows), '']),
    ...report.notes.map((note) => `- ${note}`),
    '',
    `Reproduce: \`${report.command}\``,
    '',
  ].join('\n');
}

function failureSection(outcome: { entry: BenchmarkEntry; error: string; seconds: number }, facts: Record<string, string>): string {
  return [
    `## ${outcome.entry.title}`,
    '',
    runLine(facts, outcome.seconds),
    '',
    '**The benchmark failed; nothing was measured.**',
    '',
    '```',
    outcome.error.slice(0, 4000),
    '```',
    '',
    `Reproduce: \`BENCH_ONLY=${outcome.entry.id} npm run bench\``,
    '',
  ].join('\n');
}

/**
 * Every figure with a target, from the sections as written (so that sections kept from an earlier run count
 * too): the table rows whose target column is not empty.
 */
function summary(sections: string[]): string {
  const rows: string[][] = [];
  for (const section of sections) {
    const title = /^## (.+)$/m.exec(section)?.[1] ?? '?';
    if (section.includes('**The benchmark failed; nothing was measured.**')) {
      rows.push([title, '–', '–', '–', 'failed to run']);
      continue;
    }
    // Only the figures table counts (its header is FIGURE_HEADERS); other tables are details.
    let inFigures = false;
    let previousLine = '';
    for (const line of section.split('\n')) {
      const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
      if (line.startsWith('|') && !previousLine.startsWith('|')) inFigures = cells.join('|') === FIGURE_HEADERS.join('|');
      previousLine = line;
      if (!inFigures || cells.length !== FIGURE_HEADERS.length || cells[0] === FIGURE_HEADERS[0] || cells[0] === '---') continue;
      const [name, value, , ratio, target, met] = cells as [string, string, string, string, string, string];
      if (target !== '–') rows.push([`${title}: ${name}`, value, ratio, target, met]);
    }
  }
  return rows.length === 0 ? '' : table(['benchmark: figure', 'value', 'ratio', 'target', 'met?'], rows);
}

function document(facts: Record<string, string>, sections: string[], outcomes: Map<string, Outcome>, previous: string): string {
  const settings = [...BENCHMARKS.flatMap((entry) => entry.settings), ...COMMON_SETTINGS];
  const summaryTable = summary(sections);
  const keptSomething = BENCHMARKS.some((entry) => !outcomes.has(entry.id) && previousSection(previous, entry.id));
  return [
    '# Damson benchmarks',
    '',
    '_Written by `npm run bench` (bench/run.ts) from the figures of its last run; do not edit by hand._',
    '',
    'Speed is measured, not asserted: every benchmark measures a baseline in the same run on the same machine and reports',
    'the ratio **value ÷ baseline**; a missed target is reported as missed. The machine below is shared and noisy, so',
    'small differences between runs mean little; the bigger runs (see the variables) are steadier.',
    '',
    '## Machine',
    '',
    table(['', ''], Object.entries(facts).map(([name, value]) => [name, value])),
    '',
    ...(keptSomething ? ['Sections of benchmarks not run this time are kept from an earlier run, with their own date.', ''] : []),
    ...(summaryTable ? ['## Targets', '', summaryTable, ''] : []),
    '## How to run',
    '',
    '```sh',
    'npm run bench                                  # every benchmark but search-1m (about 10 minutes), rewrites BENCHMARKS.md',
    'BENCH_ONLY=memory npm run bench                # some of them; the other sections are kept',
    'BENCH_ONLY=auth,cluster npm run bench          # throughput under load (autocannon); cluster needs PostgreSQL and redis-server',
    'BENCH_ONLY=search-1m npm run bench             # search on 1,000,000 assets (about 25 minutes)',
    'node --import tsx bench/ingest.ts              # one benchmark, printed only',
    'BENCH_INGEST_COUNT=96 BENCH_MEMORY_MB=4096 npm run bench    # bigger, steadier runs',
    '```',
    '',
    'Damson runs as a child process (`node --import tsx src/main.ts serve`) on 127.0.0.1 with a temporary data directory;',
    'everything is removed afterwards, also on failure or Ctrl-C.',
    '',
    table(
      ['variable', 'default', 'meaning'],
      settings.map((setting) => [`\`${setting.name}\``, setting.fallback, setting.meaning]),
    ),
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
