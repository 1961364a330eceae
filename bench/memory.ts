/**
 * Memory: Damson's resident memory while it receives and then serves one large file, and how fast it serves it,
 * whole and by range. Uploads and downloads must stream, so the server's RSS should barely move whatever the
 * file size, and a range in the middle of the file must come as fast as one from its start.
 *
 *   node --import tsx bench/memory.ts            (BENCH_MEMORY_MB=4096 for a 4 GiB file)
 *
 * The server's VmRSS is read from /proc/<pid>/status after start and a warm-up upload and download (the
 * baseline), then every 50 ms while the file is uploaded twice and downloaded; VmHWM is read at the end.
 * One upload pipes a read stream into a node:http request, the other is fs.openAsBlob + FormData + fetch: on
 * Node 20 fetch reads the whole Blob into this process's memory as it sends (the client figures in the notes
 * show it), so the streaming client is there too; the server sees the same multipart body either way.
 * The node:http transfers are compared with the floor, a bare node:http file server doing the same work
 * (bench/lib/floor-server.ts: createReadStream(...).pipe(response), a Range read from a stream that starts
 * there), driven by the same client: the whole file, its first half and its middle half (Range: bytes=…) are
 * downloaded from both servers in BENCH_MEMORY_ROUNDS rounds, in alternating order, each hashed as it arrives and
 * compared with the same bytes of the source file; the figures are medians. Last, the file is downloaded once
 * with fetch.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDirectory, trackDirectory } from './lib/cleanup.js';
import { apiLogin, type BenchDatabase, benchDatabase, benchPassword, type RunningDamson, type RunningServer, startDamson, startListening } from './lib/damson.js';
import { hashFile, type Transfer, transfer, writeRandomFile } from './lib/files.js';
import { BenchClient } from './lib/http.js';
import { MemorySampler, type PhasePeaks, readMemory, settledMemory } from './lib/proc.js';
import { type BenchmarkReport, Deadline, envInteger, formatNumber, MiB, percentile, rssFigures, runIfMain } from './lib/report.js';

export interface MemoryOptions {
  /** File size in MiB. Default BENCH_MEMORY_MB or 1024. */
  megabytes?: number;
  /** Rounds of node:http downloads (whole file and two ranges, from Damson and the floor). Default BENCH_MEMORY_ROUNDS or 3. */
  rounds?: number;
  /** How often VmRSS is read. Default 50 ms. */
  sampleIntervalMs?: number;
  /** PostgreSQL URL for Damson; default BENCH_DATABASE_URL, unset = SQLite. */
  databaseUrl?: string | undefined;
  /** Hard limit for the whole benchmark. Default BENCH_MEMORY_TIMEOUT_S or 300 s + 0.5 s per MiB. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

export type { Transfer } from './lib/files.js';

/** The parts of the run, each with its own peaks. */
export type Phase = 'uploadHttp' | 'uploadFetch' | 'downloadHttp' | 'downloadFetch';

/** What the node:http download rounds fetch: the whole file, its first half, its middle half. */
export type Way = 'whole' | 'start' | 'middle';

interface ByteRange {
  start: number;
  end: number;
}

/** The downloads of one server, every round's, in order. */
export type Downloads = Record<Way, Transfer[]>;

export interface MemoryResult {
  bytes: number;
  sha256: string;
  database: string;
  rounds: number;
  /** The two ranges downloaded (inclusive byte offsets), each half the file. */
  ranges: { start: ByteRange; middle: ByteRange };
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
  downloadFetch: Transfer;
  /** The node:http download rounds; the figures are their medians. */
  downloads: { damson: Downloads; floor: Downloads };
  disk: { write: Transfer; read: Transfer };
  /** Lines the server logged at level error or fatal. */
  errorLogLines: number;
  /** The same file uploaded to the floor server with the node:http client. */
  floorUpload: Transfer;
  /** Both whole downloads' SHA-256 equal the file's, and the server reported the same SHA-256 for both uploads. */
  downloadHashMatches: boolean;
  serverHashMatches: boolean;
  /** Damson's answers to the range requests that were not the expected 206 with the right bytes (empty: all right). */
  rangeProblems: string[];
  /** This process's own RSS at the start of each phase and its peak during it (a streaming client stays flat). */
  client: { startRss: Record<Phase, number>; peaks: Record<Phase, number> };
  target: { growthBytes: number; downloadRatio: number; middleRatio: number };
  met: boolean;
  report: BenchmarkReport;
}

