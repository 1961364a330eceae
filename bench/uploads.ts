/**
 * Uploads at once: Damson's resident memory while many clients upload large files at the same time. Each upload
 * streams to disk, so the server's RSS should grow by little more than a buffer per upload, whatever the sizes.
 *
 *   node --import tsx bench/uploads.ts            (BENCH_UPLOAD_CLIENTS=20 BENCH_UPLOAD_MB=200 by default)
 *
 * BENCH_UPLOAD_CLIENTS files of BENCH_UPLOAD_MB MiB of random bytes are written to disk; then all are sent at once
 * (POST /services/create, multipart, each file piped from a read stream into its own node:http connection, never
 * whole in memory), first to the floor server (bench/lib/floor-server.ts: the same parser, hash, write, fsync and
 * rename, no framework or database) for the throughput baseline, then to a Damson server process whose VmRSS is
 * read from /proc/<pid>/status every 50 ms, against its VmRSS after start and a warm-up upload. Afterwards a
 * search for the folder must find every asset with the SHA-256 and size of its file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, type BenchDatabase, benchDatabase, benchPassword, type RunningServer, startDamson, startListening } from './lib/damson.js';
import { writeRandomFile } from './lib/files.js';
import { BenchClient } from './lib/http.js';
import { MemorySampler, readMemory, settledMemory } from './lib/proc.js';
import { type BenchmarkReport, Deadline, envInteger, formatNumber, MiB, percentile, rssFigures, runIfMain } from './lib/report.js';

export interface UploadsOptions {
  /** Uploads sent at once, each on its own connection. Default BENCH_UPLOAD_CLIENTS or 20. */
  clients?: number;
  /** Size of each file in MiB. Default BENCH_UPLOAD_MB or 200. */
  megabytes?: number;
  /** How often VmRSS is read. Default 50 ms. */
  sampleIntervalMs?: number;
  /** PostgreSQL URL for Damson; default BENCH_DATABASE_URL, unset = SQLite. */
  databaseUrl?: string | undefined;
  /** Hard limit for the whole benchmark. Default BENCH_UPLOAD_TIMEOUT_S or 300 s + 0.25 s per MiB uploaded. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

/** One burst of uploads, all at once. */
export interface Burst {
  /** From the first request until the last answer. */
  seconds: number;
  /** All bytes of all files over that time. */
  mibPerSecond: number;
  /** Each upload's own time, in the order of the files. */
  uploadSeconds: number[];
  /** The server's VmRSS: settled before the burst, highest during it; its VmHWM after it. */
  baselineRss: number;
  peakRss: number;
  hwm: number;
}

export interface UploadsResult {
  clients: number;
  bytesEach: number;
  database: string;
  damson: Burst;
  floor: Burst;
  /** Damson's VmHWM before the burst (the peak of its start and warm-up). */
  baselineHwm: number;
  /** Assets the search found in the folder with the SHA-256 and size of their file (out of `clients`). */
  verified: number;
  /** What was wrong with the others. */
  problems: string[];
  /** How many of Damson's create answers carried the file's SHA-256. */
  answersWithHash: number;
  samples: number;
  sampleIntervalMs: number;
  maxSampleGapMs: number;
  /** This process's (the clients') RSS growth during Damson's burst. */
  clientGrowth: number;
  errorLogLines: number;
  target: { growthBytes: number };
  met: boolean;
  report: BenchmarkReport;
}

const TARGET_GROWTH_BYTES = 200 * MiB;
const FLOOR_SERVER = join(import.meta.dirname, 'lib', 'floor-server.ts');
const FOLDER = '/Bench/uploads';

