import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { killGroup, trackChild, trackCleanup } from './cleanup.js';

/** Damson's entry point, run from source exactly as the tests and an operator run it. */
export const DAMSON_MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/** Log lines counted over a Damson server's whole life: failed jobs, errors (pino level 50) and fatals (60). */
export const DAMSON_WATCHED_LINES = ['"job failed"', '"level":50', '"level":60'] as const;

/** Kept from the server's log so a failure can say what the server said, without holding every line. */
const OUTPUT_TAIL_CHARS = 64 * 1024;

export interface RunningServer {
  child: ChildProcess;
  /** The node process serving HTTP (no shell or wrapper in between), for /proc/<pid>. */
  pid: number;
  baseUrl: string;
  /** The last part of its stdout and stderr (JSON log lines). */
  output(): string;
  /** How many output lines so far contained `text`, for each of the `watch` strings it was started with. */
  lineCount(text: string): number;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited in time. Safe to call more than once. */
  stop(): Promise<void>;
}

export type RunningDamson = RunningServer;

export interface StartOptions {
  dataDir: string;
  adminPassword: string;
  /** postgres://… selects PostgreSQL; undefined means Damson's embedded SQLite in dataDir. */
  databaseUrl?: string | undefined;
  /** Further DAMSON_* settings. */
  env?: Record<string, string>;
  startTimeoutMs?: number | undefined;
  stopTimeoutMs?: number | undefined;
}

/**
 * Starts `node --import tsx src/main.ts serve` on a free loopback port and waits for its "Server listening"
 * log line. DAMSON_* variables of the calling shell are not passed on, so the benchmark sees only its own settings.
 */
export async function startDamson(options: StartOptions): Promise<RunningDamson> {
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('DAMSON_')) env[name] = value;
  Object.assign(env, {
    DAMSON_HOST: '127.0.0.1',
    DAMSON_PORT: '0',
    DAMSON_DATA_DIR: options.dataDir,
    DAMSON_ADMIN_PASSWORD: options.adminPassword,
    DAMSON_LOG_LEVEL: 'info',
    ...(options.databaseUrl ? { DAMSON_DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  const server = await startListening({
    script: DAMSON_MAIN,
    args: ['serve'],
    env,
    label: 'Damson',
    startTimeoutMs: options.startTimeoutMs,
    stopTimeoutMs: options.stopTimeoutMs,
    watch: [...DAMSON_WATCHED_LINES],
  });
  // The pid must be the node server itself, or /proc/<pid> would describe some wrapper process.
  const commandLine = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
  if (!commandLine.includes(DAMSON_MAIN) || !commandLine.includes('serve')) {
    await server.stop();
    throw new Error(`pid ${server.pid} is not the Damson server: ${commandLine.join(' ')}`);
  }
  return server;
}

/**
 * Runs `node --import tsx <script> <args>` and waits until it logs "Server listening at http://127.0.0.1:<port>".
 * Its output is always drained (a full pipe would block it) and the last part kept for error messages.
 */
export async function startListening(options: {
  script: string;
  args: string[];
  env?: Record<string, string | undefined>;
  label: string;
  startTimeoutMs?: number | undefined;
  stopTimeoutMs?: number | undefined;
  /** Strings whose lines are counted over the whole output (which is kept only in part). */
  watch?: string[];
}): Promise<RunningServer> {
  // A process group of its own (detached), so that stopping it can also reach whatever it started.
  const child = spawn(process.execPath, ['--import', 'tsx', options.script, ...options.args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackChild(child);
  let output = '';
  let partialLine = '';
  const counts = new Map<string, number>((options.watch ?? []).map((text) => [text, 0]));
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > 2 * OUTPUT_TAIL_CHARS) output = output.slice(-OUTPUT_TAIL_CHARS);
    if (counts.size === 0) return;
    const lines = (partialLine + text).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) for (const [watched, count] of counts) if (line.includes(watched)) counts.set(watched, count + 1);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // The server alone gets SIGTERM and shuts down gracefully (closing its exiftool processes); if it hangs, its
    // whole group is killed. trackChild's exit hook then sweeps the group of anything left behind.
    child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.stopTimeoutMs ?? 20_000);
    await exited;
    clearTimeout(timer);
  };

  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.label} did not start listening within ${startTimeoutMs / 1000} s:\n${output}`)), startTimeoutMs);
      const onData = () => {
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (!match) return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${options.label} exited with ${code} before listening:\n${output}`));
      });
    });
    return { child, pid: child.pid!, baseUrl, output: () => output, lineCount: (text) => counts.get(text) ?? 0, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** An API token for `Authorization: Bearer`. */
export async function apiLogin(baseUrl: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/services/apilogin`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as { loginSuccess?: boolean; authToken?: string };
  if (response.status !== 200 || !body.loginSuccess || !body.authToken) throw new Error(`apilogin failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body.authToken;
}

/** A strong throwaway password for the benchmark's admin user. */
export function benchPassword(): string {
  return `bench-${randomBytes(12).toString('hex')}`;
}

export interface BenchDatabase {
  /** What to give Damson as DAMSON_DATABASE_URL; undefined = SQLite. */
  url: string | undefined;
  /** "SQLite" or "PostgreSQL (host:port/db)", without credentials. */
  label: string;
  drop(): Promise<void>;
}

/**
 * SQLite unless BENCH_DATABASE_URL names a PostgreSQL database. There, each run gets a schema of its own (the
 * connection's search_path points at it) that is dropped afterwards, also on Ctrl-C, so nothing in the database
 * is touched.
 */
export async function benchDatabase(databaseUrl = process.env.BENCH_DATABASE_URL): Promise<BenchDatabase> {
  if (!databaseUrl) return { url: undefined, label: 'SQLite', drop: async () => {} };
  const url = new URL(databaseUrl);
  const schema = `damson_bench_${process.pid}_${Date.now()}`;
  await withClient(databaseUrl, (client) => client.query(`CREATE SCHEMA "${schema}"`));
  url.searchParams.set('options', `-c search_path=${schema}`);
  const drop = () => withClient(databaseUrl, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).then(() => undefined);
  const untrack = trackCleanup(drop);
  return {
    url: url.href,
    label: `PostgreSQL (${url.host}${url.pathname})`,
    drop: async () => {
      await drop();
      untrack();
    },
  };
}

async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000, query_timeout: 60_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
