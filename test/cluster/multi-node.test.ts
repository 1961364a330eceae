import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { makeVideo, missingToolsReason } from '../helpers/media-fixtures.js';
import { createTestSchema, dropTestSchema, postgresUnavailableReason, TEST_POSTGRES_URL } from '../helpers/postgres.js';
import { type RunningServer, startDamson } from '../helpers/process.js';
import { startS3 } from '../helpers/s3.js';

/**
 * Damson as a cluster: two API processes and one worker process sharing PostgreSQL, a Redis of the test's own
 * (so it can be stopped) and one S3 store (s3rver), started the way an operator starts them.
 */
const ADMIN_PASSWORD = 'cluster admin password';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function redisServerMissing(): string | false {
  if (spawnSync('redis-server', ['--version']).status === 0) return false;
  if (process.env.CI === 'true') throw new Error('redis-server not installed (required under CI=true)');
  return 'redis-server not installed';
}

const skip = (await postgresUnavailableReason()) || redisServerMissing() || (await missingToolsReason('ffmpeg', 'ffprobe'));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Redis of our own on `port`, keeping nothing on disk (like the one on the machine). */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG') return child;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on ${port}`);
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

interface WebSession {
  cookie: string;
  csrf: string;
}

async function logIn(baseUrl: string): Promise<WebSession> {
  const response = await fetch(`${baseUrl}/services/login`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }) });
  const body = (await response.json()) as { loginSuccess: boolean; csrfToken: string };
  const cookie = response.headers.getSetCookie().find((entry) => entry.startsWith('authToken='))?.split(';')[0];
  assert.ok(body.loginSuccess && cookie, `login on ${baseUrl} failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  return { cookie, csrf: body.csrfToken };
}

const get = (baseUrl: string, path: string, session?: WebSession) => fetch(`${baseUrl}${path}`, { headers: session ? { cookie: session.cookie } : {} });
const post = (baseUrl: string, path: string, session: WebSession, body?: FormData | URLSearchParams) =>
  fetch(`${baseUrl}${path}`, { method: 'POST', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, ...(body ? { body } : {}) });

describe('two API nodes and a worker on PostgreSQL, Redis and S3', { skip }, () => {
  let schema: string;
  let redisPort: number;
  let redis: ChildProcess;
  let s3: Awaited<ReturnType<typeof startS3>>;
  let env: Record<string, string>;
  let nodeA: RunningServer;
  let nodeB: RunningServer;
  let worker: RunningServer | undefined;
  const dirs: string[] = [];
  const started: RunningServer[] = [];

  const startNode = async (role: 'api' | 'worker') => {
    const dataDir = mkdtempSync(join(tmpdir(), `damson-${role}-`));
    dirs.push(dataDir);
    const node = await startDamson({ ...env, DAMSON_ROLE: role, DAMSON_DATA_DIR: dataDir });
    started.push(node);
    return node;
  };
  const stopNode = async (node: RunningServer) => {
    node.killAll();
    await node.exited;
  };
  const withDatabase = async <T>(work: (client: pg.Client) => Promise<T>) => {
    const url = new URL(TEST_POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const client = new pg.Client({ connectionString: url.href });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  before(async () => {
    schema = `damson_cluster_${process.pid}_${Date.now()}`;
    const databaseUrl = await createTestSchema(schema);
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    s3 = await startS3();
    env = {
      DAMSON_DATABASE_URL: databaseUrl,
      DAMSON_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DAMSON_S3_ENDPOINT: s3.endpoint,
      DAMSON_S3_BUCKET: s3.bucket,
      DAMSON_S3_ACCESS_KEY_ID: 'S3RVER',
      DAMSON_S3_SECRET_ACCESS_KEY: 'S3RVER',
      DAMSON_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // A dead worker's job is taken over after this; production keeps the default ten minutes. The lease is also
      // the longest a job may run (pg-boss fails a handler that outlives it), so it must stay well above this
      // test's render on a slow, shared CI machine: 3 s once failed every attempt there.
      DAMSON_JOB_LEASE_SECONDS: '15',
      DAMSON_LOG_LEVEL: 'info',
    };
    // The first node migrates the database and creates admin; the others start on a ready database.
    nodeA = await startNode('api');
    nodeB = await startNode('api');
  });

  after(async () => {
    for (const node of started) node.killAll();
    await Promise.all(started.map((node) => node.exited));
    if (redis) await stopRedis(redis).catch(() => undefined);
    await s3?.close();
    if (schema) await dropTestSchema(schema);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('D33: a session from node A works on node B; a logout on B ends it on A at once', async () => {
    const session = await logIn(nodeA.baseUrl);
    assert.equal((await get(nodeB.baseUrl, '/services/profile', session)).status, 200);
    assert.equal((await post(nodeB.baseUrl, '/services/ping', session)).status, 200, 'the CSRF token is valid on B too');
    assert.deepEqual(await (await post(nodeB.baseUrl, '/services/logout', session)).json(), { logoutSuccess: true });
    assert.equal((await get(nodeA.baseUrl, '/services/profile', session)).status, 401);
    assert.equal((await post(nodeA.baseUrl, '/services/ping', session)).status, 401);
  });

  it('D33: two simultaneous logouts of one session on A and B both succeed', async () => {
    const session = await logIn(nodeB.baseUrl);
    const answers = await Promise.all([post(nodeA.baseUrl, '/services/logout', session), post(nodeB.baseUrl, '/services/logout', session)]);
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { logoutSuccess: true });
    }
    assert.equal((await get(nodeA.baseUrl, '/services/profile', session)).status, 401);
  });

  it('uploads on A, the worker renders, B serves identical bytes; a killed worker’s job finishes on a restarted one', async () => {
    const fixtures = mkdtempSync(join(tmpdir(), 'damson-cluster-files-'));
    dirs.push(fixtures);
    const video = await makeVideo(fixtures, { seconds: 8, width: 1280, height: 720, withAudio: true });
    const session = await logIn(nodeA.baseUrl);
    const form = new FormData();
    form.append('folderPath', '/Cluster');
    form.append('Filedata', new Blob([readFileSync(video)], { type: 'video/mp4' }), 'clip.mp4');
    const created = await post(nodeA.baseUrl, '/services/create', session, form);
    assert.equal(created.status, 200);
    const { id } = (await created.json()) as { id: string };

    // No worker yet: the API nodes do not render (their role is api), the job waits in the queue.
    // The job as pg-boss (the queue on PostgreSQL) sees it: created, active, retry, completed or failed.
    const state = () =>
      withDatabase(async (client) => (await client.query<{ state: string; attempts: number }>("SELECT state, retry_count + 1 AS attempts FROM job WHERE data->>'assetId' = $1", [id])).rows[0]);
    await sleep(1500);
    assert.equal((await state())?.state, 'created');

    // A worker takes the job and is killed in the middle of it.
    const doomed = await startNode('worker');
    for (let waited = 0; (await state())?.state !== 'active'; waited += 50) {
      assert.ok(waited < 30_000, 'the worker never started the job');
      await sleep(50);
    }
    await stopNode(doomed);
    assert.equal((await state())?.state, 'active', 'the job was still in hand when the worker died');

    // A new worker takes it over once the dead one's lease has run out, and finishes it.
    worker = await startNode('worker');
    let hit: { previewUrl?: string; thumbnailUrl?: string; originalUrl: string } | undefined;
    for (let waited = 0; !hit?.previewUrl; waited += 250) {
      assert.ok(waited < 90_000, `no preview after 90 s; job ${JSON.stringify(await state())}`);
      await sleep(250);
      const search = (await (await get(nodeB.baseUrl, `/services/search?q=id:${id}`, session)).json()) as { hits: (typeof hit)[] };
      hit = search.hits[0];
    }
    // The preview can show before the job is done: the first worker may have rendered it just before it died,
    // with the job still in its hands. The job itself must still end completed, run again by the new worker.
    let job = await state();
    const failures = () => started.flatMap((node) => node.output().split('\n').filter((line) => line.includes('job failed')));
    for (let waited = 0; job?.state !== 'completed'; waited += 250) {
      assert.ok(waited < 90_000 && job?.state !== 'failed', `the job never completed: ${JSON.stringify(job)}; ${failures().join('\n')}`);
      await sleep(250);
      job = await state();
    }
    assert.ok((job?.attempts ?? 0) >= 2, 'the job ran again after the first worker died');

    const original = await get(nodeB.baseUrl, new URL(hit!.originalUrl).pathname, session);
    assert.equal(sha256(Buffer.from(await original.arrayBuffer())), sha256(readFileSync(video)), 'B serves the bytes uploaded to A');
    const preview = await get(nodeB.baseUrl, new URL(hit!.previewUrl!).pathname, session);
    assert.equal(preview.status, 200);
    assert.equal(preview.headers.get('content-type'), 'video/mp4');
    const range = await fetch(`${nodeA.baseUrl}${new URL(hit!.originalUrl).pathname}`, { headers: { cookie: session.cookie, range: 'bytes=100-199' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), readFileSync(video).subarray(100, 200), 'ranged reads come from S3 too');
  });

  it('D34: with Redis down, protected requests get 503 (never a pass, never a skipped CSRF check), and the nodes recover', async () => {
    // Once failed on CI in 12 ms with its message lost: if a node has died, say so with its last words.
    for (const node of [nodeA, nodeB]) assert.equal(node.child.exitCode, null, `an API node died: ${node.output().slice(-3000)}`);
    const session = await logIn(nodeA.baseUrl).catch((error: Error) => {
      throw new Error(`${error.message}; node A said: ${nodeA.output().slice(-3000)}`);
    });
    await stopRedis(redis);

    const profile = await get(nodeA.baseUrl, '/services/profile', session);
    assert.equal(profile.status, 503);
    assert.ok(Number(profile.headers.get('retry-after')) > 0);
    assert.equal(((await profile.json()) as { errorcode: number }).errorcode, 503);
    const withoutCsrf = await fetch(`${nodeB.baseUrl}/services/ping`, { method: 'POST', headers: { cookie: session.cookie } });
    assert.equal(withoutCsrf.status, 503, 'a POST without the CSRF token is not let through');
    const anonymous = await get(nodeB.baseUrl, '/services/profile');
    assert.equal(anonymous.status, 401, 'no credentials is still simply "not logged in"');
    const login = await fetch(`${nodeA.baseUrl}/services/login`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }) });
    assert.equal(login.status, 503);
    assert.equal(login.headers.getSetCookie().length, 0, 'no cookie for a session that could not be stored');
    const ready = await get(nodeA.baseUrl, '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.redis, 'unreachable');
    assert.equal((await get(nodeA.baseUrl, '/healthz')).status, 200, 'the process itself is alive');

    redis = await startRedis(redisPort);
    let recovered: WebSession | undefined;
    for (let waited = 0; !recovered; waited += 250) {
      assert.ok(waited < 20_000, 'the nodes did not recover within 20 s of Redis returning');
      await sleep(250);
      recovered = await logIn(nodeB.baseUrl).catch(() => undefined);
    }
    assert.equal((await get(nodeA.baseUrl, '/services/profile', recovered)).status, 200);
    assert.equal((await get(nodeA.baseUrl, '/readyz')).status, 200);
    // Redis kept nothing on disk, so the old session is gone: a clean 401, not an error.
    assert.equal((await get(nodeA.baseUrl, '/services/profile', session)).status, 401);
    const metrics = await (await get(nodeA.baseUrl, '/services/system/metrics', recovered)).text();
    assert.ok(Number(/^damson_store_unavailable_total\{store="redis"\} (\d+)$/m.exec(metrics)?.[1]) >= 2, 'the outage shows in the metrics');
  });
});
