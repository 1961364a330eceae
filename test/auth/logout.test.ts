import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { hashSecret } from '../../src/auth/tokens.js';
import { apiLogin, createUser, form, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  let username: string;
  before(async () => {
    server = await startServer(dialect, { DAMSON_LOGOUT_REDIRECT_ALLOWLIST: 'https://trusted.example' });
    ({ username } = await createUser(server));
  });
  after(() => server.close());

  const storedTokens = (token: string) =>
    server.app.damson.database.db.selectFrom('auth_tokens').select('token_hash').where('token_hash', '=', hashSecret(token)).execute();

  it('C21: AJAX logout ends the session server-side, expires the cookie with the same attributes, and the old cookie gets 401', async () => {
    const session = await login(server, username, PASSWORD);
    assert.equal((await storedTokens(session.token)).length, 1);
    const response = await server.app.inject({ method: 'POST', url: '/services/logout', headers: session.headers });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { logoutSuccess: true });
    assert.equal(response.headers['cache-control'], 'no-store');
    const cleared = String(response.headers['set-cookie']);
    assert.match(cleared, /^authToken=;/);
    assert.match(cleared, /Expires=Thu, 01 Jan 1970/);
    assert.match(cleared, /; Path=\/(;|$)/);
    assert.match(cleared, /; HttpOnly/);
    assert.doesNotMatch(cleared, /Domain=/i);
    assert.equal((await storedTokens(session.token)).length, 0);
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/profile', headers: session.cookieOnly })).statusCode, 401);
    assert.equal((await server.app.inject({ method: 'POST', url: '/services/profile', headers: session.headers })).statusCode, 401);
  });

  it('C22: logout without a valid CSRF token is 403 and the session stays valid', async () => {
    const session = await login(server, username, PASSWORD);
    for (const token of [undefined, 'wrong']) {
      const headers = token ? { ...session.cookieOnly, 'x-csrf-token': token } : session.cookieOnly;
      assert.equal((await server.app.inject({ method: 'POST', url: '/services/logout', headers })).statusCode, 403);
    }
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/ping', headers: session.cookieOnly })).statusCode, 200);
  });

  it('C23: GET /services/logout is 405 and does not log out', async () => {
    const session = await login(server, username, PASSWORD);
    const response = await server.app.inject({ method: 'GET', url: '/services/logout', headers: session.cookieOnly });
    assert.equal(response.statusCode, 405);
    assert.equal(response.json().errorcode, 405);
    assert.equal(response.headers.allow, 'POST');
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/ping', headers: session.cookieOnly })).statusCode, 200);
  });

  it('logout without any session is idempotent; with a Bearer token it revokes that token', async () => {
    assert.deepEqual((await server.app.inject({ method: 'POST', url: '/services/logout' })).json(), { logoutSuccess: true });
    assert.deepEqual((await server.app.inject({ method: 'POST', url: '/services/logout', headers: { cookie: 'authToken=gone' } })).json(), {
      logoutSuccess: true,
    });
    const token = await apiLogin(server, username, PASSWORD);
    const authorization = `Bearer ${token}`;
    const response = await server.app.inject({ method: 'POST', url: '/services/logout', headers: { authorization } });
    assert.deepEqual(response.json(), { logoutSuccess: true });
    assert.equal(response.headers['set-cookie'], undefined, 'a Bearer logout has no cookie to clear');
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/ping', headers: { authorization } })).statusCode, 401);
    // Two logouts of the same session both succeed.
    const session = await login(server, username, PASSWORD);
    const both = await Promise.all([1, 2].map(() => server.app.inject({ method: 'POST', url: '/services/logout', headers: session.headers })));
    for (const one of both) {
      assert.equal(one.statusCode, 200);
      assert.deepEqual(one.json(), { logoutSuccess: true });
    }
  });

  it('C24: GET and POST /logout end the session and answer 302 to a valid logoutSuccessUrl, else to the landing page', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const session = await login(server, username, PASSWORD);
      const response = await server.app.inject({
        method,
        url: `/logout?logoutSuccessUrl=${encodeURIComponent('https://trusted.example/bye?x=1')}`,
        headers: session.cookieOnly,
      });
      assert.equal(response.statusCode, 302, method);
      assert.equal(response.headers.location, 'https://trusted.example/bye?x=1');
      assert.match(String(response.headers['set-cookie']), /^authToken=;.*Expires=Thu, 01 Jan 1970/);
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal((await server.app.inject({ method: 'GET', url: '/services/ping', headers: session.cookieOnly })).statusCode, 401);
    }
    const withoutSession = await server.app.inject({ method: 'GET', url: '/logout' });
    assert.equal(withoutSession.statusCode, 302);
    assert.equal(withoutSession.headers.location, '/');
    const relative = await server.app.inject({ method: 'GET', url: `/logout?logoutSuccessUrl=${encodeURIComponent('/some/path?x=1')}` });
    assert.equal(relative.headers.location, '/some/path?x=1');
    const viaForm = await server.app.inject({ method: 'POST', url: '/logout', ...form({ logoutSuccessUrl: 'https://trusted.example/home' }) });
    assert.equal(viaForm.headers.location, 'https://trusted.example/home');
  });

  it('C28: a cross-site GET /logout can only log out: no redirect off the allow-list, nothing else changes', async () => {
    const session = await login(server, username, PASSWORD);
    const response = await server.app.inject({
      method: 'GET',
      url: `/logout?logoutSuccessUrl=${encodeURIComponent('https://evil.example/phish')}`,
      headers: { ...session.cookieOnly, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    });
    assert.equal(response.statusCode, 302);
    assert.equal(response.headers.location, '/');
    const users = await server.app.damson.users.list();
    assert.ok(users.every((user) => user.enabled));
  });

  it('C29: login and logout responses are not cached, and no Clear-Site-Data is sent over HTTP', async () => {
    const session = await login(server, username, PASSWORD);
    const responses = [
      await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD }) }),
      await server.app.inject({ method: 'POST', url: '/services/apilogin', ...form({ username, password: PASSWORD }) }),
      await server.app.inject({ method: 'POST', url: '/services/logout', headers: session.headers }),
      await server.app.inject({ method: 'GET', url: '/logout' }),
    ];
    for (const response of responses) {
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal(response.headers['clear-site-data'], undefined);
    }
  });
});

