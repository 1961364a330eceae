/**
 * Throughput: requests per second and latency of small authenticated requests under load, from a load generator
 * in a process of its own (autocannon, bench/lib/load-runner.ts), so that it never shares an event loop with what
 * it measures.
 *
 *   node --import tsx bench/throughput.ts auth        (or `cluster`, or neither for both)
 *
 * - auth: one Damson process (SQLite unless BENCH_DATABASE_URL) against a bare Fastify server in a process of its
 *   own (bench/lib/bare-server.ts) answering the same JSON with no authentication: `GET /services/ping` and a small
 *   search (`q=*:*&num=1&metadataToReturn=name` over a handful of assets), with a Bearer API token and with a
 *   cookie session. What Damson costs beyond the bare server is authentication (a token and a user looked up on
 *   every request), its hooks and its handlers.
 * - cluster: the same two requests with a Bearer token against one Damson API node (DAMSON_ROLE=api) and against
 *   two, sharing one PostgreSQL schema and a private redis-server; for two nodes one load generator per node runs
 *   at the same time and their rates are added.
 *
 * Each case runs BENCH_THROUGHPUT_ROUNDS times, in alternating order (forwards, then backwards …) so that a drift
 * of the shared machine's load hits baseline and Damson alike; rates are the mean over rounds, latencies are
 * percentiles over every answer of every round.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, type BenchDatabase, benchDatabase, benchPassword, type RunningServer, startDamson, startListening } from './lib/damson.js';
import { BenchClient } from './lib/http.js';
import { latencyPercentile, type LoadResult, type LoadSpec, mergeLatency, runLoad } from './lib/load.js';
import { startRedis, type RunningRedis } from './lib/redis-server.js';
import { type BenchmarkReport, Deadline, envInteger, type Figure, formatNumber, type ReportTable, runIfMain } from './lib/report.js';

export interface ThroughputSettings {
  /** Measured seconds per run of a case. BENCH_THROUGHPUT_SECONDS, default 5. */
  seconds: number;
  /** Unmeasured load before each measured run. BENCH_THROUGHPUT_WARMUP_S, default 1. */
  warmupSeconds: number;
  /** Connections per load generator. BENCH_THROUGHPUT_CONNECTIONS, default 10. */
  connections: number;
  /** Runs of every case, in alternating order. BENCH_THROUGHPUT_ROUNDS, default 2. */
  rounds: number;
  /** Hard limit of one benchmark. BENCH_THROUGHPUT_TIMEOUT_S, default 120 s + 10 s per run beyond its own length. */
  timeoutSeconds: number;
  log: (line: string) => void;
}

/** Assets created for the search: `num=1` answers one of them, so their number barely matters. */
const SEARCH_ASSETS = 5;
const PING_PATH = '/services/ping';
const SEARCH_PATH = '/services/search?q=*:*&num=1&metadataToReturn=name';
/**
 * Damson's default, and the lowest at which it says "Server listening" (what startDamson waits for); the bare
 * server logs at the same level.
 */
const LOG_LEVEL = 'info';
const DEFAULT_CLUSTER_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const BARE_SERVER = join(import.meta.dirname, 'lib', 'bare-server.ts');
const TARGET_PING_RATIO = 0.6;

export function throughputSettings(cases: number, overrides: Partial<ThroughputSettings> = {}): ThroughputSettings {
  const seconds = overrides.seconds ?? envInteger('BENCH_THROUGHPUT_SECONDS', 5, 1, 3600);
  const warmupSeconds = overrides.warmupSeconds ?? envInteger('BENCH_THROUGHPUT_WARMUP_S', 1, 0, 600);
  const connections = overrides.connections ?? envInteger('BENCH_THROUGHPUT_CONNECTIONS', 10, 1, 1000);
  const rounds = overrides.rounds ?? envInteger('BENCH_THROUGHPUT_ROUNDS', 2, 1, 100);
  const timeoutSeconds =
    overrides.timeoutSeconds ?? envInteger('BENCH_THROUGHPUT_TIMEOUT_S', 120 + rounds * cases * (seconds + warmupSeconds + 10), 1, 86_400);
  return { seconds, warmupSeconds, connections, rounds, timeoutSeconds, log: overrides.log ?? ((line) => process.stderr.write(`[throughput] ${line}\n`)) };
}