const TARGET_GROWTH_BYTES = 100 * MiB;
/** Damson's downloads at least this fraction of the floor's; a middle range at least this fraction of one from the start. */
const TARGET_DOWNLOAD_RATIO = 0.8;
const TARGET_MIDDLE_RATIO = 0.8;
const FLOOR_SERVER = join(import.meta.dirname, 'lib', 'floor-server.ts');
const CHUNK_BYTES = MiB;
const WAYS: Way[] = ['whole', 'start', 'middle'];

export async function runMemoryBenchmark(options: MemoryOptions = {}): Promise<MemoryResult> {
  const started = performance.now();
  const megabytes = options.megabytes ?? envInteger('BENCH_MEMORY_MB', 1024, 1, 1_048_576);
  const rounds = options.rounds ?? envInteger('BENCH_MEMORY_ROUNDS', 3, 1, 100);
  const bytes = megabytes * MiB;
  const sampleIntervalMs = options.sampleIntervalMs ?? 50;
  const timeoutSeconds = options.timeoutSeconds ?? envInteger('BENCH_MEMORY_TIMEOUT_S', Math.round(300 + megabytes / 2));
  const log = options.log ?? ((line: string) => process.stderr.write(`[memory] ${line}\n`));
  const deadline = new Deadline(timeoutSeconds, 'The memory benchmark');

  const root = trackDirectory(await mkdtemp(join(tmpdir(), 'damson-bench-memory-')));
  let server: RunningDamson | undefined;
  let floor: RunningServer | undefined;
  let database: BenchDatabase | undefined;
  let sampler: MemorySampler | undefined;
  const clients: BenchClient[] = [];
  const clientOf = (baseUrl: string, token: string) => {
    const client = new BenchClient(baseUrl, token, () => deadline.remainingMs());
    clients.push(client);
    return client;
  };
  try {
    // 1. The file, streamed to disk 1 MiB at a time and hashed on the way: it never sits in memory.
    const bigFile = join(root, 'big.bin');
    log(`writing a ${megabytes} MiB file …`);
    const sha256 = await writeRandomFile(bigFile, bytes);
    const half = Math.floor(bytes / 2);
    const ranges = { start: { start: 0, end: half - 1 }, middle: { start: Math.floor(bytes / 4), end: Math.floor(bytes / 4) + half - 1 } };
    const expected: Record<Way, string> = { whole: sha256, start: await hashFile(bigFile, ranges.start), middle: await hashFile(bigFile, ranges.middle) };

    // 2. The disk alone, as the baseline for the transfer rates.
    const disk = { write: await diskWrite(bigFile, join(root, 'copy.bin'), bytes), read: await diskRead(bigFile, bytes) };
    await rm(join(root, 'copy.bin'), { force: true });
    log(`disk alone: write+hash+fsync ${formatNumber(disk.write.mibPerSecond, 0)} MiB/s, read+hash ${formatNumber(disk.read.mibPerSecond, 0)} MiB/s`);

    // 3. The floor: a bare node:http server doing the same transfers with the same client (bench/lib/floor-server.ts).
    // It keeps running, idle, until the download rounds, which alternate between it and Damson.
    floor = await startListening({ script: FLOOR_SERVER, args: [join(root, 'floor')], label: 'the floor server' });
    const floorClient = clientOf(floor.baseUrl, 'none');
    const floorUpload = await floorUploads(floorClient, root, bigFile, sha256, bytes);
    log(`floor server: upload ${formatNumber(floorUpload.mibPerSecond, 0)} MiB/s`);

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
    const damsonClient = clientOf(baseUrl, token);
    log(`Damson on ${database.label} at ${baseUrl} (pid ${pid})`);
    const smallFile = join(root, 'warm-up.bin');
    const smallHash = await writeRandomFile(smallFile, MiB);
    for (const send of [uploadWithFetch, uploadOverHttp]) {
      const warm = await send(baseUrl, token, smallFile, deadline);
      if ((await downloadFile(baseUrl, token, warm.id, deadline)).sha256 !== smallHash) throw new Error('the warm-up download differs from its upload');
    }
    const baseline = await settledMemory(pid);
    log(`baseline: VmRSS ${formatNumber(baseline.rss / MiB)} MiB, VmHWM ${formatNumber(baseline.hwm / MiB)} MiB`);

    // 5. Sampling while the file goes up (twice) and comes back down.
    sampler = new MemorySampler(pid, sampleIntervalMs);
    const phases = {} as Record<Phase, PhasePeaks>;
    const inPhase = async <T>(which: Phase, work: () => Promise<T>): Promise<T> => {
      sampler!.begin();
      const answer = await work();
      phases[which] = sampler!.end();
      log(`${which}: server peak VmRSS ${formatNumber(phases[which].server / MiB)} MiB`);
      await sleep(500);
      return answer;
    };
    const timed = async <T>(work: () => Promise<T>): Promise<{ answer: T; transfer: Transfer }> => {
      const start = performance.now();
      const answer = await work();
      return { answer, transfer: transfer(bytes, performance.now() - start) };
    };
    // node:http first: fetch leaves this process's memory high afterwards, which would blur the next phase's client figure.
    const viaHttp = await inPhase('uploadHttp', () => timed(() => uploadOverHttp(baseUrl, token, bigFile, deadline)));
    const viaFetch = await inPhase('uploadFetch', () => timed(() => uploadWithFetch(baseUrl, token, bigFile, deadline)));
    const targets = { damson: { client: damsonClient, path: `/file/${viaHttp.answer.id}` }, floor: { client: floorClient, path: `/files/${sha256}` } };
    const downloads = await inPhase('downloadHttp', () => downloadRounds(targets, ranges, expected, rounds, deadline, log));
    const downFetch = await inPhase('downloadFetch', () => timed(() => downloadFile(baseUrl, token, viaFetch.answer.id, deadline)));
    sampler.stop();
    if (downFetch.answer.bytes !== bytes) throw new Error(`downloaded ${downFetch.answer.bytes} bytes, uploaded ${bytes}`);

    const end = readMemory(pid);
    const errorLogLines = server.lineCount('"level":50') + server.lineCount('"level":60');
    await server.stop();
    const peaks = Object.fromEntries(Object.entries(phases).map(([phase, peak]) => [phase, peak.server])) as Record<Phase, number>;
    const peakRss = Math.max(...Object.values(peaks));
    const growth = peakRss - baseline.rss;
    const whole = median(downloads.damson.whole).mibPerSecond / median(downloads.floor.whole).mibPerSecond;
    const middle = median(downloads.damson.middle).mibPerSecond / median(downloads.damson.start).mibPerSecond;
    const result: Omit<MemoryResult, 'report'> = {
      bytes,
      sha256,
      database: database.label,
      rounds,
      ranges,
      baselineRss: baseline.rss,
      baselineHwm: baseline.hwm,
      peakRss,
      peaks,
      growth,
      hwm: end.hwm,
      finalRss: end.rss,
      samples: sampler.samples,
      sampleIntervalMs,
      maxSampleGapMs: sampler.maxGapMs,
      uploadFetch: viaFetch.transfer,
      uploadHttp: viaHttp.transfer,
      downloadFetch: downFetch.transfer,
      downloads: { damson: downloads.damson, floor: downloads.floor },
      disk,
      floorUpload,
      errorLogLines,
      downloadHashMatches: downloads.wholeMatches && downFetch.answer.sha256 === sha256,
      serverHashMatches: viaFetch.answer.sha256 === sha256 && viaHttp.answer.sha256 === sha256,
      rangeProblems: downloads.rangeProblems,
      client: {
        startRss: Object.fromEntries(Object.entries(phases).map(([phase, peak]) => [phase, peak.clientStart])) as Record<Phase, number>,
        peaks: Object.fromEntries(Object.entries(phases).map(([phase, peak]) => [phase, peak.client])) as Record<Phase, number>,
      },
      target: { growthBytes: TARGET_GROWTH_BYTES, downloadRatio: TARGET_DOWNLOAD_RATIO, middleRatio: TARGET_MIDDLE_RATIO },
      met: growth < TARGET_GROWTH_BYTES && whole >= TARGET_DOWNLOAD_RATIO && middle >= TARGET_MIDDLE_RATIO,
    };
    return { ...result, report: memoryReport(result, megabytes, (performance.now() - started) / 1000) };
  } finally {
    sampler?.stop();
    for (const client of clients) client.close();
    await server?.stop();
    await floor?.stop();
    await database?.drop().catch((error: unknown) => log(`could not drop the benchmark schema: ${(error as Error).message}`));
    await removeDirectory(root);
  }
}

