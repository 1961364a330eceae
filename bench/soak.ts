/**
 * Soak: a mixed workload (search, upload, update, download, thumbnails, browse, move, remove) from several
 * clients for a set time against one Damson process, counting errors and following the server's memory.
 *
 *   BENCH_SOAK_SECONDS=600 node --import tsx bench/soak.ts
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, benchPassword, type RunningDamson, startDamson } from './lib/damson.js';
import { memoryOf } from './lib/proc.js';
import { type BenchmarkReport, envInteger, formatNumber, MiB, percentile, runIfMain } from './lib/report.js';

export interface SoakOptions {
  seconds?: number;
  clients?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  seconds: number;
  clients: number;
  requests: number;
  byOperation: Record<string, number>;
  /** Answers other than the expected ones, and failed connections, with a few examples. */
  errors: number;
  errorExamples: string[];
  /** Lines the server logged at level error or fatal. */
  serverErrorLines: number;
  rssAfterWarmUp: number;
  rssAtEnd: number;
  rssPeak: number;
  growthPercent: number;
  report: BenchmarkReport;
}

const MEMORY_TARGET_PERCENT = 10;
type Operation = 'search' | 'upload' | 'update' | 'download' | 'thumbnail' | 'browse' | 'move' | 'remove';
/** How often each operation is picked, out of 100. */
const MIX: Array<[Operation, number]> = [
  ['search', 35],
  ['upload', 10],
  ['update', 15],
  ['download', 15],
  ['thumbnail', 10],
  ['browse', 5],
  ['move', 5],
  ['remove', 5],
];

