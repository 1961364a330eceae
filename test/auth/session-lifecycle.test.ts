import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashSecret } from '../../src/auth/tokens.js';
import { apiLogin, createUser, forEachDialect, HOUR, login, MINUTE, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  let username: string;
  before(async () => {
    server = await startServer(dialect, { DAMSON_SESSION_IDLE_MINUTES: '30', DAMSON_SESSION_MAX_HOURS: '12' });
    ({ username } = await createUser(server));
  });
  after(() => server.close());

  const ping = (headers: Record<string, string>) => server.app.inject({ method: 'GET', url: '/services/ping', headers });
  const storedRows = (token: string) =>
    server.app.damson.database.db.selectFrom('auth_tokens').selectAll().where('token_hash', '=', hashSecret(token)).execute();

  it('D30: an idle session ends after the idle limit; activity keeps it alive', async () => {
    const idle = await login(server, username, PASSWORD);
    const active = await login(server, username, PASSWORD);
    server.clock.advance(20 * MINUTE);
    assert.equal((await ping(active.cookieOnly)).statusCode, 200);
    server.clock.advance(20 * MINUTE);
    assert.equal((await ping(idle.cookieOnly)).statusCode, 401, '40 idle minutes');
    assert.equal((await ping(active.cookieOnly)).statusCode, 200, 'active 20 minutes ago');
  });

  it('D30: continuous activity still ends at the absolute limit, for sessions and API tokens alike', async () => {
    const session = await login(server, username, PASSWORD);
    const apiToken = await apiLogin(server, username, PASSWORD);
    for (let elapsed = 0; elapsed < 12 * HOUR - 20 * MINUTE; elapsed += 20 * MINUTE) {
      server.clock.advance(20 * MINUTE);
      assert.equal((await ping(session.cookieOnly)).statusCode, 200);
      assert.equal((await ping({ authorization: `Bearer ${apiToken}` })).statusCode, 200);
    }
    server.clock.advance(21 * MINUTE);
    assert.equal((await ping(session.cookieOnly)).statusCode, 401);
    assert.equal((await ping({ authorization: `Bearer ${apiToken}` })).statusCode, 401);
  });

  it('D31: an expired entry gives 401, no cookie, and is not recreated', async () => {
    const session = await login(server, username, PASSWORD);
    server.clock.advance(31 * MINUTE);
    const response = await ping(session.cookieOnly);
    assert.equal(response.statusCode, 401);
    assert.deepEqual(response.json(), { errorcode: 401, message: 'Not logged in' });
    assert.equal(response.headers['set-cookie'], undefined);
    assert.equal((await storedRows(session.token)).length, 0);
    assert.equal((await ping(session.cookieOnly)).statusCode, 401);
    assert.equal((await storedRows(session.token)).length, 0);
  });

  it('D32: a request in flight during logout cannot bring the session back (100 rounds)', async () => {
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.app.server.address() as { port: number };
    for (let round = 0; round < 100; round++) {
      const session = await login(server, username, PASSWORD);
      // Far enough on that R records activity, the write that must not outlive the logout.
      server.clock.advance(2 * MINUTE);
      // R: authenticated at once, then its body trickles in, so it is still running while logout happens.
      const slow = new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/services/profile',
            headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '8' },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode!));
          },
        );
        request.on('error', reject);
        request.write('uid=');
        setTimeout(() => request.end('1234'), 10);
      });
      await sleep(2);
      const logout = await server.app.inject({ method: 'POST', url: '/services/logout', headers: session.headers });
      assert.equal(logout.json().logoutSuccess, true);
      await slow;
      assert.equal((await storedRows(session.token)).length, 0, `round ${round}: the session row came back`);
      assert.equal((await ping(session.cookieOnly)).statusCode, 401, `round ${round}`);
    }
  });

  it('D35: tokens are 256-bit, only their hashes are stored, and they are accepted from the cookie or Bearer header only', async () => {
    const session = await login(server, username, PASSWORD);
    assert.equal(Buffer.from(session.token, 'base64url').length, 32);
    const [row] = await storedRows(session.token);
    assert.ok(row);
    assert.equal(row.token_hash, hashSecret(session.token));
    assert.notEqual(row.csrf_hash, session.csrfToken);
    const everything = JSON.stringify(await server.app.damson.database.db.selectFrom('auth_tokens').selectAll().execute());
    assert.ok(!everything.includes(session.token) && !everything.includes(session.csrfToken), 'no raw secret in the store');

    for (const headers of [{ cookie: `authToken=${session.token.slice(0, -1)}` }, { cookie: `authToken=${session.token}x` }, { cookie: 'authToken=' }]) {
      assert.equal((await ping(headers)).statusCode, 401, headers.cookie.slice(0, 20));
    }
    assert.equal((await server.app.inject({ method: 'GET', url: `/services/ping?authToken=${session.token}` })).statusCode, 401);
    assert.equal((await server.app.inject({ method: 'GET', url: `/services/ping;jsessionid=${session.token}` })).statusCode, 401);
    assert.equal((await ping(session.cookieOnly)).statusCode, 200);
  });

  it('D36: forged, oversized and garbage Bearer tokens are 401 quickly', async () => {
    const forged = [
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.',
      'eyJhbGciOiJIUzUxMiIsInppcCI6IkRFRiJ9.eNp8U9luozAU.aaaa',
      'x'.repeat(8000),
      '\u0000\u0001',
      hashSecret('anything'),
    ];
    for (const token of forged) {
      const response = await server.app.inject({ method: 'GET', url: '/services/profile', headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 401);
    }
  });

  it('D36: disabling a user or changing the password ends their sessions and API tokens at once', async () => {
    const victim = await createUser(server);
    const sessions = [await login(server, victim.username, PASSWORD), await login(server, victim.username, PASSWORD)];
    const apiToken = await apiLogin(server, victim.username, PASSWORD);
    await server.app.damson.users.changePassword(victim.username, 'a brand new password');
    for (const session of sessions) assert.equal((await ping(session.cookieOnly)).statusCode, 401);
    assert.equal((await ping({ authorization: `Bearer ${apiToken}` })).statusCode, 401);

    const session = await login(server, victim.username, 'a brand new password');
    const token = await apiLogin(server, victim.username, 'a brand new password');
    await server.app.damson.users.setEnabled(victim.username, false);
    assert.equal((await ping(session.cookieOnly)).statusCode, 401);
    assert.equal((await ping({ authorization: `Bearer ${token}` })).statusCode, 401);
    assert.equal((await server.app.inject({ method: 'POST', url: '/services/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=${victim.username}&password=a+brand+new+password` })).json().loginSuccess, false);
    await server.app.damson.users.setEnabled(victim.username, true);
    await login(server, victim.username, 'a brand new password');
  });

  it('expired sessions and throttle windows are swept from the store', async () => {
    const session = await login(server, username, PASSWORD);
    server.clock.advance(13 * HOUR);
    await server.app.damson.auth.sweepExpired();
    assert.equal((await storedRows(session.token)).length, 0);
  });
  it('D37: with DAMSON_MAX_SESSIONS_PER_USER a new login ends the least recently used session; API tokens do not count', async () => {
    const limited = await startServer(dialect, { DAMSON_MAX_SESSIONS_PER_USER: '2' });
    try {
      const { username: name } = await createUser(limited);
      const get = (headers: Record<string, string>) => limited.app.inject({ method: 'GET', url: '/services/ping', headers });
      const token = await apiLogin(limited, name, PASSWORD);
      const first = await login(limited, name, PASSWORD);
      limited.clock.advance(2 * MINUTE);
      const second = await login(limited, name, PASSWORD);
      limited.clock.advance(2 * MINUTE);
      assert.equal((await get(first.cookieOnly)).statusCode, 200, 'first is now the most recently used');
      limited.clock.advance(2 * MINUTE);
      const third = await login(limited, name, PASSWORD);
      assert.equal((await get(second.cookieOnly)).statusCode, 401, 'the least recently used session ended');
      assert.equal((await get(first.cookieOnly)).statusCode, 200);
      assert.equal((await get(third.cookieOnly)).statusCode, 200);
      assert.equal((await get({ authorization: `Bearer ${token}` })).statusCode, 200, 'the API token is not a login session');
    } finally {
      await limited.close();
    }
  });
});
