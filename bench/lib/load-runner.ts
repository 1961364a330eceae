/**
 * The load generator, run as a child process of its own (`node --import tsx bench/lib/load-runner.ts '<json>'`)
 * so that it never shares an event loop with what it measures: autocannon against one URL.
 *
 * It prints "ready" once loaded, waits for a "go" line on stdin (so that several runners start their load at the
 * same moment), runs a warm-up, then the measured run, and prints one JSON line (LoadResult) and exits.
 *
 * autocannon's own latency histogram keeps whole milliseconds, too coarse for a loopback request that takes a
 * fraction of one; so the latency of every 2xx answer is taken from its `response` event, in 10 µs steps (see
 * latencyKey). CPU time of this process, of the servers named in `watchPids` and of the whole machine is read at the
 * start and end of the measured run.
 */
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type { EventEmitter } from 'node:events';
import { machineCpuSeconds, processCpuSeconds } from './proc.js';
import { isMainModule } from './report.js';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Server processes whose CPU time is read over the measured run. */
  watchPids: number[];
}

export interface LoadResult {
  url: string;
  /** Wall time of the measured run. */
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Status codes other than 2xx with their counts. */
  otherStatuses: Record<string, number>;
  /** Latency of the 2xx answers: [latencyKey, count] pairs. */
  latency: Array<[number, number]>;
  /** CPU seconds over the measured run: this process, each watched pid (same order), the machine. */
  cpu: { self: number; watched: number[]; machineBusy: number; machineTotal: number };
  /** How long after "go" the measured run started (the warm-up). */
  startedAfterMs: number;
}

/** Latency in ms → a whole number: 10 µs steps below 100 ms, whole ms above (100 ms = key 10,000). */
export function latencyKey(ms: number): number {
  return ms < 100 ? Math.round(ms * 100) : Math.round(ms) * 100;
}

export function keyToMs(key: number): number {
  return key / 100;
}

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (options: Record<string, unknown>) => EventEmitter & PromiseLike<AutocannonResult>;

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const options = { url: spec.url, headers: spec.headers, connections: spec.connections, pipelining: 1, timeout: 10 };

  process.stdout.write('ready\n');
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() !== 'go') return;
      resolve();
      lines.close();
    });
    lines.on('close', () => reject(new Error('stdin closed before "go"')));
  });
  const go = performance.now();

  if (spec.warmupSeconds > 0) await autocannon({ ...options, duration: spec.warmupSeconds });

  const latency = new Map<number, number>();
  const cpuOf = () => ({ self: process.cpuUsage(), watched: spec.watchPids.map((pid) => processCpuSeconds(pid) ?? Number.NaN), machine: machineCpuSeconds() });
  const before = cpuOf();
  const start = performance.now();
  const run = autocannon({ ...options, duration: spec.seconds });
  run.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode < 200 || statusCode >= 300) return;
    const key = latencyKey(responseTime);
    latency.set(key, (latency.get(key) ?? 0) + 1);
  });
  const result = await run;
  const seconds = (performance.now() - start) / 1000;
  const after = cpuOf();

  const otherStatuses: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) if (!status.startsWith('2')) otherStatuses[status] = count;
  const answer: LoadResult = {
    url: spec.url,
    seconds,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    otherStatuses,
    latency: [...latency.entries()].sort((a, b) => a[0] - b[0]),
    cpu: {
      self: (after.self.user + after.self.system - before.self.user - before.self.system) / 1e6,
      watched: after.watched.map((value, index) => value - before.watched[index]!),
      machineBusy: after.machine.busy - before.machine.busy,
      machineTotal: after.machine.total - before.machine.total,
    },
    startedAfterMs: start - go,
  };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

if (isMainModule(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`load runner failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