export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const seconds = options.seconds ?? envInteger('BENCH_SOAK_SECONDS', 60, 5, 24 * 3600);
  const clients = options.clients ?? envInteger('BENCH_SOAK_CLIENTS', 4, 1, 64);
  const log = options.log ?? ((line: string) => process.stderr.write(`[soak] ${line}\n`));
  const started = performance.now();
  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-soak-')));
  let server: RunningDamson | undefined;
  try {
    const password = benchPassword();
    server = await startDamson({ dataDir: join(root, 'data'), adminPassword: password });
    const { baseUrl, pid } = server;
    const headers = { authorization: `Bearer ${await apiLogin(baseUrl, 'admin', password)}` };
    log(`Damson at ${baseUrl} (pid ${pid}); ${clients} clients for ${seconds} s`);

    const images = await Promise.all(
      ['#d62828', '#f77f00', '#003049', '#2a9d8f'].map((colour, index) =>
        sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${400 + index * 40}" height="300"><rect width="100%" height="100%" fill="${colour}"/><circle cx="150" cy="150" r="${40 + index * 10}" fill="#fff"/></svg>`))
          .png()
          .toBuffer(),
      ),
    );
    const byOperation: Record<string, number> = {};
    let requests = 0;
    let errors = 0;
    const errorExamples: string[] = [];
    const fail = (operation: Operation, what: string) => {
      errors += 1;
      if (errorExamples.length < 10) errorExamples.push(`${operation}: ${what}`);
    };
    const call = async (operation: Operation, path: string, init: RequestInit = {}, accept: number[] = [200]) => {
      requests += 1;
      byOperation[operation] = (byOperation[operation] ?? 0) + 1;
      try {
        const response = await fetch(`${baseUrl}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
        const body = Buffer.from(await response.arrayBuffer());
        if (!accept.includes(response.status)) fail(operation, `HTTP ${response.status} ${body.subarray(0, 200).toString()}`);
        return { status: response.status, body };
      } catch (error) {
        fail(operation, error instanceof Error ? error.message : String(error));
        return { status: 0, body: Buffer.alloc(0) };
      }
    };
    const post = (operation: Operation, service: string, fields: Record<string, string>) => call(operation, `/services/${service}`, { method: 'POST', body: new URLSearchParams(fields) });

    let rssPeak = 0;
    const readings: Array<{ at: number; rss: number }> = [];
    const sampler = setInterval(() => {
      const memory = memoryOf(pid);
      if (!memory) return;
      rssPeak = Math.max(rssPeak, memory.rss);
      readings.push({ at: performance.now(), rss: memory.rss });
    }, 1000);

    const deadline = performance.now() + seconds * 1000;
    const client = async (index: number) => {
      const mine: Array<{ id: string; path: string }> = [];
      for (let step = 0; performance.now() < deadline; step++) {
        let roll = Math.random() * 100;
        let operation: Operation = 'search';
        for (const [name, weight] of MIX) {
          if ((roll -= weight) < 0) {
            operation = name;
            break;
          }
        }
        if (mine.length < 3) operation = 'upload';
        const asset = mine[Math.floor(Math.random() * mine.length)];
        switch (operation) {
          case 'upload': {
            const form = new FormData();
            form.append('folderPath', `/Soak/c${index}/in`);
            form.append('tags', `soak,client${index}`);
            form.append('Filedata', new Blob([images[step % images.length]!]), `c${index}-${step}.png`);
            const { status, body } = await call('upload', '/services/create', { method: 'POST', body: form });
            if (status === 200) {
              const hit = JSON.parse(body.toString()) as { id: string; metadata: { assetPath: string } };
              mine.push({ id: hit.id, path: hit.metadata.assetPath });
            }
            break;
          }
          case 'search':
            await call('search', `/services/search?${new URLSearchParams({ q: step % 2 ? `tags:client${index}` : 'soak OR *:*', num: '20', facets: 'tags,assetDomain' })}`);
            break;
          case 'update':
            await post('update', 'update', { id: asset!.id, metadata: JSON.stringify({ description: `step ${step} of client ${index}`, rating: String(step % 6) }) });
            break;
          case 'download':
            await call('download', `/file/${asset!.id}`);
            break;
          case 'thumbnail':
            // 409 = not made yet: what a client sees right after an upload, not an error.
            await call('thumbnail', `/thumbnail/${asset!.id}`, {}, [200, 409]);
            break;
          case 'browse':
            await call('browse', `/services/browse?path=${encodeURIComponent(`/Soak/c${index}`)}`);
            break;
          case 'move': {
            const target = asset!.path.includes('/in/') ? asset!.path.replace('/in/', '/out/') : asset!.path.replace('/out/', '/in/');
            const { status } = await post('move', 'move', { source: asset!.path, target });
            if (status === 200) asset!.path = target;
            break;
          }
          case 'remove': {
            const { status } = await post('remove', 'remove', { ids: asset!.id });
            if (status === 200) mine.splice(mine.indexOf(asset!), 1);
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, index) => client(index)));
    await sleep(1000);
    clearInterval(sampler);

    // Memory after warm-up: the second tenth of the run; at the end: the last tenth. Medians, so one GC pause does not decide.
    const span = seconds * 1000;
    const first = readings[0]?.at ?? 0;
    const window = (from: number, to: number) => readings.filter((reading) => reading.at - first >= from * span && reading.at - first <= to * span).map((reading) => reading.rss);
    const rssAfterWarmUp = percentile(window(0.1, 0.2), 0.5);
    const rssAtEnd = percentile(window(0.9, 1.1), 0.5);
    const growthPercent = ((rssAtEnd - rssAfterWarmUp) / rssAfterWarmUp) * 100;
    const serverErrorLines = server.lineCount('"level":50') + server.lineCount('"level":60');
    log(`${requests} requests, ${errors} errors, RSS ${formatNumber(rssAfterWarmUp / MiB)} → ${formatNumber(rssAtEnd / MiB)} MiB (${formatNumber(growthPercent)}%)`);
    await server.stop();
    server = undefined;
    const result = { seconds, clients, requests, byOperation, errors, errorExamples, serverErrorLines, rssAfterWarmUp, rssAtEnd, rssPeak, growthPercent };
    return { ...result, report: soakReport(result, (performance.now() - started) / 1000) };
  } finally {
    await server?.stop();
    await removeDirectory(root);
  }
}

function soakReport(result: Omit<SoakResult, 'report'>, seconds: number): BenchmarkReport {
  const mib = (bytes: number) => bytes / MiB;
  return {
    id: 'soak',
    title: 'Soak: a mixed workload over time',
    description:
      `${result.clients} API clients for ${result.seconds} s, each repeatedly picking search (35%), upload (10%), metadata update (15%), ` +
      'download (15%), thumbnail (10%), browse, move and remove (5% each) on its own assets, against one Damson process on SQLite. ' +
      'The server\u2019s VmRSS is read every second.',
    baseline: 'Memory: the server\u2019s median VmRSS over the second tenth of the run (after warm-up), against the median over the last tenth.',
    parameters: { BENCH_SOAK_SECONDS: result.seconds, BENCH_SOAK_CLIENTS: result.clients },
    figures: [
      { name: 'Requests', value: result.requests, unit: '', digits: 0 },
      { name: 'Throughput', value: result.requests / result.seconds, unit: 'requests/s' },
      { name: 'Errors (unexpected answers and failed connections)', value: result.errors, unit: '', digits: 0, target: { text: '0', met: result.errors === 0 } },
      { name: 'Server error log lines', value: result.serverErrorLines, unit: '', digits: 0, target: { text: '0', met: result.serverErrorLines === 0 } },
      {
        name: 'Memory growth, end vs after warm-up',
        value: result.growthPercent,
        unit: '%',
        target: { text: `< ${MEMORY_TARGET_PERCENT}%`, met: result.growthPercent < MEMORY_TARGET_PERCENT },
      },
      { name: 'Peak VmRSS', value: mib(result.rssPeak), unit: 'MiB' },
    ],
    notes: [
      `Requests by operation: ${Object.entries(result.byOperation).map(([name, count]) => `${name} ${count}`).join(', ')}.`,
      `VmRSS ${formatNumber(mib(result.rssAfterWarmUp))} MiB after warm-up, ${formatNumber(mib(result.rssAtEnd))} MiB at the end (growth is measured from the former).`,
      ...(result.errorExamples.length > 0 ? [`First errors: ${result.errorExamples.join(' | ')}`] : []),
    ],
    command: `BENCH_SOAK_SECONDS=${result.seconds} BENCH_SOAK_CLIENTS=${result.clients} node --import tsx bench/soak.ts`,
    seconds,
  };
}

await runIfMain(import.meta.url, 'soak', async () => [(await runSoak()).report]);