/** One thing measured: one or more load generators running at the same time (their rates are added). */
interface Case {
  id: string;
  label: string;
  specs: () => LoadSpec[];
  /** Names of the pids the first load generator watches, in order (the CPU columns). */
  servers: string[];
}

interface CaseRun {
  round: number;
  results: LoadResult[];
  /** Share of one core this (the benchmark) process used during the run, warm-up included: it drains the servers' logs. */
  parentCpuShare: number;
}

interface Measured {
  label: string;
  /** Mean over rounds of the summed rate of the case's load generators, 2xx answers per second. */
  rate: number;
  p50: number;
  p99: number;
  failed: number;
  requests: number;
  /** CPU time of the server process(es) under load per 2xx answer, µs (first load generator's watched pids, minus Redis). */
  cpuPerRequest: number;
  runs: CaseRun[];
}

/** Runs every case `rounds` times, forwards in even rounds and backwards in odd ones. */
async function measureCases(cases: Case[], settings: ThroughputSettings, deadline: Deadline): Promise<Map<string, Measured>> {
  const runs = new Map<string, CaseRun[]>(cases.map((entry) => [entry.id, []]));
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse();
    for (const entry of order) {
      deadline.check();
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      const results = await runLoad(entry.specs(), deadline);
      const cpu = process.cpuUsage(cpuBefore);
      runs.get(entry.id)!.push({ round, results, parentCpuShare: (cpu.user + cpu.system) / 1e3 / (performance.now() - wallBefore) });
      const rate = results.reduce((sum, result) => sum + result.ok / result.seconds, 0);
      const latency = mergeLatency(results);
      const failed = results.reduce((sum, result) => sum + failures(result), 0);
      settings.log(
        `round ${round + 1}/${settings.rounds} ${entry.label}: ${formatNumber(rate, 0)} req/s, p50 ${formatMs(latencyPercentile(latency, 0.5))}, ` +
          `p99 ${formatMs(latencyPercentile(latency, 0.99))}${failed > 0 ? `, ${failed} failed` : ''}`,
      );
    }
  }
  const measured = new Map<string, Measured>();
  for (const entry of cases) {
    const caseRuns = runs.get(entry.id)!;
    const all = caseRuns.flatMap((run) => run.results);
    const latency = mergeLatency(all);
    measured.set(entry.id, {
      label: entry.label,
      rate: caseRuns.reduce((sum, run) => sum + run.results.reduce((total, result) => total + result.ok / result.seconds, 0), 0) / caseRuns.length,
      p50: latencyPercentile(latency, 0.5),
      p99: latencyPercentile(latency, 0.99),
      failed: all.reduce((sum, result) => sum + failures(result), 0),
      requests: all.reduce((sum, result) => sum + result.ok + failures(result), 0),
      cpuPerRequest:
        (caseRuns.reduce((sum, run) => sum + serverCpu(entry, run), 0) / caseRuns.reduce((sum, run) => sum + run.results.reduce((total, result) => total + result.ok, 0), 0)) * 1e6,
      runs: caseRuns,
    });
  }
  return measured;
}

/** CPU seconds of the Damson or bare server process(es) during a run (the watched pids named as servers, not Redis). */
function serverCpu(entry: Case, run: CaseRun): number {
  const watched = run.results[0]!.cpu.watched;
  return entry.servers.reduce((sum, name, index) => sum + (name === 'Redis' ? 0 : (watched[index] ?? Number.NaN)), 0);
}

function failures(result: LoadResult): number {
  return result.non2xx + result.errors + result.timeouts;
}

function formatMs(ms: number): string {
  return `${formatNumber(ms, ms < 10 ? 2 : 1)} ms`;
}