/** The transfer of median rate among some. */
function median(transfers: Transfer[]): Transfer {
  return { mibPerSecond: percentile(transfers.map((one) => one.mibPerSecond), 0.5), seconds: percentile(transfers.map((one) => one.seconds), 0.5) };
}

/** Uploads a warm-up file and then the big one to the floor server; returns the big one's transfer. */
async function floorUploads(client: BenchClient, root: string, path: string, sha256: string, bytes: number): Promise<Transfer> {
  const warmUp = join(root, 'floor-warm-up.bin');
  await writeRandomFile(warmUp, MiB);
  const warm = await client.create(warmUp, { folderPath: '/Bench/memory' }, 'application/octet-stream');
  await client.stream(`/files/${warm.id}`, () => undefined);
  const start = performance.now();
  const stored = await client.create(path, { folderPath: '/Bench/memory' }, 'application/octet-stream');
  const upload = transfer(bytes, performance.now() - start);
  if (stored.id !== sha256) throw new Error('the floor server stored different bytes');
  return upload;
}

/**
 * The whole file, its first half and its middle half from Damson and from the floor with node:http, `rounds` times,
 * the two servers in alternating order; each download is hashed as it arrives and checked against the same bytes
 * of the source. A wrong answer from the floor (this benchmark's own code) stops the run; Damson's are reported.
 */
