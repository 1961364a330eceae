/**
 * Memory: Damson's resident memory while it receives and then serves one large file. Uploads and downloads
 * must stream, so the server's RSS should barely move whatever the file size.
 *
 *   node --import tsx bench/memory.ts            (BENCH_MEMORY_MB=4096 for a 4 GiB file)
 *
 * The server's VmRSS is read from /proc/<pid>/status after start and a warm-up upload and download (the
 * baseline), then every 50 ms while the file is uploaded twice and downloaded twice; VmHWM is read at the end.
 * One upload pipes a read stream into a node:http request, the other is fs.openAsBlob + FormData + fetch: on
 * Node 20 fetch reads the whole Blob into this process's memory as it sends (the client figures in the notes
 * show it), so the streaming client is there too; the server sees the same multipart body either way. The file is
 * downloaded the same two ways, hashed as it arrives. The node:http transfers are compared with the floor, a bare
 * node:http file server doing the same work (bench/lib/floor-server.ts), driven by the same client.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, type BenchDatabase, benchDatabase, benchPassword, type RunningDamson, type RunningServer, startDamson, startListening } from './lib/damson.js';
import { BenchClient } from './lib/http.js';
import { memoryOf } from './lib/proc.js';
import { type BenchmarkReport, Deadline, envInteger, formatNumber, isMainModule, MiB, percentile, printReport } from './lib/report.js';

export interface MemoryOptions {
  /** File size in MiB. Default BENCH_MEMORY_MB or 1024. */
  megabytes?: number;
  /** How often VmRSS is read. Default 50 ms. */
  sampleIntervalMs?: number;
  /** PostgreSQL URL for Damson; default BENCH_DATABASE_URL, unset = SQLite. */
  databaseUrl?: string | undefined;
  /** Hard limit for the whole benchmark. Default BENCH_MEMORY_TIMEOUT_S or 300 s + 0.5 s per MiB. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

export interface Transfer {
  seconds: number;
  mibPerSecond: number;
}

/** The parts of the run, each with its own peaks. */
export type Phase = 'uploadHttp' | 'uploadFetch' | 'downloadHttp' | 'downloadFetch';

export interface MemoryResult {
  bytes: number;
  sha256: string;
  database: string;
  /** Server VmRSS after start and warm-up (median of a few readings), bytes. */
  baselineRss: number;
  /** VmHWM at that moment: the peak of the start itself. */
  baselineHwm: number;
  /** Highest VmRSS seen during any transfer. */
  peakRss: number;
  /** Highest server VmRSS per phase. */
  peaks: Record<Phase, number>;
  /** peakRss − baselineRss. */
  growth: number;
  /** VmHWM read after the download: the kernel's own record of the peak, between samples included. */
  hwm: number;
  finalRss: number;
  samples: number;
  sampleIntervalMs: number;
  /** Longest gap between two readings (the sampler shares this process's event loop with the transfers). */
  maxSampleGapMs: number;
  uploadFetch: Transfer;
  uploadHttp: Transfer;
  downloadHttp: Transfer;
  downloadFetch: Transfer;
  disk: { write: Transfer; read: Transfer };
  /** Lines the server logged at level error or fatal. */
  errorLogLines: number;
  /** The same file through the floor server with the node:http client. */
  floor: { upload: Transfer; download: Transfer };
  /** Both downloads' SHA-256 equal the file's, and the server reported the same SHA-256 for both uploads. */
  downloadHashMatches: boolean;
  serverHashMatches: boolean;
  /** This process's own RSS at the start of each phase and its peak during it (a streaming client stays flat). */
  client: { startRss: Record<Phase, number>; peaks: Record<Phase, number> };
  target: { growthBytes: number };
  met: boolean;
  report: BenchmarkReport;
}

const TARGET_GROWTH_BYTES = 100 * MiB;
const FLOOR_SERVER = join(import.meta.dirname, 'lib', 'floor-server.ts');
const CHUNK_BYTES = MiB;