/** One row per run of a case: what each load generator and server did. */
function runsTable(cases: Case[], measured: Map<string, Measured>): ReportTable {
  const rows: Array<{ round: number; order: number; cells: string[] }> = [];
  cases.forEach((entry, order) => {
    for (const run of measured.get(entry.id)!.runs) {
      const first = run.results[0]!;
      const seconds = first.seconds;
      const rate = run.results.reduce((sum, result) => sum + result.ok / result.seconds, 0);
      const latency = mergeLatency(run.results);
      const percent = (cpuSeconds: number) => `${formatNumber((cpuSeconds / seconds) * 100, 0)} %`;
      const servers = entry.servers.map((name, index) => `${name} ${percent(first.cpu.watched[index] ?? Number.NaN)}`).join(', ');
      const generators = run.results.map((result) => percent(result.cpu.self)).join(' + ');
      const failed = run.results.reduce((sum, result) => sum + failures(result), 0);
      const statuses = run.results.flatMap((result) => Object.entries(result.otherStatuses).map(([status, count]) => `${count}×${status}`));
      rows.push({
        round: run.round,
        order,
        cells: [
          String(run.round + 1),
          entry.label,
          formatNumber(rate, 0),
          formatMs(latencyPercentile(latency, 0.5)),
          formatMs(latencyPercentile(latency, 0.99)),
          servers,
          formatNumber((serverCpu(entry, run) / run.results.reduce((sum, result) => sum + result.ok, 0)) * 1e6, 0),
          generators,
          `${formatNumber(run.parentCpuShare * 100, 0)} %`,
          `${formatNumber((first.cpu.machineBusy / first.cpu.machineTotal) * 100, 0)} %`,
          failed === 0 ? '0' : `**${failed}**${statuses.length > 0 ? ` (${statuses.join(', ')})` : ''}`,
        ],
      });
    }
  });
  rows.sort((a, b) => a.round - b.round || a.order - b.order);
  return {
    title: 'Every run (CPU as % of one core over the measured seconds; machine: busy share of all cores)',
    headers: ['round', 'case', 'req/s', 'p50', 'p99', 'server CPU', 'server CPU µs per request', 'load generator CPU', 'benchmark process CPU', 'machine busy', 'failed'],
    rows: rows.map((row) => row.cells),
  };
}

function rateFigure(name: string, value: Measured, baseline: Measured, target?: number): Figure {
  const ratio = value.rate / baseline.rate;
  return {
    name,
    value: value.rate,
    unit: 'req/s',
    digits: 0,
    baseline: baseline.rate,
    ratio,
    ...(target !== undefined ? { target: { text: `≥ ×${formatNumber(target, 2)}`, met: ratio >= target } } : {}),
  };
}

function cpuFigure(name: string, value: Measured, baseline: Measured): Figure {
  return { name: `${name}: server CPU per request`, value: value.cpuPerRequest, unit: 'µs', digits: 0, baseline: baseline.cpuPerRequest, ratio: value.cpuPerRequest / baseline.cpuPerRequest };
}

function latencyFigures(name: string, value: Measured, baseline: Measured): Figure[] {
  const digits = (ms: number) => (ms < 10 ? 2 : 1);
  return [
    { name: `${name}: p50 latency`, value: value.p50, unit: 'ms', digits: digits(Math.min(value.p50, baseline.p50)), baseline: baseline.p50, ratio: value.p50 / baseline.p50 },
    { name: `${name}: p99 latency`, value: value.p99, unit: 'ms', digits: digits(Math.min(value.p99, baseline.p99)), baseline: baseline.p99, ratio: value.p99 / baseline.p99 },
  ];
}

function failureFigure(measured: Map<string, Measured>): Figure {
  const failed = [...measured.values()].reduce((sum, entry) => sum + entry.failed, 0);
  const requests = [...measured.values()].reduce((sum, entry) => sum + entry.requests, 0);
  return {
    name: 'Failed requests (non-2xx, errors, timeouts)',
    value: failed,
    unit: '',
    digits: 0,
    display: `${formatNumber(failed, 0)} of ${formatNumber(requests, 0)}`,
    target: { text: '0', met: failed === 0 },
  };
}