async function downloadRounds(
  targets: Record<'damson' | 'floor', { client: BenchClient; path: string }>,
  ranges: Record<'start' | 'middle', ByteRange>,
  expected: Record<Way, string>,
  rounds: number,
  deadline: Deadline,
  log: (line: string) => void,
): Promise<{ damson: Downloads; floor: Downloads; wholeMatches: boolean; rangeProblems: string[] }> {
  const measured = { damson: { whole: [], start: [], middle: [] } as Downloads, floor: { whole: [], start: [], middle: [] } as Downloads };
  let wholeMatches = true;
  const rangeProblems: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['floor', 'damson'] as const) : (['damson', 'floor'] as const);
    for (const name of order) {
      for (const way of WAYS) {
        deadline.check();
        const range = way === 'whole' ? undefined : ranges[way];
        const length = range ? range.end - range.start + 1 : undefined;
        const hash = createHash('sha256');
        const start = performance.now();
        const { status, bytes } = await targets[name].client.stream(targets[name].path, (chunk) => hash.update(chunk), range ? { range: `bytes=${range.start}-${range.end}` } : {});
        const ms = performance.now() - start;
        const sha256 = hash.digest('hex');
        const right = status === (range ? 206 : 200) && (length === undefined || bytes === length) && sha256 === expected[way];
        if (!right) {
          const problem = `${name} ${way}${range ? ` (bytes=${range.start}-${range.end})` : ''}: HTTP ${status}, ${bytes} bytes, SHA-256 ${sha256.slice(0, 16)}… (expected ${expected[way].slice(0, 16)}…)`;
          if (name === 'floor') throw new Error(`the floor server's download is wrong: ${problem}`);
          if (way === 'whole') wholeMatches = false;
          else rangeProblems.push(problem);
        }
        measured[name][way].push(transfer(bytes, ms));
      }
    }
    log(
      `round ${round + 1}: ` +
        WAYS.map((way) => `${way} ${formatNumber(measured.damson[way][round]!.mibPerSecond, 0)} (floor ${formatNumber(measured.floor[way][round]!.mibPerSecond, 0)})`).join(', ') +
        ' MiB/s',
    );
  }
  return { ...measured, wholeMatches, rangeProblems };
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
  const rangesRight = result.rangeProblems.length === 0;
  const rangeMib = formatNumber(mib(result.ranges.start.end + 1), 0);
  const { damson, floor } = result.downloads;
  const rate = (transfers: Transfer[]) => median(transfers).mibPerSecond;
  const against = (name: string, value: number, baseline: number, target?: number) => ({
    name,
    value,
    unit: 'MiB/s',
    digits: 0,
    baseline,
    ratio: value / baseline,
    ...(target === undefined ? {} : { target: { text: `≥ ×${formatNumber(target, 2)}`, met: value / baseline >= target } }),
  });
  const of = `median of ${result.rounds}`;
  const rates = (transfers: Transfer[]) => transfers.map((one) => formatNumber(one.mibPerSecond, 0)).join(', ');
  const clientGrowth = (phase: Phase) => formatNumber(mib(result.client.peaks[phase] - result.client.startRss[phase]));
  const floorMiddle = rate(floor.middle) / rate(floor.start);
  return {
    id: 'memory',
    title: `Memory: streaming a ${formatNumber(megabytes, 0)} MiB file up and down, whole and by range`,
    description:
      `One ${formatNumber(megabytes, 0)} MiB file is uploaded to a Damson server process twice (POST /services/create, multipart: once piped from ` +
      `a read stream through node:http, once with fs.openAsBlob + FormData + fetch) and downloaded with GET /file/{id}: with node:http ` +
      `${result.rounds} times whole, as its first half (Range: bytes=${result.ranges.start.start}-${result.ranges.start.end}) and as its middle half ` +
      `(Range: bytes=${result.ranges.middle.start}-${result.ranges.middle.end}), alternating with the same downloads from the floor server, then once with fetch; ` +
      `every download is hashed as it arrives and compared with the same bytes of the file. The server's VmRSS (/proc/<pid>/status) is read every ` +
      `${formatNumber(result.sampleIntervalMs, 0)} ms throughout; database: ${result.database}.`,
    baseline:
      'RSS rows: the server\u2019s VmRSS (and VmHWM) after start and a warm-up upload and download of 1 MiB. node:http transfer rows: ' +
      'the floor, a bare node:http server (bench/lib/floor-server.ts) that parses the multipart body with the same parser, hashes, ' +
      'writes, fsyncs and renames the file, and streams it back (createReadStream(path, { start, end }).pipe(response), 206 for a range), ' +
      'driven by the same client in the same rounds. Middle-against-start row: Damson\u2019s own range from the start.',
    parameters: { BENCH_MEMORY_MB: megabytes, BENCH_MEMORY_ROUNDS: result.rounds, database: result.database, 'sample interval': `${result.sampleIntervalMs} ms` },
    figures: [
      ...rssFigures('transfers', { baseline: result.baselineRss, peak: result.peakRss, hwmBefore: result.baselineHwm, hwmAfter: result.hwm }, result.target.growthBytes),
      against('Upload, node:http + read stream', result.uploadHttp.mibPerSecond, result.floorUpload.mibPerSecond),
      { name: 'Upload, fetch + FormData + openAsBlob', value: result.uploadFetch.mibPerSecond, unit: 'MiB/s', digits: 0 },
      against(`Download, node:http (${of})`, rate(damson.whole), rate(floor.whole), result.target.downloadRatio),
      against(`Range from the start, ${rangeMib} MiB (${of})`, rate(damson.start), rate(floor.start)),
      against(`Range in the middle, ${rangeMib} MiB (${of})`, rate(damson.middle), rate(floor.middle)),
      against('Range in the middle ÷ range from the start (Damson)', rate(damson.middle), rate(damson.start), result.target.middleRatio),
      { name: 'Download, fetch', value: result.downloadFetch.mibPerSecond, unit: 'MiB/s', digits: 0 },
      {
        name: 'SHA-256: downloads = uploads = server\u2019s',
        value: same ? 1 : 0,
        unit: '',
        display: same ? 'equal' : 'DIFFERENT',
        target: { text: 'equal', met: same },
      },
      {
        name: 'Ranges: 206, length, SHA-256 = the same bytes of the file',
        value: rangesRight ? 1 : 0,
        unit: '',
        display: rangesRight ? 'right' : `${result.rangeProblems.length} wrong`,
        target: { text: 'right', met: rangesRight },
      },
    ],
    notes: [
      `Server peak VmRSS by phase: upload with node:http ${formatNumber(mib(result.peaks.uploadHttp))} MiB, upload with fetch ` +
        `${formatNumber(mib(result.peaks.uploadFetch))} MiB, node:http downloads ${formatNumber(mib(result.peaks.downloadHttp))} MiB, ` +
        `download with fetch ${formatNumber(mib(result.peaks.downloadFetch))} MiB; ` +
        `${formatNumber(mib(result.finalRss))} MiB at the end.`,
      `${result.samples} readings; the longest gap between two was ${formatNumber(result.maxSampleGapMs, 0)} ms (VmHWM covers the gaps).`,
      `node:http downloads, MiB/s per round: whole ${rates(damson.whole)} (floor ${rates(floor.whole)}); first half ${rates(damson.start)} ` +
        `(floor ${rates(floor.start)}); middle half ${rates(damson.middle)} (floor ${rates(floor.middle)}). The floor's middle half against its ` +
        `first: ×${formatNumber(floorMiddle, 2)}.`,
      `Transfer times: ${formatNumber(result.uploadHttp.seconds, 1)} s (node:http) and ${formatNumber(result.uploadFetch.seconds, 1)} s (fetch) up, ` +
        `${formatNumber(median(damson.whole).seconds, 1)} s (node:http, median) and ${formatNumber(result.downloadFetch.seconds, 1)} s (fetch) down. ` +
        `SHA-256 ${result.sha256.slice(0, 16)}….`,
      `The disk alone, in this process: the file copied with SHA-256 and fsync at ${formatNumber(result.disk.write.mibPerSecond, 0)} MiB/s, ` +
        `read with SHA-256 at ${formatNumber(result.disk.read.mibPerSecond, 0)} MiB/s. The fetch rows have no baseline: they show the client ` +
        `(fetch on Node ${process.versions.node}), not the server.`,
      `The benchmark process (the client) grew by ${clientGrowth('uploadHttp')} MiB RSS during the node:http upload, ` +
        `${clientGrowth('uploadFetch')} MiB during the fetch upload, ${clientGrowth('downloadHttp')} MiB and ${clientGrowth('downloadFetch')} MiB ` +
        `during the node:http and fetch downloads ` +
        `(each from its own start): growth near the file size means that client held the file in memory.`,
      ...result.rangeProblems.map((problem) => `Wrong range answer from Damson: ${problem}.`),
      ...(result.errorLogLines > 0 ? [`The server logged ${result.errorLogLines} error line(s).`] : []),
    ],
    command: `BENCH_MEMORY_MB=${megabytes} BENCH_MEMORY_ROUNDS=${result.rounds} node --import tsx bench/memory.ts`,
    seconds,
  };
}

await runIfMain(import.meta.url, 'memory benchmark', async () => [(await runMemoryBenchmark()).report]);