export async function runMemoryBenchmark(options: MemoryOptions = {}): Promise<MemoryResult> {
  const started = performance.now();
  const megabytes = options.megabytes ?? envInteger('BENCH_MEMORY_MB', 1024, 1, 1_048_576);
  const bytes = megabytes * MiB;
  const sampleIntervalMs = options.sampleIntervalMs ?? 50;
  const timeoutSeconds = options.timeoutSeconds ?? envInteger('BENCH_MEMORY_TIMEOUT_S', Math.round(300 + megabytes / 2));
  const log = options.log ?? ((line: string) => process.stderr.write(`[memory] ${line}\n`));
  const deadline = new Deadline(timeoutSeconds, 'The memory benchmark');

  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-memory-')));
  let server: RunningDamson | undefined;
  let database: BenchDatabase | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    // 1. The file, streamed to disk 1 MiB at a time and hashed on the way: it never sits in memory.
    const bigFile = join(root, 'big.bin');
    log(`writing a ${megabytes} MiB file …`);
    const sha256 = await writeRandomFile(bigFile, bytes);

    // 2. The disk alone, as the baseline for the transfer rates.
    const disk = { write: await diskWrite(bigFile, join(root, 'copy.bin'), bytes), read: await diskRead(bigFile, bytes) };
    await rm(join(root, 'copy.bin'), { force: true });
    log(`disk alone: write+hash+fsync ${formatNumber(disk.write.mibPerSecond, 0)} MiB/s, read+hash ${formatNumber(disk.read.mibPerSecond, 0)} MiB/s`);

    // 3. The floor: a bare node:http server doing the same transfers with the same client (bench/lib/floor-server.ts).
    const floor = await floorTransfers(join(root, 'floor'), bigFile, sha256, bytes, deadline);
    log(`floor server: upload ${formatNumber(floor.upload.mibPerSecond, 0)} MiB/s, download ${formatNumber(floor.download.mibPerSecond, 0)} MiB/s`);

    // 4. Damson, warmed up with a small upload and download through the same paths.
    database = await benchDatabase(options.databaseUrl ?? process.env.BENCH_DATABASE_URL);
    const password = benchPassword();
    server = await startDamson({
      dataDir: join(root, 'data'),
      adminPassword: password,
      databaseUrl: database.url,
      env: { DAMSON_MAX_UPLOAD_MB: String(Math.max(10_240, megabytes + 16)) },
    });
    const pid = server.pid;
    const baseUrl = server.baseUrl;
    const token = await apiLogin(baseUrl, 'admin', password);
    log(`Damson on ${database.label} at ${baseUrl} (pid ${pid})`);
    const smallFile = join(root, 'warm-up.bin');
    const smallHash = await writeRandomFile(smallFile, MiB);
    for (const send of [uploadWithFetch, uploadOverHttp]) {
      const warm = await send(baseUrl, token, smallFile, deadline);
      if ((await downloadFile(baseUrl, token, warm.id, deadline)).sha256 !== smallHash) throw new Error('the warm-up download differs from its upload');
    }
    await sleep(1000);
    const readings: number[] = [];
    for (let index = 0; index < 5; index++) {
      readings.push(readMemory(pid).rss);
      await sleep(100);
    }
    const baselineRss = percentile(readings, 0.5);
    const baselineHwm = readMemory(pid).hwm;
    log(`baseline: VmRSS ${formatNumber(baselineRss / MiB)} MiB, VmHWM ${formatNumber(baselineHwm / MiB)} MiB`);

    // 5. Sampling while the file goes up (twice) and comes back down.
    let phase: Phase | undefined;
    const peaks: Record<Phase, number> = { uploadHttp: 0, uploadFetch: 0, downloadHttp: 0, downloadFetch: 0 };
    const clientPeaks: Record<Phase, number> = { uploadHttp: 0, uploadFetch: 0, downloadHttp: 0, downloadFetch: 0 };
    const clientStart: Record<Phase, number> = { uploadHttp: 0, uploadFetch: 0, downloadHttp: 0, downloadFetch: 0 };
    let samples = 0;
    let maxGap = 0;
    let lastSample = performance.now();
    const sample = () => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - lastSample);
      lastSample = now;
      if (!phase) return;
      clientPeaks[phase] = Math.max(clientPeaks[phase], process.memoryUsage.rss());
      const memory = memoryOf(pid);
      if (!memory) return;
      samples++;
      peaks[phase] = Math.max(peaks[phase], memory.rss);
    };
    const timed = async <T>(which: Phase, work: () => Promise<T>): Promise<{ answer: T; transfer: Transfer }> => {
      phase = which;
      clientStart[which] = clientPeaks[which] = process.memoryUsage.rss();
      lastSample = performance.now();
      const start = performance.now();
      const answer = await work();
      const ms = performance.now() - start;
      sample();
      phase = undefined;
      log(`${which}: ${formatNumber(bytes / MiB / (ms / 1000), 0)} MiB/s, server peak VmRSS ${formatNumber(peaks[which] / MiB)} MiB`);
      return { answer, transfer: transfer(bytes, ms) };
    };
    sampler = setInterval(sample, sampleIntervalMs);
    // node:http first: fetch leaves this process's memory high afterwards, which would blur the next phase's client figure.
    const viaHttp = await timed('uploadHttp', () => uploadOverHttp(baseUrl, token, bigFile, deadline));
    await sleep(500);
    const viaFetch = await timed('uploadFetch', () => uploadWithFetch(baseUrl, token, bigFile, deadline));
    await sleep(500);
    const downHttp = await timed('downloadHttp', () => downloadOverHttp(baseUrl, token, viaHttp.answer.id, deadline));
    await sleep(500);
    const downFetch = await timed('downloadFetch', () => downloadFile(baseUrl, token, viaFetch.answer.id, deadline));
    clearInterval(sampler);
    sampler = undefined;
    for (const downloaded of [downHttp, downFetch]) {
      if (downloaded.answer.bytes !== bytes) throw new Error(`downloaded ${downloaded.answer.bytes} bytes, uploaded ${bytes}`);
    }

    const end = readMemory(pid);
    const errorLogLines = server.lineCount('"level":50') + server.lineCount('"level":60');
    await server.stop();
    const peakRss = Math.max(...Object.values(peaks));
    const growth = peakRss - baselineRss;
    const result: Omit<MemoryResult, 'report'> = {
      bytes,
      sha256,
      database: database.label,
      baselineRss,
      baselineHwm,
      peakRss,
      peaks,
      growth,
      hwm: end.hwm,
      finalRss: end.rss,
      samples,
      sampleIntervalMs,
      maxSampleGapMs: maxGap,
      uploadFetch: viaFetch.transfer,
      uploadHttp: viaHttp.transfer,
      downloadHttp: downHttp.transfer,
      downloadFetch: downFetch.transfer,
      disk,
      floor,
      errorLogLines,
      downloadHashMatches: downHttp.answer.sha256 === sha256 && downFetch.answer.sha256 === sha256,
      serverHashMatches: viaFetch.answer.sha256 === sha256 && viaHttp.answer.sha256 === sha256,
      client: { startRss: clientStart, peaks: clientPeaks },
      target: { growthBytes: TARGET_GROWTH_BYTES },
      met: growth < TARGET_GROWTH_BYTES,
    };
    return { ...result, report: memoryReport(result, megabytes, (performance.now() - started) / 1000) };
  } finally {
    if (sampler) clearInterval(sampler);
    await server?.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

function readMemory(pid: number): { rss: number; hwm: number } {
  const memory = memoryOf(pid);
  if (!memory) throw new Error(`the server (pid ${pid}) is gone`);
  return memory;
}

function transfer(bytes: number, ms: number): Transfer {
  return { seconds: ms / 1000, mibPerSecond: bytes / MiB / (ms / 1000) };
}

/** `bytes` pseudo-random bytes written 1 MiB at a time; returns their SHA-256. */
async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let written = 0; written < bytes; written += CHUNK_BYTES) {
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK_BYTES, bytes - written)));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return hash.digest('hex');
}