function serverLogNote(servers: Array<{ name: string; server: RunningServer }>): string[] {
  const notes: string[] = [];
  for (const { name, server } of servers) {
    const errors = server.lineCount('"level":50') + server.lineCount('"level":60');
    if (errors > 0) notes.push(`${name} logged ${errors} error line(s) during the run.`);
  }
  return notes;
}

function autocannonVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('autocannon/package.json') as { version: string }).version;
}

function settingsParameters(settings: ThroughputSettings): Record<string, string | number> {
  return {
    BENCH_THROUGHPUT_SECONDS: settings.seconds,
    BENCH_THROUGHPUT_WARMUP_S: settings.warmupSeconds,
    BENCH_THROUGHPUT_CONNECTIONS: settings.connections,
    BENCH_THROUGHPUT_ROUNDS: settings.rounds,
    'log level': LOG_LEVEL,
    'load generator': `autocannon ${autocannonVersion()}, one process per target, pipelining 1`,
  };
}

function settingsCommand(settings: ThroughputSettings, which: string): string {
  return (
    `BENCH_THROUGHPUT_SECONDS=${settings.seconds} BENCH_THROUGHPUT_WARMUP_S=${settings.warmupSeconds} ` +
    `BENCH_THROUGHPUT_CONNECTIONS=${settings.connections} BENCH_THROUGHPUT_ROUNDS=${settings.rounds} ` +
    `node --import tsx bench/throughput.ts ${which}`
  );
}

