import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createUser, form, forEachDialect, login, PASSWORD, sessionCookieOf, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect, { DAMSON_CORS_ORIGINS: 'https://trusted.example', DAMSON_TRUST_PROXY: '127.0.0.1' });
  });
  after(() => server.close());

  const preflight = (origin: string) =>
    server.app.inject({
      method: 'OPTIONS',
      url: '/services/search',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf-token' },
    });

  it('E38: a preflight from an allow-listed origin is answered with that exact origin and credentials', async () => {
    const response = await preflight('https://trusted.example');
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['access-control-allow-origin'], 'https://trusted.example');
    assert.equal(response.headers['access-control-allow-credentials'], 'true');
    assert.match(String(response.headers.vary), /Origin/);
    const allowedHeaders = String(response.headers['access-control-allow-headers']).toLowerCase();
    assert.ok(allowedHeaders.includes('x-csrf-token') && allowedHeaders.includes('authorization'));

    const { username } = await createUser(server);
    const session = await login(server, username, PASSWORD, { origin: 'https://trusted.example' });
    const actual = await server.app.inject({ method: 'GET', url: '/services/profile', headers: { ...session.cookieOnly, origin: 'https://trusted.example' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://trusted.example');
    assert.equal(actual.headers['access-control-allow-credentials'], 'true');
  });

  it('E38: other origins get no CORS grant, and never a wildcard', async () => {
    for (const origin of ['null', 'https://evil.example', 'https://trusted.example.evil.example', 'https://eviltrusted.example', 'http://trusted.example', 'https://TRUSTED.example.']) {
      const response = await preflight(origin);
      assert.equal(response.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(response.headers['access-control-allow-credentials'], undefined, origin);
      const simple = await server.app.inject({ method: 'GET', url: '/services/ping', headers: { origin } });
      assert.equal(simple.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  it('E39: responses carry nosniff, framing protection and JSON error types; HSTS only over HTTPS', async () => {
    const plain = await server.app.inject({ method: 'GET', url: '/services/profile' });
    assert.equal(plain.headers['x-content-type-options'], 'nosniff');
    assert.equal(plain.headers['x-frame-options'], 'DENY');
    assert.match(String(plain.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(String(plain.headers['content-type']), /^application\/json/);
    assert.equal(plain.headers['strict-transport-security'], undefined);
    const secure = await server.app.inject({ method: 'GET', url: '/services/profile', headers: { 'x-forwarded-proto': 'https' } });
    const hsts = /max-age=(\d+)/.exec(String(secure.headers['strict-transport-security']));
    assert.ok(hsts && Number(hsts[1]) >= 31_536_000);
  });

  it('E40: behind the trusted proxy a login over HTTPS gets a Secure cookie; over plain HTTP it does not', async () => {
    const { username } = await createUser(server);
    const overHttps = await server.app.inject({
      method: 'POST',
      url: '/services/login',
      headers: { ...form({}).headers, 'x-forwarded-proto': 'https' },
      payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
    });
    assert.ok(sessionCookieOf(overHttps));
    assert.match(String(overHttps.headers['set-cookie']), /; Secure/);
    const overHttp = await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD }) });
    assert.doesNotMatch(String(overHttp.headers['set-cookie']), /Secure/);
  });
});

await forEachDialect((dialect) => {
  it('E40: without a trusted proxy, X-Forwarded-Proto is ignored; with an https public URL cookies are always Secure', async () => {
    const direct = await startServer(dialect);
    try {
      const { username } = await createUser(direct);
      const spoofed = await direct.app.inject({
        method: 'POST',
        url: '/services/login',
        headers: { ...form({}).headers, 'x-forwarded-proto': 'https' },
        payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
      });
      assert.doesNotMatch(String(spoofed.headers['set-cookie']), /Secure/);
      assert.equal(spoofed.headers['strict-transport-security'], undefined);
    } finally {
      await direct.close();
    }
    const public_ = await startServer(dialect, { DAMSON_PUBLIC_URL: 'https://dam.example.com' });
    try {
      const { username } = await createUser(public_);
      const response = await public_.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD }) });
      assert.match(String(response.headers['set-cookie']), /; Secure/);
      const sameSite = await public_.app.inject({
        method: 'POST',
        url: '/services/login',
        headers: { ...form({}).headers, origin: 'https://dam.example.com' },
        payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
      });
      assert.equal(sameSite.json().loginSuccess, true, 'the public origin counts as this server');
    } finally {
      await public_.close();
    }
  });
});