await forEachDialect((dialect) => {
  it('honours DAMSON_BASE_PATH in routes, the cookie path, the landing page and redirects, and DAMSON_LANDING_PAGE', async () => {
    const server = await startServer(dialect, { DAMSON_BASE_PATH: '/tenants/edu' });
    try {
      const { username } = await createUser(server);
      assert.equal((await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD }) })).statusCode, 404);
      const response = await server.app.inject({ method: 'POST', url: '/tenants/edu/services/login', ...form({ username, password: PASSWORD }) });
      assert.equal(response.json().loginSuccess, true);
      const cookie = String(response.headers['set-cookie']);
      assert.match(cookie, /; Path=\/tenants\/edu\/(;|$)/);
      const token = /^authToken=([^;]+)/.exec(cookie)![1];
      const { csrfToken } = response.json();
      const ping = await server.app.inject({ method: 'GET', url: '/tenants/edu/services/ping', headers: { cookie: `authToken=${token}` } });
      assert.equal(ping.statusCode, 200);
      const logout = await server.app.inject({ method: 'POST', url: '/tenants/edu/services/logout', headers: { cookie: `authToken=${token}`, 'x-csrf-token': csrfToken } });
      assert.match(String(logout.headers['set-cookie']), /; Path=\/tenants\/edu\/(;|$)/);
      const redirect = await server.app.inject({ method: 'GET', url: '/tenants/edu/logout' });
      assert.equal(redirect.headers.location, '/tenants/edu/');
      assert.equal((await server.app.inject({ method: 'GET', url: '/tenants/edu/' })).statusCode, 200);
    } finally {
      await server.close();
    }
    const landing = await startServer(dialect, { DAMSON_LANDING_PAGE: 'https://intranet.example/dam' });
    try {
      assert.equal((await landing.app.inject({ method: 'GET', url: '/logout' })).headers.location, 'https://intranet.example/dam');
    } finally {
      await landing.close();
    }
  });
});
