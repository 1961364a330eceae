import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

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
});