/** Uploads and downloads the file through the floor server (node:http client), then removes its copy. */
async function floorTransfers(dir: string, path: string, sha256: string, bytes: number, deadline: Deadline): Promise<{ upload: Transfer; download: Transfer }> {
  let floor: RunningServer | undefined;
  let client: BenchClient | undefined;
  try {
    floor = await startListening({ script: FLOOR_SERVER, args: [dir], label: 'the floor server' });
    client = new BenchClient(floor.baseUrl, 'none', () => deadline.remainingMs());
    const warmUp = join(dir, 'warm-up.bin');
    await writeRandomFile(warmUp, MiB);
    const warm = await client.create(warmUp, { folderPath: '/Bench/memory' }, 'application/octet-stream');
    await client.stream(`/files/${warm.id}`, () => undefined);

    let start = performance.now();
    const stored = await client.create(path, { folderPath: '/Bench/memory' }, 'application/octet-stream');
    const upload = transfer(bytes, performance.now() - start);
    if (stored.id !== sha256) throw new Error('the floor server stored different bytes');
    start = performance.now();
    const hash = createHash('sha256');
    const { status, bytes: received } = await client.stream(`/files/${stored.id}`, (chunk) => hash.update(chunk));
    const download = transfer(received, performance.now() - start);
    if (status !== 200 || received !== bytes || hash.digest('hex') !== sha256) throw new Error(`the floor server's download differs (HTTP ${status}, ${received} bytes)`);
    return { upload, download };
  } finally {
    client?.close();
    await floor?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Baseline for uploads: copy with SHA-256 on the way, then fsync, as Damson's blob store does. */
async function diskWrite(source: string, target: string, bytes: number): Promise<Transfer> {
  const start = performance.now();
  const hash = createHash('sha256');
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(source, { highWaterMark: CHUNK_BYTES }), meter, createWriteStream(target));
  hash.digest('hex');
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return transfer(bytes, performance.now() - start);
}

/** Baseline for downloads: read with SHA-256, as the download's client does. */
async function diskRead(path: string, bytes: number): Promise<Transfer> {
  const start = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  hash.digest('hex');
  return transfer(bytes, performance.now() - start);
}

/** `POST /services/create`; the body streams from disk (fs.openAsBlob), never as a whole in memory. */
async function uploadWithFetch(baseUrl: string, token: string, path: string, deadline: Deadline): Promise<{ id: string; sha256: string | undefined }> {
  const form = new FormData();
  form.append('folderPath', '/Bench/memory');
  form.append('Filedata', await openAsBlob(path, { type: 'application/octet-stream' }), 'big.bin');
  const response = await fetch(`${baseUrl}/services/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
    signal: deadline.signal(),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`upload failed: HTTP ${response.status} ${text.slice(0, 500)}`);
  const answer = JSON.parse(text) as { id?: string; metadata?: { sha256?: string } };
  if (!answer.id) throw new Error(`upload answered without an id: ${text.slice(0, 500)}`);
  return { id: answer.id, sha256: answer.metadata?.sha256 };
}

/** The same request through node:http, the file piped from a read stream (see BENCH_MEMORY_CLIENT). */
async function uploadOverHttp(baseUrl: string, token: string, path: string, deadline: Deadline): Promise<{ id: string; sha256: string | undefined }> {
  const client = new BenchClient(baseUrl, token, () => deadline.remainingMs());
  try {
    const answer = await client.create(path, { folderPath: '/Bench/memory' }, 'application/octet-stream');
    const sha256 = answer.metadata?.sha256;
    return { id: answer.id, sha256: typeof sha256 === 'string' ? sha256 : undefined };
  } finally {
    client.close();
  }
}

/** `GET /file/{id}` through node:http, hashed chunk by chunk as it arrives. */
async function downloadOverHttp(baseUrl: string, token: string, id: string, deadline: Deadline): Promise<{ bytes: number; sha256: string }> {
  const client = new BenchClient(baseUrl, token, () => deadline.remainingMs());
  try {
    const hash = createHash('sha256');
    const { status, bytes } = await client.stream(`/file/${id}`, (chunk) => hash.update(chunk));
    if (status !== 200) throw new Error(`download failed: HTTP ${status}`);
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    client.close();
  }
}

/** `GET /file/{id}` with fetch, hashed chunk by chunk as it arrives. */
async function downloadFile(baseUrl: string, token: string, id: string, deadline: Deadline): Promise<{ bytes: number; sha256: string }> {
  const response = await fetch(`${baseUrl}/file/${id}`, { headers: { authorization: `Bearer ${token}` }, signal: deadline.signal() });
  if (response.status !== 200 || !response.body) throw new Error(`download failed: HTTP ${response.status} ${(await response.text()).slice(0, 500)}`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function memoryReport(result: Omit<MemoryResult, 'report'>, megabytes: number, seconds: number): BenchmarkReport {
  const mib = (value: number) => value / MiB;
  const same = result.downloadHashMatches && result.serverHashMatches;
  const throughput = (name: string, measured: Transfer, disk: Transfer) => ({
    name,
    value: measured.mibPerSecond,
    unit: 'MiB/s',
    digits: 0,
    baseline: disk.mibPerSecond,
    ratio: measured.mibPerSecond / disk.mibPerSecond,
  });
  const clientGrowth = (phase: Phase) => formatNumber(mib(result.client.peaks[phase] - result.client.startRss[phase]));
  return {
    id: 'memory',
    title: `Memory: streaming a ${formatNumber(megabytes, 0)} MiB file up and down`,
    description:
      `One ${formatNumber(megabytes, 0)} MiB file is uploaded to a Damson server process twice (POST /services/create, multipart: once piped from ` +
      `a read stream through node:http, once with fs.openAsBlob + FormData + fetch) and downloaded twice (GET /file/{id}, ` +
      `node:http and fetch, hashed as it arrives). The server's VmRSS (/proc/<pid>/status) is read every ${formatNumber(result.sampleIntervalMs, 0)} ms ` +
      `throughout; database: ${result.database}.`,
    baseline:
      'RSS rows: the server\u2019s VmRSS (and VmHWM) after start and a warm-up upload and download of 1 MiB. node:http transfer rows: ' +
      'the floor, a bare node:http server (bench/lib/floor-server.ts) that parses the multipart body with the same parser, hashes, ' +
      'writes, fsyncs and renames the file, and streams it back, driven by the same client.',
    parameters: { BENCH_MEMORY_MB: megabytes, database: result.database, 'sample interval': `${result.sampleIntervalMs} ms` },
    figures: [
      { name: 'Peak VmRSS during the transfers', value: mib(result.peakRss), unit: 'MiB', baseline: mib(result.baselineRss), ratio: result.peakRss / result.baselineRss },
      {
        name: 'RSS growth (peak − baseline)',
        value: mib(result.growth),
        unit: 'MiB',
        target: { text: `< ${formatNumber(mib(result.target.growthBytes), 0)} MiB`, met: result.met },
      },
      { name: 'VmHWM after the transfers', value: mib(result.hwm), unit: 'MiB', baseline: mib(result.baselineHwm), ratio: result.hwm / result.baselineHwm },
      throughput('Upload, node:http + read stream', result.uploadHttp, result.floor.upload),
      { name: 'Upload, fetch + FormData + openAsBlob', value: result.uploadFetch.mibPerSecond, unit: 'MiB/s', digits: 0 },
      throughput('Download, node:http', result.downloadHttp, result.floor.download),
      { name: 'Download, fetch', value: result.downloadFetch.mibPerSecond, unit: 'MiB/s', digits: 0 },
      {
        name: 'SHA-256: download = uploads = server\u2019s',
        value: same ? 1 : 0,
        unit: '',
        display: same ? 'equal' : 'DIFFERENT',
        target: { text: 'equal', met: same },
      },
    ],
    notes: [
      `Server peak VmRSS by phase: upload with node:http ${formatNumber(mib(result.peaks.uploadHttp))} MiB, upload with fetch ` +
        `${formatNumber(mib(result.peaks.uploadFetch))} MiB, download with node:http ${formatNumber(mib(result.peaks.downloadHttp))} MiB, ` +
        `with fetch ${formatNumber(mib(result.peaks.downloadFetch))} MiB; ` +
        `${formatNumber(mib(result.finalRss))} MiB at the end.`,
      `${result.samples} readings; the longest gap between two was ${formatNumber(result.maxSampleGapMs, 0)} ms (VmHWM covers the gaps).`,
      `Transfer times: ${formatNumber(result.uploadHttp.seconds, 1)} s (node:http) and ${formatNumber(result.uploadFetch.seconds, 1)} s (fetch) up, ` +
        `${formatNumber(result.downloadHttp.seconds, 1)} s (node:http) and ${formatNumber(result.downloadFetch.seconds, 1)} s (fetch) down. ` +
        `SHA-256 ${result.sha256.slice(0, 16)}….`,
      `The disk alone, in this process: the file copied with SHA-256 and fsync at ${formatNumber(result.disk.write.mibPerSecond, 0)} MiB/s, ` +
        `read with SHA-256 at ${formatNumber(result.disk.read.mibPerSecond, 0)} MiB/s. The fetch rows have no baseline: they show the client ` +
        `(fetch on Node ${process.versions.node}), not the server.`,
      `The benchmark process (the client) grew by ${clientGrowth('uploadHttp')} MiB RSS during the node:http upload, ` +
        `${clientGrowth('uploadFetch')} MiB during the fetch upload, ${clientGrowth('downloadHttp')} MiB and ${clientGrowth('downloadFetch')} MiB ` +
        `during the node:http and fetch downloads ` +
        `(each from its own start): growth near the file size means that client held the file in memory.`,
      ...(result.errorLogLines > 0 ? [`The server logged ${result.errorLogLines} error line(s).`] : []),
    ],
    command: `BENCH_MEMORY_MB=${megabytes} node --import tsx bench/memory.ts`,
    seconds,
  };
}

if (isMainModule(import.meta.url)) {
  try {
    const result = await runMemoryBenchmark();
    printReport(result.report);
  } catch (error) {
    process.stderr.write(`memory benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
