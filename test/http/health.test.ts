import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import Fastify from 'fastify';
import { healthRoutes } from '../../src/http/routes/health.js';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

it('requests for /readyz that come during a check share it, and a later one checks again', async () => {
  let checks = 0;
  let store: 'up' | 'down' = 'up';
  const app = Fastify();
  healthRoutes(app, [{ name: 'database', check: () => new Promise((resolve, reject) => setTimeout(() => (++checks, store === 'up' ? resolve(true) : reject(new Error('down'))), 50)) }]);
  const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/readyz' })));
  assert.deepEqual([...new Set(answers.map((answer) => answer.statusCode))], [200]);
  assert.equal(checks, 1, 'twenty requests, one check of the store');
  store = 'down';
  const after = await app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(after.statusCode, 503, 'a request after the check ended sees the store as it is now');
  assert.equal(checks, 2);
  await app.close();
});

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect);
  });
  after(async () => {
    await server.close();
  });

  it('/healthz and /readyz answer without a login, and say only ok or unreachable', async () => {
    const alive = await server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(alive.statusCode, 200);
    assert.deepEqual(alive.json(), { status: 'alive' });
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready', checks: { database: 'ok' } });
    const post = await server.app.inject({ method: 'POST', url: '/readyz' });
    assert.equal(post.statusCode, 405);
  });

  it('a worker node answers health checks and nothing else; an api node serves the API', async () => {
    const worker = await startServer(dialect, { DAMSON_ROLE: 'worker' });
    try {
      assert.equal((await worker.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      for (const url of ['/services/login', '/services/profile', '/']) {
        assert.equal((await worker.app.inject({ method: 'GET', url })).statusCode, 404, url);
      }
    } finally {
      await worker.close();
    }
    const api = await startServer(dialect, { DAMSON_ROLE: 'api' });
    try {
      const { username } = await createUser(api);
      const session = await login(api, username, PASSWORD);
      assert.equal((await api.app.inject({ method: 'GET', url: '/services/profile', headers: session.cookieOnly })).statusCode, 200);
    } finally {
      await api.close();
    }
  });
  it('/services/system/metrics gives super users Prometheus text: requests by route, jobs, active sessions', async () => {
    const admin = await createUser(server, { admin: true });
    const plain = await createUser(server);
    const adminSession = await login(server, admin.username, PASSWORD);
    await server.app.inject({ method: 'GET', url: '/healthz' });
    await server.app.inject({ method: 'GET', url: '/services/no-such-service' });
    const response = await server.app.inject({ method: 'GET', url: '/services/system/metrics', headers: adminSession.cookieOnly });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const count = (pattern: RegExp) => Number(pattern.exec(response.body)?.[1] ?? Number.NaN);
    assert.ok(count(/^damson_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)$/m) >= 1);
    assert.ok(count(/^damson_http_requests_total\{method="GET",route="unmatched",status="404"\} (\d+)$/m) >= 1, 'unknown URLs share one series');
    assert.match(response.body, /^damson_http_request_duration_seconds_bucket\{le="0\.05",method="GET",route="\/healthz"\} \d+$/m);
    assert.equal(count(/^damson_jobs\{state="failed"\} (\d+)$/m), 0);
    assert.ok(count(/^damson_active_sessions (\d+)$/m) >= 1, 'the admin session counts');
    const plainSession = await login(server, plain.username, PASSWORD);
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/system/metrics', headers: plainSession.cookieOnly })).statusCode, 403);
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/system/metrics' })).statusCode, 401);
  });
});
