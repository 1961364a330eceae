/**
 * Ingest: how fast Damson turns uploaded 12-megapixel photos into assets with a preview and a thumbnail,
 * compared with sharp alone making the same two renditions of the same files with the same concurrency.
 *
 *   node --import tsx bench/ingest.ts            (BENCH_INGEST_COUNT=96 for a bigger run)
 *
 * Three kinds of Damson run, each on a real server process on loopback:
 *   1. the measured one (BENCH_INGEST_ROUNDS times, between sharp-alone runs; medians are reported): uploads
 *      (4 at a time) and renders (the worker) overlap, as in production;
 *   2. upload stage alone: the same uploads with the worker off (DAMSON_WORKER_CONCURRENCY=0);
 *   3. render stage alone: the server restarted on run 2's data with the worker on, rendering the queued jobs.
 * Runs 2 and 3 only say where the time of run 1 goes; run 2 is compared with the upload floor, a bare node:http
 * server that parses the same multipart body, hashes, writes and fsyncs the file (bench/lib/floor-server.ts).
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderImageRenditions } from '../src/media/images.js';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, type BenchDatabase, benchDatabase, benchPassword, type RunningDamson, startDamson, startListening } from './lib/damson.js';
import { BenchClient } from './lib/http.js';
import { makePhoto, type Photo } from './lib/photos.js';
import { ownCpuSeconds, treeCpuSeconds } from './lib/proc.js';
import {
  type BenchmarkReport,
  beforeDeadline,
  Deadline,
  envInteger,
  formatNumber,
  MiB,
  percentile,
  pool,
  runIfMain,
} from './lib/report.js';

export interface IngestOptions {
  /** Photos uploaded (and rendered by the baseline). Default BENCH_INGEST_COUNT or 24. */
  count?: number;
  width?: number;
  height?: number;
  /** JPEG quality of the generated photos. */
  quality?: number;
  /** Renders at once: Damson's DAMSON_WORKER_CONCURRENCY and the baseline's pool size. Default 2 (Damson's default). */
  renderConcurrency?: number;
  /** Uploads in flight at once. Default 4. */
  uploadConcurrency?: number;
  /** PostgreSQL URL for Damson; default BENCH_DATABASE_URL, unset = SQLite. */
  databaseUrl?: string | undefined;
  /**
   * Measured Damson runs, interleaved with sharp-alone runs (sharp, Damson, sharp, …, sharp); the figures are
   * medians, which a noisy neighbour disturbs less than a single run. Default BENCH_INGEST_ROUNDS or 3.
   */
  rounds?: number;
  /** Also measure the upload and render stages separately (two more server runs). Default true. */
  stages?: boolean;
  /** Hard limit for the whole benchmark. Default BENCH_INGEST_TIMEOUT_S or 300 s + 10 s per photo. */
  timeoutSeconds?: number;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

export interface DamsonRound {
  seconds: number;
  assetsPerSecond: number;
  uploadsSeconds: number;
  uploadMiBPerSecond: number;
  renderTailSeconds: number;
  uploadMs: number[];
  serverCpuSeconds: number;
  clientCpuSeconds: number;
}

export interface StageFigures {
  seconds: number;
  imagesPerSecond: number;
  /** CPU of the server process and its children (exiftool) per image. */
  serverCpuSecondsPerImage: number;
}