/** A cookie session from `POST /services/login`: the Cookie header value. */
async function cookieLogin(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/services/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { loginSuccess?: boolean };
  const cookie = response.headers
    .getSetCookie()
    .find((entry) => entry.startsWith('authToken='))
    ?.split(';')[0];
  if (response.status !== 200 || !body.loginSuccess || !cookie) throw new Error(`login failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  return cookie;
}

/** GET `path` once and insist on 200; returns the parsed JSON answer. */
async function checkedGet(baseUrl: string, path: string, headers: Record<string, string>, what: string): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${what}: GET ${path} answered HTTP ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as unknown;
}

/** Uploads SEARCH_ASSETS small text files and waits until the search finds them all; returns the search's answer. */
async function createSearchAssets(baseUrl: string, token: string, dir: string, deadline: Deadline): Promise<unknown> {
  const client = new BenchClient(baseUrl, token, () => deadline.remainingMs());
  try {
    for (let index = 0; index < SEARCH_ASSETS; index++) {
      const path = join(dir, `note-${index + 1}.txt`);
      await writeFile(path, `Throughput benchmark note ${index + 1}: ${'lorem ipsum dolor sit amet '.repeat(4)}\n`);
      await client.create(path, { folderPath: '/Bench/throughput' }, 'text/plain');
    }
  } finally {
    client.close();
  }
  const giveUp = performance.now() + Math.min(30_000, deadline.remainingMs());
  for (;;) {
    const answer = (await checkedGet(baseUrl, SEARCH_PATH, { authorization: `Bearer ${token}` }, 'the search')) as { totalHits?: number; hits?: unknown[] };
    if (answer.totalHits === SEARCH_ASSETS && answer.hits?.length === 1) return answer;
    if (performance.now() > giveUp) throw new Error(`the search found ${answer.totalHits} asset(s), not the ${SEARCH_ASSETS} uploaded: ${JSON.stringify(answer).slice(0, 500)}`);
    await sleep(200);
  }
}

export const AUTH_CASES = 6;
export const CLUSTER_CASES = 4;

/** Auth overhead: Damson (Bearer and cookie) against the bare Fastify server, on ping and a small search. */
export async function runAuthBenchmark(overrides: Partial<ThroughputSettings> & { databaseUrl?: string | undefined } = {}): Promise<BenchmarkReport> {
  const started = performance.now();
  const settings = throughputSettings(AUTH_CASES, overrides);
  const deadline = new Deadline(settings.timeoutSeconds, 'The auth throughput benchmark');
  const { log } = settings;
  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-auth-')));
  let damson: RunningServer | undefined;
  let bare: RunningServer | undefined;
  let database: BenchDatabase | undefined;
  try {
    database = await benchDatabase(overrides.databaseUrl ?? process.env.BENCH_DATABASE_URL);
    const password = benchPassword();
    damson = await startDamson({ dataDir: join(root, 'data'), adminPassword: password, databaseUrl: database.url, env: { DAMSON_LOG_LEVEL: LOG_LEVEL } });
    const token = await apiLogin(damson.baseUrl, 'admin', password);
    const cookie = await cookieLogin(damson.baseUrl, 'admin', password);
    const searchAnswer = await createSearchAssets(damson.baseUrl, token, root, deadline);
    const pingAnswer = await checkedGet(damson.baseUrl, PING_PATH, { authorization: `Bearer ${token}` }, 'Damson ping with a token');
    await checkedGet(damson.baseUrl, PING_PATH, { cookie }, 'Damson ping with a cookie session');
    const cookieSearch = await checkedGet(damson.baseUrl, SEARCH_PATH, { cookie }, 'Damson search with a cookie session');
    if (JSON.stringify(cookieSearch) !== JSON.stringify(searchAnswer)) throw new Error('the search answers differently with a cookie session and with a token');

    // The bare server answers exactly what Damson answered, from a file.
    const answersFile = join(root, 'answers.json');
    await writeFile(answersFile, JSON.stringify({ [PING_PATH]: pingAnswer, '/services/search': searchAnswer }));
    bare = await startListening({ script: BARE_SERVER, args: [answersFile, LOG_LEVEL], label: 'the bare Fastify server', watch: ['"level":50', '"level":60'] });
    for (const path of [PING_PATH, SEARCH_PATH]) {
      const answer = await checkedGet(bare.baseUrl, path, {}, 'the bare server');
      if (JSON.stringify(answer) !== JSON.stringify(path === PING_PATH ? pingAnswer : searchAnswer)) throw new Error(`the bare server answers ${path} differently from Damson`);
    }
    log(`Damson (${database.label}) at ${damson.baseUrl}, bare Fastify at ${bare.baseUrl}; ${settings.rounds} round(s) of 6 cases, ${settings.seconds} s each`);

    const spec = (server: RunningServer, path: string, headers: Record<string, string>): LoadSpec => ({
      url: `${server.baseUrl}${path}`,
      headers,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      watchPids: [server.pid],
    });
    const d = damson;
    const b = bare;
    const bearer = { authorization: `Bearer ${token}` };
    const cases: Case[] = [
      { id: 'bare-ping', label: 'ping, bare Fastify', specs: () => [spec(b, PING_PATH, {})], servers: ['bare'] },
      { id: 'bearer-ping', label: 'ping, Damson, Bearer token', specs: () => [spec(d, PING_PATH, bearer)], servers: ['Damson'] },
      { id: 'cookie-ping', label: 'ping, Damson, cookie session', specs: () => [spec(d, PING_PATH, { cookie })], servers: ['Damson'] },
      { id: 'bare-search', label: 'search, bare Fastify', specs: () => [spec(b, SEARCH_PATH, {})], servers: ['bare'] },
      { id: 'bearer-search', label: 'search, Damson, Bearer token', specs: () => [spec(d, SEARCH_PATH, bearer)], servers: ['Damson'] },
      { id: 'cookie-search', label: 'search, Damson, cookie session', specs: () => [spec(d, SEARCH_PATH, { cookie })], servers: ['Damson'] },
    ];
    const measured = await measureCases(cases, settings, deadline);
    const get = (id: string) => measured.get(id)!;

    const figures: Figure[] = [
      rateFigure('Ping, Bearer token: throughput', get('bearer-ping'), get('bare-ping'), TARGET_PING_RATIO),
      ...latencyFigures('Ping, Bearer token', get('bearer-ping'), get('bare-ping')),
      cpuFigure('Ping, Bearer token', get('bearer-ping'), get('bare-ping')),
      rateFigure('Ping, cookie session: throughput', get('cookie-ping'), get('bare-ping'), TARGET_PING_RATIO),
      ...latencyFigures('Ping, cookie session', get('cookie-ping'), get('bare-ping')),
      cpuFigure('Ping, cookie session', get('cookie-ping'), get('bare-ping')),
      rateFigure('Search, Bearer token: throughput', get('bearer-search'), get('bare-search')),
      ...latencyFigures('Search, Bearer token', get('bearer-search'), get('bare-search')),
      cpuFigure('Search, Bearer token', get('bearer-search'), get('bare-search')),
      rateFigure('Search, cookie session: throughput', get('cookie-search'), get('bare-search')),
      ...latencyFigures('Search, cookie session', get('cookie-search'), get('bare-search')),
      cpuFigure('Search, cookie session', get('cookie-search'), get('bare-search')),
      failureFigure(measured),
    ];
    const notes = [
      `The search is \`GET ${SEARCH_PATH}\` over ${SEARCH_ASSETS} small text assets created first; the bare server answers the very JSON Damson answered ` +
        `(ping: \`${JSON.stringify(pingAnswer)}\`; search: ${formatNumber(JSON.stringify(searchAnswer).length, 0)} bytes), so the search rows show what searching costs ` +
        'on top of authentication, and the ping rows what authentication, Damson\u2019s hooks and routing cost.',
      `Both servers log at \`${LOG_LEVEL}\` (Damson\u2019s default): two JSON lines per request each, on stdout, read by this process.`,
      'Server CPU per request depends less than the rates on how much CPU the rest of the machine left to each server: bare \u00f7 Damson of it ' +
        `(ping: ×${formatNumber(get('bare-ping').cpuPerRequest / get('bearer-ping').cpuPerRequest, 2)} with a token, ` +
        `×${formatNumber(get('bare-ping').cpuPerRequest / get('cookie-ping').cpuPerRequest, 2)} with a cookie) is about the throughput ratio two servers ` +
        'with a core each would show.',
      ...caveats(),
      ...serverLogNote([
        { name: 'Damson', server: damson },
        { name: 'The bare server', server: bare },
      ]),
    ];
    return {
      id: 'auth',
      title: 'Throughput: authentication overhead against bare Fastify',
      description:
        `Requests per second and latency of \`GET ${PING_PATH}\` and of a small search on one Damson process (database: ${database.label}), ` +
        `authenticated with a Bearer API token (from /services/apilogin) and with a cookie session (from /services/login; a GET needs no CSRF token), ` +
        `under ${settings.connections} keep-alive connections from autocannon in a process of its own; ${settings.rounds} round(s) of ${settings.seconds} s ` +
        `per case after ${settings.warmupSeconds} s of warm-up, cases in alternating order. Rates are means over the rounds; latencies are percentiles over every answer.`,
      baseline:
        'a bare Fastify server (bench/lib/bare-server.ts) in a process of its own, answering the same JSON on the same paths with no authentication, ' +
        'no hooks and no database, driven by the same load generator in the same run.',
      parameters: { ...settingsParameters(settings), database: database.label, 'search assets': SEARCH_ASSETS },
      figures,
      tables: [runsTable(cases, measured)],
      notes,
      command: settingsCommand(settings, 'auth'),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await damson?.stop();
    await bare?.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

/** Scale-out: one Damson API node against two, on PostgreSQL and a private Redis. */
export async function runClusterBenchmark(overrides: Partial<ThroughputSettings> & { databaseUrl?: string | undefined } = {}): Promise<BenchmarkReport> {
  const started = performance.now();
  const settings = throughputSettings(CLUSTER_CASES, overrides);
  const deadline = new Deadline(settings.timeoutSeconds, 'The cluster throughput benchmark');
  const { log } = settings;
  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-cluster-')));
  const nodes: RunningServer[] = [];
  let redis: RunningRedis | undefined;
  let database: BenchDatabase | undefined;
  try {
    const databaseUrl = overrides.databaseUrl ?? process.env.BENCH_CLUSTER_DATABASE_URL ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_CLUSTER_DATABASE_URL;
    try {
      database = await benchDatabase(databaseUrl);
    } catch (error) {
      throw new Error(`the cluster benchmark needs PostgreSQL (BENCH_CLUSTER_DATABASE_URL): ${(error as Error).message}`);
    }
    redis = await startRedis(root);
    const password = benchPassword();
    const env = {
      DAMSON_ROLE: 'api',
      DAMSON_REDIS_URL: redis.url,
      DAMSON_REDIS_PREFIX: `damson-bench-${process.pid}:`,
      DAMSON_LOG_LEVEL: LOG_LEVEL,
    };
    // One after the other: the first migrates the schema and creates the admin user.
    for (const name of ['a', 'b']) {
      nodes.push(await startDamson({ dataDir: join(root, `node-${name}`), adminPassword: password, databaseUrl: database.url, env }));
    }
    const [nodeA, nodeB] = nodes as [RunningServer, RunningServer];
    const token = await apiLogin(nodeA.baseUrl, 'admin', password);
    const searchAnswer = await createSearchAssets(nodeA.baseUrl, token, root, deadline);
    const bearer = { authorization: `Bearer ${token}` };
    // The token from node A works on node B (Redis), and both see the same assets (PostgreSQL).
    await checkedGet(nodeB.baseUrl, PING_PATH, bearer, 'node B ping with node A\u2019s token');
    const searchB = (await checkedGet(nodeB.baseUrl, SEARCH_PATH, bearer, 'node B search')) as { totalHits?: number };
    if (searchB.totalHits !== (searchAnswer as { totalHits?: number }).totalHits) throw new Error(`node B finds ${searchB.totalHits} assets, node A ${(searchAnswer as { totalHits?: number }).totalHits}`);
    log(`two API nodes (${nodeA.baseUrl}, ${nodeB.baseUrl}) on ${database.label} and redis-server ${redis.url}; ${settings.rounds} round(s) of 4 cases, ${settings.seconds} s each`);

    const watched = [nodeA.pid, nodeB.pid, redis.pid];
    const spec = (node: RunningServer, path: string, watch: number[]): LoadSpec => ({
      url: `${node.baseUrl}${path}`,
      headers: bearer,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      watchPids: watch,
    });
    const servers = ['node A', 'node B', 'Redis'];
    const cases: Case[] = [
      { id: 'one-ping', label: 'ping, one node', specs: () => [spec(nodeA, PING_PATH, watched)], servers },
      { id: 'two-ping', label: 'ping, two nodes', specs: () => [spec(nodeA, PING_PATH, watched), spec(nodeB, PING_PATH, [])], servers },
      { id: 'one-search', label: 'search, one node', specs: () => [spec(nodeA, SEARCH_PATH, watched)], servers },
      { id: 'two-search', label: 'search, two nodes', specs: () => [spec(nodeA, SEARCH_PATH, watched), spec(nodeB, SEARCH_PATH, [])], servers },
    ];
    const measured = await measureCases(cases, settings, deadline);
    const get = (id: string) => measured.get(id)!;
    const figures: Figure[] = [
      rateFigure('Ping, two nodes: throughput', get('two-ping'), get('one-ping')),
      ...latencyFigures('Ping, two nodes', get('two-ping'), get('one-ping')),
      cpuFigure('Ping, two nodes', get('two-ping'), get('one-ping')),
      rateFigure('Search, two nodes: throughput', get('two-search'), get('one-search')),
      ...latencyFigures('Search, two nodes', get('two-search'), get('one-search')),
      cpuFigure('Search, two nodes', get('two-search'), get('one-search')),
      failureFigure(measured),
    ];
    const busyShare = (cases: string[]) =>
      cases.flatMap((id) => get(id).runs.map((run) => run.results[0]!.cpu)).map((cpu) => (cpu.machineBusy / cpu.machineTotal) * 100);
    const range = (values: number[]) => {
      const [low, high] = [formatNumber(Math.min(...values), 0), formatNumber(Math.max(...values), 0)];
      return low === high ? `${low} %` : `${low}–${high} %`;
    };
    const perRequest = (kind: string) => formatNumber(get(`two-${kind}`).cpuPerRequest / get(`one-${kind}`).cpuPerRequest, 2);
    const notes = [
      `This machine has ${cpuCount()} cores, shared by the load generators, the Damson nodes, PostgreSQL, Redis and whatever else runs on it; it was ` +
        `${range(busyShare(['one-ping', 'one-search']))} busy with one node under load and ${range(busyShare(['two-ping', 'two-search']))} with two. ` +
        'A second node gets its CPU from the first, the load generators, PostgreSQL and the other work on the machine, so the ratio is not how far Damson ' +
        'scales with a core per node, and no target is set for it. What it does show: whether a second node fails requests or adds work per request ' +
        `(server CPU per request, two nodes \u00f7 one: ×${perRequest('ping')} for ping, ×${perRequest('search')} for search).`,
      `Both nodes run with DAMSON_ROLE=api on one schema, made for the run and dropped afterwards, of ${database.label}, and on a private ` +
        `redis-server (DAMSON_REDIS_PREFIX=${env.DAMSON_REDIS_PREFIX}); the API token comes from node A\u2019s /services/apilogin and is used on both. ` +
        `Every request reads the token from Redis and the user from PostgreSQL; the search also queries PostgreSQL (${SEARCH_ASSETS} small text assets). ` +
        'Files stay on each node\u2019s disk (no S3): neither request reads one.',
      `For two nodes, one load generator per node (${settings.connections} connections each) runs at the same time and their rates are added; ` +
        'latencies are over the answers of both. The CPU columns are read by the first load generator; PostgreSQL\u2019s is not shown (it serves other users of the machine too).',
      ...caveats(),
      ...serverLogNote(nodes.map((node, index) => ({ name: `Node ${index === 0 ? 'A' : 'B'}`, server: node }))),
    ];
    return {
      id: 'cluster',
      title: 'Throughput: one Damson API node against two (PostgreSQL + Redis)',
      description:
        `Requests per second and latency of \`GET ${PING_PATH}\` and of a small search (\`${SEARCH_PATH.replace('/services/search', '')}\`) with a Bearer API token, ` +
        `against one Damson API node and against two behind no load balancer (one load generator per node), on PostgreSQL and Redis; autocannon with ` +
        `${settings.connections} keep-alive connections per node, in processes of their own; ${settings.rounds} round(s) of ${settings.seconds} s per case ` +
        `after ${settings.warmupSeconds} s of warm-up, cases in alternating order.`,
      baseline: 'the same request against one API node (node A alone under load, node B idle), in the same run.',
      parameters: { ...settingsParameters(settings), database: database.label, redis: 'private redis-server, nothing on disk', 'search assets': SEARCH_ASSETS },
      figures,
      tables: [runsTable(cases, measured)],
      notes,
      command: settingsCommand(settings, 'cluster'),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const node of nodes) await node.stop();
    await redis?.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

function cpuCount(): number {
  return cpus().length;
}

function caveats(): string[] {
  return [
    `Load generator, servers and this process share ${cpuCount()} cores with other work on the machine: the \u201cmachine busy\u201d column shows how much was left idle, ` +
      'and a load generator near 100 % of a core means its rate, not the server\u2019s, was the limit.',
  ];
}

await runIfMain(import.meta.url, 'throughput benchmark', async () => {
  const which = process.argv[2] ?? 'both';
  if (!['auth', 'cluster', 'both'].includes(which)) throw new Error('usage: node --import tsx bench/throughput.ts [auth|cluster]');
  return [...(which === 'cluster' ? [] : [await runAuthBenchmark()]), ...(which === 'auth' ? [] : [await runClusterBenchmark()])];
});