export async function runUploadsBenchmark(options: UploadsOptions = {}): Promise<UploadsResult> {
  const started = performance.now();
  const clients = options.clients ?? envInteger('BENCH_UPLOAD_CLIENTS', 20, 1, 1000);
  const megabytes = options.megabytes ?? envInteger('BENCH_UPLOAD_MB', 200, 1, 1_048_576);
  const bytesEach = megabytes * MiB;
  const sampleIntervalMs = options.sampleIntervalMs ?? 50;
  const timeoutSeconds = options.timeoutSeconds ?? envInteger('BENCH_UPLOAD_TIMEOUT_S', Math.round(300 + (clients * megabytes) / 4));
  const log = options.log ?? ((line: string) => process.stderr.write(`[uploads] ${line}\n`));
  const deadline = new Deadline(timeoutSeconds, 'The uploads benchmark');

  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-uploads-')));
  let server: RunningServer | undefined;
  let database: BenchDatabase | undefined;
  try {
    // 1. The files, each streamed to disk and hashed on the way.
    log(`writing ${clients} files of ${megabytes} MiB …`);
    const files: Array<{ path: string; sha256: string }> = [];
    for (let index = 0; index < clients; index++) {
      const path = join(root, `upload-${String(index).padStart(3, '0')}.bin`);
      files.push({ path, sha256: await writeRandomFile(path, bytesEach) });
    }
    const warmUp = join(root, 'warm-up.bin');
    await writeRandomFile(warmUp, MiB);

    // 2. The floor: the same burst to a bare node:http server; its copies are removed before Damson's turn.
    const floorDir = join(root, 'floor');
    server = await startListening({ script: FLOOR_SERVER, args: [floorDir], label: 'the floor server' });
    const floor = await burst(server, 'none', (id) => `/files/${id}`, files, warmUp, bytesEach, sampleIntervalMs, deadline);
    floor.answers.forEach((answer, index) => {
      if (answer.id !== files[index]!.sha256) throw new Error(`the floor server stored different bytes for ${files[index]!.path}`);
    });
    await server.stop();
    await rm(floorDir, { recursive: true, force: true });
    log(`floor server: ${formatNumber(floor.mibPerSecond, 0)} MiB/s in all, peak VmRSS ${formatNumber(floor.peakRss / MiB)} MiB`);

    // 3. Damson, warmed up by one small upload and download, then the same burst.
    database = await benchDatabase(options.databaseUrl ?? process.env.BENCH_DATABASE_URL);
    const password = benchPassword();
    server = await startDamson({
      dataDir: join(root, 'data'),
      adminPassword: password,
      databaseUrl: database.url,
      env: { DAMSON_MAX_UPLOAD_MB: String(Math.max(10_240, megabytes + 16)) },
    });
    const token = await apiLogin(server.baseUrl, 'admin', password);
    log(`Damson on ${database.label} at ${server.baseUrl} (pid ${server.pid})`);
    const damson = await burst(server, token, (id) => `/file/${id}`, files, warmUp, bytesEach, sampleIntervalMs, deadline);
    log(`Damson: ${formatNumber(damson.mibPerSecond, 0)} MiB/s in all, peak VmRSS ${formatNumber(damson.peakRss / MiB)} MiB (baseline ${formatNumber(damson.baselineRss / MiB)} MiB)`);

    // 4. Every asset is there, with its file's SHA-256 and size.
    const check = await verify(server.baseUrl, token, files, bytesEach, deadline);
    const errorLogLines = server.lineCount('"level":50') + server.lineCount('"level":60');
    await server.stop();

    const growth = damson.peakRss - damson.baselineRss;
    const result: Omit<UploadsResult, 'report'> = {
      clients,
      bytesEach,
      database: database.label,
      damson,
      floor,
      baselineHwm: damson.baselineHwm,
      verified: check.verified,
      problems: check.problems,
      answersWithHash: damson.answers.filter((answer, index) => answer.metadata?.sha256 === files[index]!.sha256).length,
      samples: damson.samples,
      sampleIntervalMs,
      maxSampleGapMs: damson.maxSampleGapMs,
      clientGrowth: damson.clientGrowth,
      errorLogLines,
      target: { growthBytes: TARGET_GROWTH_BYTES },
      met: growth < TARGET_GROWTH_BYTES && check.verified === clients,
    };
    return { ...result, report: uploadsReport(result, megabytes, (performance.now() - started) / 1000) };
  } finally {
    await server?.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

/**
 * A warm-up upload and download, the server's settled memory, then every file uploaded at once, each by a client
 * of its own, while the server's VmRSS is sampled.
 */
async function burst(
  server: RunningServer,
  token: string,
  download: (id: string) => string,
  files: Array<{ path: string }>,
  warmUp: string,
  bytesEach: number,
  sampleIntervalMs: number,
  deadline: Deadline,
): Promise<Burst & { answers: Array<{ id: string; metadata?: Record<string, unknown> }>; baselineHwm: number; samples: number; maxSampleGapMs: number; clientGrowth: number }> {
  const clients = files.map(() => new BenchClient(server.baseUrl, token, () => deadline.remainingMs()));
  const sampler = new MemorySampler(server.pid, sampleIntervalMs);
  try {
    const warm = await clients[0]!.create(warmUp, { folderPath: '/Bench/warm-up' }, 'application/octet-stream');
    const { status } = await clients[0]!.stream(download(warm.id), () => undefined);
    if (status !== 200) throw new Error(`the warm-up download failed: HTTP ${status}`);
    const baseline = await settledMemory(server.pid);
    sampler.begin();
    const start = performance.now();
    const timed = await Promise.all(
      files.map(async (file, index) => {
        const begun = performance.now();
        const answer = await clients[index]!.create(file.path, { folderPath: FOLDER }, 'application/octet-stream');
        return { answer, seconds: (performance.now() - begun) / 1000 };
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const peaks = sampler.end();
    return {
      seconds,
      mibPerSecond: (files.length * bytesEach) / MiB / seconds,
      uploadSeconds: timed.map((one) => one.seconds),
      answers: timed.map((one) => one.answer),
      baselineRss: baseline.rss,
      baselineHwm: baseline.hwm,
      peakRss: peaks.server,
      hwm: readMemory(server.pid).hwm,
      samples: sampler.samples,
      maxSampleGapMs: sampler.maxGapMs,
      clientGrowth: peaks.client - peaks.clientStart,
    };
  } finally {
    sampler.stop();
    for (const client of clients) client.close();
  }
}

/** `GET /services/search` for the folder: every file's asset must be there with the file's SHA-256 and size. */
async function verify(baseUrl: string, token: string, files: Array<{ path: string; sha256: string }>, bytesEach: number, deadline: Deadline) {
  const client = new BenchClient(baseUrl, token, () => deadline.remainingMs());
  try {
    const query = new URLSearchParams({ q: `ancestorPaths:"${FOLDER}"`, num: String(files.length + 10), metadataToReturn: 'filename,sha256,fileSize' });
    const { status, body } = await client.get(`/services/search?${query}`);
    if (status !== 200) throw new Error(`the search failed: HTTP ${status} ${body.toString('utf8').slice(0, 500)}`);
    type Hit = { id: string; metadata: { filename?: string; sha256?: string; fileSize?: { value?: number } } };
    const answer = JSON.parse(body.toString('utf8')) as { totalHits: number; hits: Hit[] };
    const problems: string[] = [];
    if (answer.totalHits !== files.length) problems.push(`the search found ${answer.totalHits} assets in ${FOLDER}, not ${files.length}`);
    let verified = 0;
    for (const file of files) {
      const name = file.path.slice(file.path.lastIndexOf('/') + 1);
      const hits = answer.hits.filter((hit) => hit.metadata.filename === name);
      const right = hits.length === 1 && hits[0]!.metadata.sha256 === file.sha256 && hits[0]!.metadata.fileSize?.value === bytesEach;
      if (right) verified++;
      else problems.push(`${name}: ${hits.length} asset(s)${hits[0] ? `, SHA-256 ${hits[0].metadata.sha256?.slice(0, 16)}…, ${hits[0].metadata.fileSize?.value} bytes` : ''}`);
    }
    return { verified, problems };
  } finally {
    client.close();
  }
}

function uploadsReport(result: Omit<UploadsResult, 'report'>, megabytes: number, seconds: number): BenchmarkReport {
  const mib = (value: number) => value / MiB;
  const { damson, floor } = result;
  const allThere = result.verified === result.clients;
  const spread = (times: number[]) =>
    `${formatNumber(Math.min(...times), 1)} / ${formatNumber(percentile(times, 0.5), 1)} / ${formatNumber(Math.max(...times), 1)} s`;
  const totalMib = formatNumber((result.clients * result.bytesEach) / MiB, 0);
  return {
    id: 'uploads',
    title: `Uploads at once: ${result.clients} clients, ${formatNumber(megabytes, 0)} MiB each`,
    description:
      `${result.clients} files of ${formatNumber(megabytes, 0)} MiB (${totalMib} MiB in all) are uploaded to a Damson server process all at once ` +
      `(POST /services/create, multipart, each piped from a read stream into a node:http connection of its own). The server's VmRSS ` +
      `(/proc/<pid>/status) is read every ${formatNumber(result.sampleIntervalMs, 0)} ms during the burst; afterwards GET /services/search for the ` +
      `folder must find every asset with its file's SHA-256 and size. Database: ${result.database}.`,
    baseline:
      'RSS rows: the server\u2019s VmRSS (and VmHWM) after start and a warm-up upload and download of 1 MiB. Throughput: the same burst to the ' +
      'floor, a bare node:http server (bench/lib/floor-server.ts) that parses the multipart body with the same parser, hashes, writes, fsyncs ' +
      'and renames each file, driven by the same clients.',
    parameters: { BENCH_UPLOAD_CLIENTS: result.clients, BENCH_UPLOAD_MB: megabytes, database: result.database, 'sample interval': `${result.sampleIntervalMs} ms` },
    figures: [
      ...rssFigures('uploads', { baseline: damson.baselineRss, peak: damson.peakRss, hwmBefore: result.baselineHwm, hwmAfter: damson.hwm }, result.target.growthBytes),
      {
        name: 'Aggregate upload throughput',
        value: damson.mibPerSecond,
        unit: 'MiB/s',
        digits: 0,
        baseline: floor.mibPerSecond,
        ratio: damson.mibPerSecond / floor.mibPerSecond,
      },
      { name: `Wall time for ${totalMib} MiB`, value: damson.seconds, unit: 's', baseline: floor.seconds, ratio: damson.seconds / floor.seconds },
      {
        name: 'Assets found with their file\u2019s SHA-256 and size',
        value: result.verified,
        unit: '',
        digits: 0,
        display: `${result.verified} of ${result.clients}`,
        target: { text: 'all', met: allThere },
      },
    ],
    notes: [
      `Each upload's own time (min / median / max): Damson ${spread(damson.uploadSeconds)}, floor ${spread(floor.uploadSeconds)}.`,
      `The floor server's VmRSS went from ${formatNumber(mib(floor.baselineRss))} MiB to ${formatNumber(mib(floor.peakRss))} MiB during its burst ` +
        `(growth ${formatNumber(mib(floor.peakRss - floor.baselineRss))} MiB).`,
      `${result.samples} readings of Damson's VmRSS; the longest gap between two was ${formatNumber(result.maxSampleGapMs, 0)} ms (VmHWM covers the gaps). ` +
        `The benchmark process (all ${result.clients} clients) grew by ${formatNumber(mib(result.clientGrowth))} MiB RSS during Damson's burst.`,
      `${result.answersWithHash} of ${result.clients} create answers carried the file's SHA-256.`,
      ...result.problems.map((problem) => `Not as uploaded: ${problem}.`),
      ...(result.errorLogLines > 0 ? [`The server logged ${result.errorLogLines} error line(s).`] : []),
    ],
    command: `BENCH_UPLOAD_CLIENTS=${result.clients} BENCH_UPLOAD_MB=${megabytes} node --import tsx bench/uploads.ts`,
    seconds,
  };
}

await runIfMain(import.meta.url, 'uploads benchmark', async () => [(await runUploadsBenchmark()).report]);