export interface IngestResult {
  count: number;
  width: number;
  height: number;
  totalBytes: number;
  database: string;
  renderConcurrency: number;
  uploadConcurrency: number;
  generateSeconds: number;
  rounds: number;
  sharp: {
    /** Median of the sharp-alone runs (one more than the Damson rounds, around them). */
    filesPerSecond: number;
    runs: Array<{ seconds: number; filesPerSecond: number; cpuSeconds: number }>;
    cpuSecondsPerFile: number;
    renderMsP50: number;
    renderMsP95: number;
  };
  damson: {
    /** Median over the rounds of the time from the first upload until every thumbnail answered 200. */
    seconds: number;
    /** Median over the rounds. */
    assetsPerSecond: number;
    rounds: DamsonRound[];
    /** Median of the time from the first upload until the last upload was acknowledged. */
    uploadsSeconds: number;
    uploadMiBPerSecond: number;
    /** Over every upload of every round. */
    uploadMsP50: number;
    uploadMsP95: number;
    /** Median of the time from the last acknowledged upload until the last thumbnail was ready. */
    renderTailSeconds: number;
    /** CPU used by the server and its child processes (exiftool) during the measured runs, per asset. */
    serverCpuSecondsPerAsset: number;
    /** CPU used by this process (the HTTP client) during the measured runs, per asset. */
    clientCpuSecondsPerAsset: number;
    failedJobLogLines: number;
    /** Lines the server logged at level error or fatal. */
    errorLogLines: number;
  };
  /** Where the time goes (runs 2 and 3, and the upload floor); absent with `stages: false`. */
  stages?: { upload: StageFigures; uploadFloor: StageFigures; render: StageFigures };
  /** Damson assets/s ÷ sharp-alone files/s. */
  ratio: number;
  target: number;
  met: boolean;
  report: BenchmarkReport;
}

const TARGET_RATIO = 0.8;
const POLL_INTERVAL_MS = 50;
const REQUEST_TIMEOUT_MS = 120_000;
const FLOOR_SERVER = join(import.meta.dirname, 'lib', 'floor-server.ts');

