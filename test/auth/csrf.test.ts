import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { secretMatchesHash, hashSecret } from '../../src/auth/tokens.js';
import { apiLogin, createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  let username: string;
  before(async () => {
    server = await startServer(dialect);
    ({ username } = await createUser(server));
  });
  after(() => server.close());

  const post = (url: string, headers: Record<string, string>) => server.app.inject({ method: 'POST', url, headers });
  const stillLoggedIn = async (headers: Record<string, string>) =>
    (await server.app.inject({ method: 'GET', url: '/services/ping', headers })).statusCode === 200;

  it('B12: a cookie-session POST without the token is 403 with the documented body, and changes nothing', async () => {
    const session = await login(server, username, PASSWORD);
    for (const url of ['/services/logout', '/services/profile', '/services/ping']) {
      const response = await post(url, session.cookieOnly);
      assert.equal(response.statusCode, 403, url);
      assert.deepEqual(response.json(), { errorcode: 403, message: 'Invalid or missing CSRF token' });
      assert.match(response.headers['content-type'] as string, /^application\/json/);
    }
    assert.ok(await stillLoggedIn(session.cookieOnly), 'the refused logout did not end the session');
  });

  it('B13: wrong tokens of every kind are 403, never 500', async () => {
    const session = await login(server, username, PASSWORD);
    const other = await login(server, (await createUser(server)).username, PASSWORD);
    const flipped = session.csrfToken.slice(0, -1) + (session.csrfToken.endsWith('A') ? 'B' : 'A');
    const previous = await login(server, username, PASSWORD);
    const current = await login(server, username, PASSWORD, previous.cookieOnly);
    const wrong = [flipped, other.csrfToken, '', 'x'.repeat(10_000), ' ', `${session.csrfToken} `];
    for (const token of wrong) {
      const response = await post('/services/profile', { ...session.cookieOnly, 'x-csrf-token': token });
      assert.equal(response.statusCode, 403, `token ${token.slice(0, 12)}…`);
    }
    const stale = await post('/services/profile', { ...current.cookieOnly, 'x-csrf-token': previous.csrfToken });
    assert.equal(stale.statusCode, 403, "the previous session's token after re-login");
    assert.equal((await post('/services/profile', current.headers)).statusCode, 200);
  });

  it('B15: the token is read from the X-CSRF-TOKEN header only (any case), never from the query string or a form field', async () => {
    const session = await login(server, username, PASSWORD);
    for (const name of ['X-CSRF-TOKEN', 'x-csrf-token', 'X-Csrf-Token']) {
      assert.equal((await post('/services/profile', { ...session.cookieOnly, [name]: session.csrfToken })).statusCode, 200, name);
    }
    for (const query of ['csrfToken', 'X-CSRF-TOKEN', '_csrf']) {
      const response = await post(`/services/profile?${query}=${session.csrfToken}`, session.cookieOnly);
      assert.equal(response.statusCode, 403, query);
    }
    const formField = await server.app.inject({
      method: 'POST',
      url: '/services/profile',
      headers: { ...session.cookieOnly, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${session.csrfToken}`,
    });
    assert.equal(formField.statusCode, 403);
  });

  it('B16: every method but GET, HEAD and OPTIONS needs the token; GET never changes state', async () => {
    const session = await login(server, username, PASSWORD);
    for (const method of ['PUT', 'PATCH', 'DELETE', 'PROPFIND', 'MKCOL', 'LOCK'] as const) {
      const without = await server.app.inject({ method, url: '/services/profile', headers: session.cookieOnly });
      assert.equal(without.statusCode, 403, `${method} without token`);
      const withToken = await server.app.inject({ method, url: '/services/profile', headers: session.headers });
      assert.equal(withToken.statusCode, 405, `${method} with token reaches the method check`);
      assert.equal(withToken.json().errorcode, 405);
    }
    for (const method of ['GET', 'HEAD'] as const) {
      assert.equal((await server.app.inject({ method, url: '/services/profile', headers: session.cookieOnly })).statusCode, 200, method);
    }
    assert.equal((await server.app.inject({ method: 'OPTIONS', url: '/services/profile', headers: session.cookieOnly })).statusCode, 405);
    // The one state change reachable by GET is /logout, which the contract defines; /services/logout is POST only.
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/logout', headers: session.cookieOnly })).statusCode, 405);
    assert.ok(await stillLoggedIn(session.cookieOnly));
  });

  it('B17: Bearer apilogin tokens need no CSRF token; a bad Bearer never falls back to the cookie', async () => {
    const apiToken = await apiLogin(server, username, PASSWORD);
    assert.equal((await post('/services/profile', { authorization: `Bearer ${apiToken}` })).statusCode, 200);

    const session = await login(server, username, PASSWORD);
    for (const authorization of ['Bearer not-a-token', 'Bearer ', 'Bearer', 'Bearer placeholder']) {
      const response = await post('/services/profile', { ...session.headers, authorization });
      assert.equal(response.statusCode, 401, authorization);
      assert.equal(response.json().errorcode, 401);
    }
    const otherUser = await createUser(server);
    const otherToken = await apiLogin(server, otherUser.username, PASSWORD);
    const both = await post('/services/profile', { ...session.cookieOnly, authorization: `Bearer ${otherToken}` });
    assert.equal(both.statusCode, 200);
    assert.equal(both.json().username, otherUser.username, 'authorised as the Bearer principal only');
  });

  it('B18: an apilogin token sent as the cookie needs no CSRF token; a login session sent as Bearer still does', async () => {
    const apiToken = await apiLogin(server, username, PASSWORD);
    assert.equal((await post('/services/profile', { cookie: `authToken=${apiToken}` })).statusCode, 200);
    const session = await login(server, username, PASSWORD);
    assert.equal((await post('/services/profile', { authorization: `Bearer ${session.token}` })).statusCode, 403);
    assert.equal((await post('/services/profile', { authorization: `Bearer ${session.token}`, 'x-csrf-token': session.csrfToken })).statusCode, 200);
    // But not across sites: a browser adds a cookie to another site's form post, never an Authorization header.
    const cookie = `authToken=${apiToken}`;
    for (const crossSite of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.example' }]) {
      const refused = await server.app.inject({ method: 'POST', url: '/services/createFolder?path=/CrossSite', headers: { cookie, ...crossSite } });
      assert.equal(refused.statusCode, 403, JSON.stringify(crossSite));
      assert.match(refused.json().message, /does not work across sites/);
      assert.equal((await server.app.inject({ method: 'POST', url: '/services/createFolder?path=/CrossSite', headers: { authorization: `Bearer ${apiToken}`, ...crossSite } })).statusCode, 200, 'the header is fine');
    }
    assert.equal((await server.app.inject({ method: 'POST', url: '/services/createFolder?path=/SameSite', headers: { cookie, 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' } })).statusCode, 200);
    assert.equal((await server.app.inject({ method: 'GET', url: '/services/profile', headers: { cookie, 'sec-fetch-site': 'cross-site' } })).statusCode, 200, 'reading is no change');
  });

  it('B19: logout removes the token and a new login replaces it', async () => {
    const first = await login(server, username, PASSWORD);
    assert.equal((await post('/services/logout', first.headers)).json().logoutSuccess, true);
    const second = await login(server, username, PASSWORD);
    assert.equal((await post('/services/profile', { ...second.cookieOnly, 'x-csrf-token': first.csrfToken })).statusCode, 403);
    assert.equal((await post('/services/profile', second.headers)).statusCode, 200);
  });

  it('B20: a multipart POST with a bad token is refused before its body is read', async () => {
    const session = await login(server, username, PASSWORD);
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.app.server.address() as { port: number };
    // Announce 50 MB, send only the first part: the 403 must arrive without the rest ever being sent.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk;
        if (received.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.write(
        'POST /services/profile HTTP/1.1\r\nHost: localhost\r\n' +
          `Cookie: authToken=${session.token}\r\nX-CSRF-TOKEN: wrong\r\n` +
          'Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 52428800\r\n\r\n' +
          '--b\r\nContent-Disposition: form-data; name="Filedata"; filename="big.bin"\r\n\r\n' +
          'x'.repeat(1000),
      );
    });
    assert.match(answer, /^HTTP\/1\.1 403/);
  });
});

// Registered after the suites above: a suite registered before a top-level await can end the run before
// the awaited suites exist (with --test-force-exit they would silently never run).
describe('B14: CSRF token comparison', () => {
  const token = 'Q-pExvZ8_f5RxEgktzSPRv1WM1Wj3S6DQXqZZgClqlg';
  const stored = hashSecret(token);
  it('matches only the exact token and never throws on odd input', () => {
    assert.equal(secretMatchesHash(token, stored), true);
    for (const presented of [undefined, null, 42, [token, token], [token], '', token.slice(1), `${token}x`, 'x'.repeat(10_000), { token }]) {
      assert.equal(secretMatchesHash(presented, stored), false, String(presented).slice(0, 20));
    }
    assert.equal(secretMatchesHash(token, null), false);
  });
});
