import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createUser, form, forEachDialect, MINUTE, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect, {
      DAMSON_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      DAMSON_LOGIN_MAX_FAILURES_PER_IP: '6',
      DAMSON_LOGIN_THROTTLE_WINDOW_MINUTES: '15',
      DAMSON_TRUST_PROXY: '127.0.0.1',
    });
  });
  after(() => server.close());

  const attempt = (username: string, password: string, clientIp: string) =>
    server.app.inject({
      method: 'POST',
      url: '/services/login',
      // Behind the trusted proxy at 127.0.0.1, X-Forwarded-For names the client.
      headers: { ...form({}).headers, 'x-forwarded-for': clientIp },
      payload: new URLSearchParams({ username, password }).toString(),
    });

  it('A6: failures for one account from many addresses lock that account, even for the right password, until the window ends', async () => {
    const { username } = await createUser(server);
    for (let i = 0; i < 3; i++) assert.equal((await attempt(username, 'wrong password', `203.0.113.${i}`)).json().loginSuccess, false);
    const locked = await attempt(username, PASSWORD, '198.51.100.7');
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.json().errorcode, 429);
    assert.match(locked.headers['content-type'] as string, /^application\/json/);
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${retryAfter}`);
    assert.equal(locked.headers['set-cookie'], undefined);

    server.clock.advance(15 * MINUTE + 1000);
    const after = await attempt(username, PASSWORD, '198.51.100.7');
    assert.equal(after.json().loginSuccess, true, 'the window has passed');
    // The success reset the account's counter: three new failures are needed to lock it again.
    for (let i = 0; i < 2; i++) await attempt(username, 'wrong password', `203.0.113.${50 + i}`);
    assert.equal((await attempt(username, PASSWORD, '198.51.100.8')).json().loginSuccess, true);
  });

  it('A6: unknown usernames are throttled exactly like known ones', async () => {
    const ghost = `ghost_${Date.now()}`;
    for (let i = 0; i < 3; i++) assert.equal((await attempt(ghost, 'whatever pw', `192.0.2.${i}`)).statusCode, 200);
    assert.equal((await attempt(ghost, 'whatever pw', '192.0.2.99')).statusCode, 429);
  });

  it('A7: password spraying from one address is limited across usernames, and a spoofed X-Forwarded-For from an untrusted client does not help', async () => {
    const sprayer = '233.252.0.1';
    for (let i = 0; i < 6; i++) assert.equal((await attempt(`spray${i}_${Date.now()}`, 'Summer2026!', sprayer)).statusCode, 200);
    assert.equal((await attempt(`spray_next_${Date.now()}`, 'Summer2026!', sprayer)).statusCode, 429);
    const victim = await createUser(server);
    assert.equal((await attempt(victim.username, PASSWORD, sprayer)).statusCode, 429, 'the address is blocked for every account');

    // A direct (untrusted) client cannot choose its address with X-Forwarded-For.
    const direct = await startServer(dialect, { DAMSON_LOGIN_MAX_FAILURES_PER_IP: '2' });
    try {
      const tries = [];
      for (let i = 0; i < 3; i++) {
        tries.push(
          await direct.app.inject({
            method: 'POST',
            url: '/services/login',
            remoteAddress: '198.18.0.1',
            headers: { ...form({}).headers, 'x-forwarded-for': `10.9.9.${i}` },
            payload: new URLSearchParams({ username: `someone${i}`, password: 'nope nope' }).toString(),
          }),
        );
      }
      assert.deepEqual(tries.map((response) => response.statusCode), [200, 200, 429]);
    } finally {
      await direct.close();
    }
  });
});