export async function runIngestBenchmark(options: IngestOptions = {}): Promise<IngestResult> {
  const started = performance.now();
  const count = options.count ?? envInteger('BENCH_INGEST_COUNT', 24, 1, 100_000);
  const width = options.width ?? 4000;
  const height = options.height ?? 3000;
  const quality = options.quality ?? 90;
  const renderConcurrency = options.renderConcurrency ?? 2;
  const uploadConcurrency = options.uploadConcurrency ?? 4;
  const rounds = options.rounds ?? envInteger('BENCH_INGEST_ROUNDS', 3, 1, 1000);
  const timeoutSeconds = options.timeoutSeconds ?? envInteger('BENCH_INGEST_TIMEOUT_S', 300 + 10 * count * rounds);
  const log = options.log ?? ((line: string) => process.stderr.write(`[ingest] ${line}\n`));
  const deadline = new Deadline(timeoutSeconds, 'The ingest benchmark');
  const databaseUrl = options.databaseUrl ?? process.env.BENCH_DATABASE_URL;

  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-ingest-')));
  const servers: RunningDamson[] = [];
  const databases: BenchDatabase[] = [];
  const clients: BenchClient[] = [];
  /** A Damson process on a data directory (and database) of its own, with a logged-in client. */
  const damsonOn = async (dataDir: string, database: BenchDatabase, password: string, workers: number) => {
    const server = await startDamson({
      dataDir,
      adminPassword: password,
      databaseUrl: database.url,
      env: { DAMSON_WORKER_CONCURRENCY: String(workers) },
    });
    servers.push(server);
    const client = new BenchClient(server.baseUrl, await apiLogin(server.baseUrl, 'admin', password), () => Math.min(REQUEST_TIMEOUT_MS, deadline.remainingMs()));
    clients.push(client);
    return { server, client };
  };
  const newDatabase = async () => {
    const database = await benchDatabase(databaseUrl);
    databases.push(database);
    return database;
  };

  try {
    const photoDir = join(root, 'photos');
    const renderDir = join(root, 'sharp-out');
    await Promise.all([mkdir(photoDir), mkdir(renderDir)]);

    // 1. Photos: the counted ones plus one for warming up each side (first sharp call, first request paths).
    log(`generating ${count} + 1 photos of ${width}×${height} …`);
    const generateStart = performance.now();
    const all = await beforeDeadline(
      deadline,
      pool(Array.from({ length: count + 1 }, (_, index) => index), 2, (index) => makePhoto(photoDir, index, { width, height, quality })),
    );
    const generateSeconds = (performance.now() - generateStart) / 1000;
    const [warmUp, ...photos] = all as [Photo, ...Photo[]];
    const totalBytes = photos.reduce((sum, photo) => sum + photo.bytes, 0);
    log(`generated in ${formatNumber(generateSeconds)} s, ${formatNumber(totalBytes / count / MiB, 2)} MiB per photo on average`);

    // 2. The measured runs, interleaved: sharp alone (Damson's own rendering function, same concurrency as its
    //    worker), then Damson (a real server; uploads and renders overlap until every thumbnail is served), then
    //    sharp again, and so on, so that every Damson round has sharp runs right before and after it.
    await renderImageRenditions(warmUp.path, renderDir);
    const database = await newDatabase();
    const password = benchPassword();
    const main = await damsonOn(join(root, 'data'), database, password, renderConcurrency);
    log(`Damson on ${database.label} at ${main.server.baseUrl} (pid ${main.server.pid})`);
    const warmId = (await main.client.create(warmUp.path, { folderPath: '/Bench/warm-up' }, 'image/jpeg')).id;
    await waitForThumbnail(main.client, warmId, deadline);

    const sharpRuns: SharpRun[] = [];
    const damsonRounds: DamsonRound[] = [];
    const runSharp = async () => {
      const run = await beforeDeadline(deadline, sharpAlone(photos, renderDir, renderConcurrency));
      log(`sharp alone: ${formatNumber(run.filesPerSecond, 2)} files/s`);
      sharpRuns.push(run);
    };
    await runSharp();
    for (let round = 1; round <= rounds; round++) {
      const measured = await beforeDeadline(deadline, ingestThroughDamson(main.client, main.server.pid, photos, `/Bench/ingest-${round}`, uploadConcurrency, deadline));
      log(`Damson round ${round}: ${formatNumber(measured.assetsPerSecond, 2)} assets/s`);
      damsonRounds.push(measured);
      await runSharp();
    }
    const failedJobLogLines = countFailedJobs(main.server);
    const errorLogLines = countErrors(main.server);
    await main.server.stop();

    // 5. Where the time goes: each stage alone, on a fresh data directory (and schema).
    let stages: IngestResult['stages'];
    if (options.stages ?? true) {
      stages = await beforeDeadline(deadline, measureStages(join(root, 'stages'), await newDatabase(), password, warmUp, photos, uploadConcurrency, renderConcurrency, damsonOn, deadline));
      log(`stages: upload alone ${formatNumber(stages.upload.imagesPerSecond, 2)} images/s, render alone ${formatNumber(stages.render.imagesPerSecond, 2)} images/s`);
    }

    const median = (values: number[]) => percentile(values, 0.5);
    const sharpRate = median(sharpRuns.map((run) => run.filesPerSecond));
    const renderMs = sharpRuns.flatMap((run) => run.renderMs);
    const damsonRate = median(damsonRounds.map((round) => round.assetsPerSecond));
    const measuredAssets = rounds * count;
    const ratio = damsonRate / sharpRate;
    const result: Omit<IngestResult, 'report'> = {
      count,
      width,
      height,
      totalBytes,
      database: database.label,
      renderConcurrency,
      uploadConcurrency,
      generateSeconds,
      rounds,
      sharp: {
        filesPerSecond: sharpRate,
        runs: sharpRuns.map(({ seconds, filesPerSecond, cpuSeconds }) => ({ seconds, filesPerSecond, cpuSeconds })),
        cpuSecondsPerFile: sharpRuns.reduce((sum, run) => sum + run.cpuSeconds, 0) / (sharpRuns.length * count),
        renderMsP50: percentile(renderMs, 0.5),
        renderMsP95: percentile(renderMs, 0.95),
      },
      damson: {
        seconds: median(damsonRounds.map((round) => round.seconds)),
        assetsPerSecond: damsonRate,
        rounds: damsonRounds,
        uploadsSeconds: median(damsonRounds.map((round) => round.uploadsSeconds)),
        uploadMiBPerSecond: median(damsonRounds.map((round) => round.uploadMiBPerSecond)),
        uploadMsP50: percentile(damsonRounds.flatMap((round) => round.uploadMs), 0.5),
        uploadMsP95: percentile(damsonRounds.flatMap((round) => round.uploadMs), 0.95),
        renderTailSeconds: median(damsonRounds.map((round) => round.renderTailSeconds)),
        serverCpuSecondsPerAsset: damsonRounds.reduce((sum, round) => sum + round.serverCpuSeconds, 0) / measuredAssets,
        clientCpuSecondsPerAsset: damsonRounds.reduce((sum, round) => sum + round.clientCpuSeconds, 0) / measuredAssets,
        failedJobLogLines,
        errorLogLines,
      },
      ...(stages ? { stages } : {}),
      ratio,
      target: TARGET_RATIO,
      met: ratio >= TARGET_RATIO,
    };
    return { ...result, report: ingestReport(result, (performance.now() - started) / 1000) };
  } finally {
    for (const client of clients) client.close();
    for (const server of servers) await server.stop();
    for (const database of databases) await database.drop().catch((error: unknown) => log(`could not drop a benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

interface SharpRun {
  seconds: number;
  filesPerSecond: number;
  cpuSeconds: number;
  renderMs: number[];
}

async function sharpAlone(photos: readonly Photo[], workDir: string, concurrency: number): Promise<SharpRun> {
  const cpuStart = ownCpuSeconds();
  const start = performance.now();
  const renderMs = await pool(photos, concurrency, async (photo) => {
    const begin = performance.now();
    await renderImageRenditions(photo.path, workDir);
    return performance.now() - begin;
  });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, filesPerSecond: photos.length / seconds, cpuSeconds: ownCpuSeconds() - cpuStart, renderMs };
}

function countFailedJobs(server: RunningDamson): number {
  return server.lineCount('"job failed"');
}

function countErrors(server: RunningDamson): number {
  return server.lineCount('"level":50') + server.lineCount('"level":60');
}

/** Uploads every photo (`concurrency` at a time) while a poller waits, asset after asset, for each thumbnail. */
async function ingestThroughDamson(
  client: BenchClient,
  serverPid: number,
  photos: readonly Photo[],
  folderPath: string,
  concurrency: number,
  deadline: Deadline,
): Promise<DamsonRound> {
  const totalBytes = photos.reduce((sum, photo) => sum + photo.bytes, 0);
  const acknowledged: Array<{ id: string; at: number }> = [];
  const uploadMs: number[] = [];
  let stopped = false;

  const serverCpuStart = treeCpuSeconds(serverPid);
  const clientCpuStart = ownCpuSeconds();
  const start = performance.now();

  const uploads = pool(photos, concurrency, async (photo) => {
    const begin = performance.now();
    const { id } = await client.create(photo.path, { folderPath }, 'image/jpeg');
    const at = performance.now();
    uploadMs.push(at - begin);
    acknowledged.push({ id, at });
  });
  // Jobs run in the order they were queued, which is the order uploads were acknowledged; waiting for them in
  // that order costs one request per 50 ms however many assets there are, so polling does not steal the CPU
  // being measured.
  const ready = (async () => {
    let last = start;
    for (let index = 0; index < photos.length; index++) {
      while (acknowledged.length <= index) {
        if (stopped) throw new Error('uploads stopped');
        deadline.check();
        await sleep(5);
      }
      last = await waitForThumbnail(client, acknowledged[index]!.id, deadline, () => stopped);
    }
    return last;
  })();
  let done: number;
  try {
    [, done] = await Promise.all([uploads, ready]);
  } finally {
    stopped = true;
  }
  const serverCpuSeconds = treeCpuSeconds(serverPid) - serverCpuStart;
  const clientCpuSeconds = ownCpuSeconds() - clientCpuStart;

  const lastAck = Math.max(...acknowledged.map((entry) => entry.at));
  const seconds = (done - start) / 1000;
  const uploadsSeconds = (lastAck - start) / 1000;
  return {
    seconds,
    assetsPerSecond: photos.length / seconds,
    uploadsSeconds,
    uploadMiBPerSecond: totalBytes / MiB / uploadsSeconds,
    renderTailSeconds: Math.max(0, (done - lastAck) / 1000),
    uploadMs,
    serverCpuSeconds,
    clientCpuSeconds,
  };
}

/**
 * Upload stage: a server with the worker off takes the warm-up photo, then every photo (timed). Render stage:
 * the server restarted on the same data with the worker on renders the count + 1 queued jobs, timed from its
 * "listening" line (the worker starts a moment before it, so this slightly flatters the render stage).
 */
async function measureStages(
  dataDir: string,
  database: BenchDatabase,
  password: string,
  warmUp: Photo,
  photos: readonly Photo[],
  uploadConcurrency: number,
  renderConcurrency: number,
  damsonOn: (dataDir: string, database: BenchDatabase, password: string, workers: number) => Promise<{ server: RunningDamson; client: BenchClient }>,
  deadline: Deadline,
): Promise<{ upload: StageFigures; uploadFloor: StageFigures; render: StageFigures }> {
  const uploader = await damsonOn(dataDir, database, password, 0);
  const ids = [(await uploader.client.create(warmUp.path, { folderPath: '/Bench/warm-up' }, 'image/jpeg')).id];
  const uploadCpuStart = treeCpuSeconds(uploader.server.pid);
  const uploadStart = performance.now();
  ids.push(...(await pool(photos, uploadConcurrency, async (photo) => (await uploader.client.create(photo.path, { folderPath: '/Bench/ingest' }, 'image/jpeg')).id)));
  const uploadSeconds = (performance.now() - uploadStart) / 1000;
  const uploadCpu = treeCpuSeconds(uploader.server.pid) - uploadCpuStart;
  await uploader.server.stop();

  const floor = await startListening({ script: FLOOR_SERVER, args: [`${dataDir}-upload-floor`], label: 'the floor server' });
  const floorClient = new BenchClient(floor.baseUrl, 'none', () => Math.min(REQUEST_TIMEOUT_MS, deadline.remainingMs()));
  let floorFigures: StageFigures;
  try {
    await floorClient.create(warmUp.path, { folderPath: '/Bench/warm-up' }, 'image/jpeg');
    const floorCpuStart = treeCpuSeconds(floor.pid);
    const floorStart = performance.now();
    await pool(photos, uploadConcurrency, (photo) => floorClient.create(photo.path, { folderPath: '/Bench/ingest' }, 'image/jpeg'));
    const floorSeconds = (performance.now() - floorStart) / 1000;
    floorFigures = { seconds: floorSeconds, imagesPerSecond: photos.length / floorSeconds, serverCpuSecondsPerImage: (treeCpuSeconds(floor.pid) - floorCpuStart) / photos.length };
  } finally {
    floorClient.close();
    await floor.stop();
  }

  const renderer = await damsonOn(dataDir, database, password, renderConcurrency);
  const renderCpuStart = treeCpuSeconds(renderer.server.pid);
  const renderStart = performance.now();
  let done = renderStart;
  for (const id of ids) done = await waitForThumbnail(renderer.client, id, deadline);
  const renderSeconds = (done - renderStart) / 1000;
  const renderCpu = treeCpuSeconds(renderer.server.pid) - renderCpuStart;
  await renderer.server.stop();
  return {
    upload: { seconds: uploadSeconds, imagesPerSecond: photos.length / uploadSeconds, serverCpuSecondsPerImage: uploadCpu / photos.length },
    uploadFloor: floorFigures,
    render: { seconds: renderSeconds, imagesPerSecond: ids.length / renderSeconds, serverCpuSecondsPerImage: renderCpu / ids.length },
  };
}

/** Polls `GET /thumbnail/{id}` until it serves a JPEG (409 means still pending); returns when that happened. */
async function waitForThumbnail(client: BenchClient, id: string, deadline: Deadline, stopped: () => boolean = () => false): Promise<number> {
  for (;;) {
    deadline.check();
    if (stopped()) throw new Error('stopped');
    const response = await client.get(`/thumbnail/${id}`);
    if (response.status === 200) {
      const at = performance.now();
      const type = String(response.headers['content-type'] ?? '');
      if (!type.startsWith('image/jpeg') || response.body.length === 0) throw new Error(`thumbnail of ${id} is not a JPEG: ${type}, ${response.body.length} bytes`);
      return at;
    }
    if (response.status !== 409) throw new Error(`thumbnail of ${id}: HTTP ${response.status} ${response.body.toString('utf8').slice(0, 500)}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

function ingestReport(result: Omit<IngestResult, 'report'>, seconds: number): BenchmarkReport {
  const { damson, sharp, stages } = result;
  const sharpSeconds = result.count / sharp.filesPerSecond;
  const notes = [
    `Photos: ${result.count} distinct ${result.width}×${result.height} JPEGs (quality 90, texture and grain), ` +
      `${formatNumber(result.totalBytes / result.count / MiB, 2)} MiB each on average, generated in ${formatNumber(result.generateSeconds)} s.`,
    `${result.rounds} measured round(s), each between two sharp-alone runs; value and baseline are medians. ` +
      `sharp alone: ${sharp.runs.map((run) => formatNumber(run.filesPerSecond, 2)).join(', ')} files/s; ` +
      `Damson: ${damson.rounds.map((round) => formatNumber(round.assetsPerSecond, 2)).join(', ')} images/s. ` +
      `One sharp render takes ${formatNumber(sharp.renderMsP50, 0)} ms (p50), ${formatNumber(sharp.renderMsP95, 0)} ms (p95).`,
    `Damson, median round: all ${result.count} uploads acknowledged after ${formatNumber(damson.uploadsSeconds, 2)} s ` +
      `(${formatNumber(damson.uploadMiBPerSecond)} MiB/s while rendering); the last thumbnail was ready ${formatNumber(damson.renderTailSeconds, 2)} s later; ` +
      `total ${formatNumber(damson.seconds, 2)} s.`,
    `CPU budget: ${cpus().length} cores. Per image, the server used ${formatNumber(damson.serverCpuSecondsPerAsset * 1000, 0)} ms of CPU ` +
      `and the benchmark's HTTP client ${formatNumber(damson.clientCpuSecondsPerAsset * 1000, 0)} ms, against ${formatNumber(sharp.cpuSecondsPerFile * 1000, 0)} ms for sharp alone.`,
  ];
  if (stages) {
    notes.push(
      `Stages measured apart: uploads alone (worker off) ${formatNumber(stages.upload.imagesPerSecond, 2)} images/s at ` +
        `${formatNumber(stages.upload.serverCpuSecondsPerImage * 1000, 0)} ms CPU per upload; rendering the queued jobs alone ` +
        `${formatNumber(stages.render.imagesPerSecond, 2)} images/s at ${formatNumber(stages.render.serverCpuSecondsPerImage * 1000, 0)} ms CPU per image.`,
      `† Baseline of the upload rows: the upload floor, a bare node:http server with the same multipart parser (@fastify/busboy) ` +
        `that hashes, writes, fsyncs and renames each file (bench/lib/floor-server.ts): ` +
        `${formatNumber(stages.uploadFloor.imagesPerSecond, 2)} uploads/s at ${formatNumber(stages.uploadFloor.serverCpuSecondsPerImage * 1000, 0)} ms CPU each.`,
    );
  }
  if (damson.failedJobLogLines > 0 || damson.errorLogLines > 0) {
    notes.push(`The server logged ${damson.failedJobLogLines} failed render job(s) and ${damson.errorLogLines} error line(s) during the measured runs.`);
  }
  return {
    id: 'ingest',
    title: 'Ingest: upload plus renditions of 12-megapixel JPEGs',
    description:
      `Uploads ${result.count} photos to a Damson server process over loopback HTTP (${result.uploadConcurrency} at a time, API token) and ` +
      `measures from the first upload until every asset's thumbnail is served (GET /thumbnail/{id} answers 200), in ${result.rounds} round(s) ` +
      `(each uploads the same photos into a new folder: new assets, new renditions). ` +
      `Damson makes a 1600×1600 preview and a 256×256 thumbnail per photo with ${result.renderConcurrency} worker(s); database: ${result.database}. ` +
      `Upload-alone and render-alone runs on fresh servers show where the time goes.`,
    baseline:
      `sharp alone: renderImageRenditions (src/media/images.ts, the code Damson's worker runs) on the same files, ` +
      `${result.renderConcurrency} at a time, in the benchmark process; no HTTP, no database, no hashing or storage.`,
    parameters: {
      BENCH_INGEST_COUNT: result.count,
      BENCH_INGEST_ROUNDS: result.rounds,
      size: `${result.width}×${result.height}`,
      'render concurrency': result.renderConcurrency,
      'upload concurrency': result.uploadConcurrency,
      database: result.database,
    },
    figures: [
      {
        name: 'Throughput, upload plus renditions',
        value: damson.assetsPerSecond,
        unit: 'images/s',
        digits: 2,
        baseline: sharp.filesPerSecond,
        ratio: result.ratio,
        target: { text: `≥ ×${formatNumber(result.target, 2)}`, met: result.met },
      },
      { name: `Wall time for ${result.count} images`, value: damson.seconds, unit: 's', digits: 2, baseline: sharpSeconds, ratio: damson.seconds / sharpSeconds },
      {
        name: 'Server CPU per image (incl. exiftool)',
        value: damson.serverCpuSecondsPerAsset * 1000,
        unit: 'ms',
        digits: 0,
        baseline: sharp.cpuSecondsPerFile * 1000,
        ratio: damson.serverCpuSecondsPerAsset / sharp.cpuSecondsPerFile,
      },
      ...(stages
        ? [
            {
              name: 'Upload stage alone (worker off) †',
              value: stages.upload.imagesPerSecond,
              unit: 'images/s',
              digits: 2,
              baseline: stages.uploadFloor.imagesPerSecond,
              ratio: stages.upload.imagesPerSecond / stages.uploadFloor.imagesPerSecond,
            },
            {
              name: 'Server CPU per upload †',
              value: stages.upload.serverCpuSecondsPerImage * 1000,
              unit: 'ms',
              digits: 0,
              baseline: stages.uploadFloor.serverCpuSecondsPerImage * 1000,
              ratio: stages.upload.serverCpuSecondsPerImage / stages.uploadFloor.serverCpuSecondsPerImage,
            },
            {
              name: 'Render stage alone (queued jobs)',
              value: stages.render.imagesPerSecond,
              unit: 'images/s',
              digits: 2,
              baseline: sharp.filesPerSecond,
              ratio: stages.render.imagesPerSecond / sharp.filesPerSecond,
            },
          ]
        : []),
      { name: 'Upload latency p50', value: damson.uploadMsP50, unit: 'ms', digits: 0 },
      { name: 'Upload latency p95', value: damson.uploadMsP95, unit: 'ms', digits: 0 },
      { name: 'Last thumbnail after last upload', value: damson.renderTailSeconds, unit: 's', digits: 2 },
    ],
    notes,
    command: `BENCH_INGEST_COUNT=${result.count} BENCH_INGEST_ROUNDS=${result.rounds} node --import tsx bench/ingest.ts`,
    seconds,
  };
}

await runIfMain(import.meta.url, 'ingest benchmark', async () => [(await runIngestBenchmark()).report]);
