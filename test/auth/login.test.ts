import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { hashSecret } from '../../src/auth/tokens.js';
import { apiLogin, createUser, form, forEachDialect, login, PASSWORD, sessionCookieOf, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect, { DAMSON_CORS_ORIGINS: 'https://app.example' });
  });
  after(() => server.close());

  const profile = (headers: Record<string, string>) => server.app.inject({ method: 'GET', url: '/services/profile', headers });

  it('A1: a form login answers the Assets shape and sets a hardened session cookie', async () => {
    const { username } = await createUser(server);
    const response = await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD }) });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^application\/json/);
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = response.json();
    assert.deepEqual(Object.keys(body).sort(), ['csrfToken', 'loginSuccess', 'serverVersion']);
    assert.equal(body.loginSuccess, true);
    assert.match(body.serverVersion, /^\d+\.\d+\.\d+/);
    // 32 random bytes in base64url: 256 bits, well over the 128 required.
    assert.match(body.csrfToken, /^[A-Za-z0-9_-]{43}$/);

    const setCookie = String(response.headers['set-cookie']);
    assert.match(setCookie, /^authToken=[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Lax/);
    assert.match(setCookie, /; Path=\/(;|$)/);
    assert.doesNotMatch(setCookie, /Domain=/i);
    assert.doesNotMatch(setCookie, /Secure/i, 'plain HTTP must not get a Secure cookie it could not send back');

    const again = await login(server, username, PASSWORD);
    assert.notEqual(again.csrfToken, body.csrfToken, 'each login has its own CSRF token');
    assert.notEqual(again.token, sessionCookieOf(response));
  });

  it('accepts cred (base64 user:password), multipart bodies and parameters in the query string of a POST', async () => {
    const { username } = await createUser(server);
    const cred = Buffer.from(`${username}:${PASSWORD}`).toString('base64');
    const viaCred = await server.app.inject({ method: 'POST', url: '/services/login', ...form({ cred }) });
    assert.equal(viaCred.json().loginSuccess, true);

    const viaQuery = await server.app.inject({
      method: 'POST',
      url: `/services/login?${new URLSearchParams({ username, password: PASSWORD })}`,
    });
    assert.equal(viaQuery.json().loginSuccess, true);

    const boundary = '----damson';
    const multipart = [`username`, username, `password`, PASSWORD]
      .reduce<string[]>((parts, _value, index, all) => {
        if (index % 2 === 0) parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${all[index]}"\r\n\r\n${all[index + 1]}\r\n`);
        return parts;
      }, [])
      .join('')
      .concat(`--${boundary}--\r\n`);
    const viaMultipart = await server.app.inject({
      method: 'POST',
      url: '/services/login',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart,
    });
    assert.equal(viaMultipart.json().loginSuccess, true);
    assert.ok(sessionCookieOf(viaMultipart));
  });

  it('returns userProfile and userPreferences only when asked, with booleans as true/1/yes/on', async () => {
    const { username } = await createUser(server, { email: 'someone@example.com' });
    for (const yes of ['true', '1', 'yes', 'ON']) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/services/login',
        ...form({ username, password: PASSWORD, returnProfile: yes, returnPreferences: yes }),
      });
      const body = response.json();
      assert.equal(body.userProfile.username, username);
      assert.equal(body.userProfile.email, 'someone@example.com');
      assert.deepEqual(body.userProfile.authorities, ['ROLE_USER']);
      assert.deepEqual(body.userPreferences, {});
    }
    for (const no of ['false', '0', '']) {
      const body = (await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: PASSWORD, returnProfile: no }) })).json();
      assert.equal(body.userProfile, undefined);
    }
  });

  it('A2: a planted valid session id is replaced at login and then refused', async () => {
    const attacker = await createUser(server);
    const victim = await createUser(server);
    const planted = await login(server, attacker.username, PASSWORD);
    const response = await server.app.inject({
      method: 'POST',
      url: '/services/login',
      headers: { ...form({}).headers, cookie: `authToken=${planted.token}` },
      payload: new URLSearchParams({ username: victim.username, password: PASSWORD }).toString(),
    });
    const fresh = sessionCookieOf(response);
    assert.ok(fresh);
    assert.notEqual(fresh, planted.token);
    assert.equal((await profile(planted.cookieOnly)).statusCode, 401);
    assert.equal((await profile({ cookie: `authToken=${fresh}` })).json().username, victim.username);
  });

  it('A3: a never-issued id is no session, and is never stored', async () => {
    const { username } = await createUser(server);
    const invented = 'A'.repeat(43);
    const anonymous = await profile({ cookie: `authToken=${invented}` });
    assert.equal(anonymous.statusCode, 401);
    assert.deepEqual(anonymous.json(), { errorcode: 401, message: 'Not logged in' });
    assert.equal(anonymous.headers['set-cookie'], undefined);

    const response = await server.app.inject({
      method: 'POST',
      url: '/services/login',
      headers: { ...form({}).headers, cookie: `authToken=${invented}` },
      payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
    });
    assert.notEqual(sessionCookieOf(response), invented);
    const stored = await server.app.damson.database.db.selectFrom('auth_tokens').select('token_hash').where('token_hash', '=', hashSecret(invented)).execute();
    assert.equal(stored.length, 0);
  });

  it('A4: logging in as B in A\'s browser rejects A\'s old id and old CSRF token', async () => {
    const a = await createUser(server);
    const b = await createUser(server);
    const sessionA = await login(server, a.username, PASSWORD);
    const sessionB = await login(server, b.username, PASSWORD, sessionA.cookieOnly);
    assert.notEqual(sessionB.token, sessionA.token);
    assert.notEqual(sessionB.csrfToken, sessionA.csrfToken);
    assert.equal((await profile(sessionA.cookieOnly)).statusCode, 401);
    const oldCsrf = await server.app.inject({
      method: 'POST',
      url: '/services/profile',
      headers: { cookie: `authToken=${sessionB.token}`, 'x-csrf-token': sessionA.csrfToken },
    });
    assert.equal(oldCsrf.statusCode, 403);
    assert.equal((await server.app.inject({ method: 'POST', url: '/services/profile', headers: sessionB.headers })).json().username, b.username);
  });

  it('A5: unknown user, wrong password and disabled account fail identically, in comparable time', async () => {
    const known = await createUser(server);
    const disabled = await createUser(server);
    await server.app.damson.users.setEnabled(disabled.username, false);
    const attempts = {
      unknown: { username: `nobody_${Date.now()}`, password: PASSWORD },
      wrongPassword: { username: known.username, password: 'not the password' },
      disabled: { username: disabled.username, password: PASSWORD },
    };
    const responses = await Promise.all(
      Object.values(attempts).map((credentials) => server.app.inject({ method: 'POST', url: '/services/login', ...form(credentials) })),
    );
    const comparable = responses.map((response) => {
      const { date: _date, ...headers } = response.headers;
      return { status: response.statusCode, body: response.body, headers };
    });
    assert.equal(comparable[0]!.status, 200);
    assert.deepEqual(JSON.parse(comparable[0]!.body), { loginSuccess: false, loginFaultMessage: 'Invalid username or password' });
    assert.deepEqual(comparable[1], comparable[0]);
    assert.deepEqual(comparable[2], comparable[0]);

    // Timing: every kind of failure does one argon2 verification. Medians over 50 interleaved samples differ
    // by a few percent; an unknown user answered without hashing would be about a hundred times faster.
    const timings: Record<string, number[]> = { unknown: [], wrongPassword: [], disabled: [] };
    const lenient = await startServer(dialect, { DAMSON_LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', DAMSON_LOGIN_MAX_FAILURES_PER_IP: '100000' });
    try {
      const k = await createUser(lenient);
      const d = await createUser(lenient);
      await lenient.app.damson.users.setEnabled(d.username, false);
      const samples = { unknown: attempts.unknown, wrongPassword: { ...attempts.wrongPassword, username: k.username }, disabled: { ...attempts.disabled, username: d.username } };
      for (let round = 0; round < 50; round++) {
        for (const [kind, credentials] of Object.entries(samples)) {
          const started = process.hrtime.bigint();
          const response = await lenient.app.inject({ method: 'POST', url: '/services/login', remoteAddress: `10.0.${round}.1`, ...form(credentials) });
          timings[kind]!.push(Number(process.hrtime.bigint() - started) / 1e6);
          assert.equal(response.json().loginSuccess, false);
        }
      }
    } finally {
      await lenient.close();
    }
    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const medians = Object.values(timings).map(median);
    const ratio = Math.max(...medians) / Math.min(...medians);
    assert.ok(ratio < 2, `login failure medians should be comparable, got ${medians.map((m) => m.toFixed(1)).join(' / ')} ms`);
  });

  it('A8: hostile credentials fail fast and generically, never with a 500', async () => {
    const { username } = await createUser(server);
    const hostile: Array<Record<string, string>> = [
      { username, password: 'x'.repeat(1025) },
      { username, password: 'pass\0word' },
      { username: 'ad\0min', password: PASSWORD },
      { username: 'u'.repeat(10_000), password: PASSWORD },
      { cred: '!!!not base64!!!' },
      { cred: Buffer.from('no-colon-here').toString('base64') },
      { cred: Buffer.from([0xff, 0xfe, 0x3a, 0xc0, 0xaf]).toString('base64') },
      { username: '', password: '' },
    ];
    for (const credentials of hostile) {
      const response = await server.app.inject({ method: 'POST', url: '/services/login', ...form(credentials) });
      assert.equal(response.statusCode, 200, JSON.stringify(credentials).slice(0, 80));
      assert.equal(response.json().loginSuccess, false);
      assert.equal(response.headers['set-cookie'], undefined);
    }
    // Invalid UTF-8 in a percent-encoded body.
    const invalidUtf8 = await server.app.inject({
      method: 'POST',
      url: '/services/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${username}&password=%FF%FE%C0%AF`,
    });
    assert.equal(invalidUtf8.json().loginSuccess, false);
    // A body over the service limit is refused before it is parsed.
    const huge = await server.app.inject({ method: 'POST', url: '/services/login', ...form({ username, password: 'p'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().errorcode, 413);
  });

  it('A10: a cross-site login gets 403 and no session; API clients without Origin are unaffected', async () => {
    const { username } = await createUser(server);
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }]) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/services/login',
        headers: { ...form({}).headers, ...headers },
        payload: new URLSearchParams({ username, password: PASSWORD }).toString(),
      });
      assert.equal(response.statusCode, 403, JSON.stringify(headers));
      assert.equal(response.json().errorcode, 403);
      assert.equal(response.headers['set-cookie'], undefined);
    }
    const allowed: Array<Record<string, string>> = [{}, { origin: 'http://localhost:80' }, { origin: 'https://app.example' }, { 'sec-fetch-site': 'same-origin' }];
    for (const headers of allowed) {
      await login(server, username, PASSWORD, headers);
    }
  });

  it('A11: hashes are argon2id with explicit parameters; weaker argon2 and bcrypt hashes are upgraded at login', async () => {
    const db = server.app.damson.database.db;
    const { username, id } = await createUser(server);
    const stored = await db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
    assert.match(stored.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    for (const legacyHash of [await hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1 }), await bcrypt.hash(PASSWORD, 4)]) {
      await db.updateTable('users').set({ password_hash: legacyHash }).where('id', '=', id).execute();
      await login(server, username, PASSWORD);
      const upgraded = await db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow();
      assert.match(upgraded.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      await login(server, username, PASSWORD);
    }
  });

  it('usernames are case-insensitive', async () => {
    const { username } = await createUser(server, { username: `MixedCase${Date.now()}` });
    await login(server, username.toLowerCase(), PASSWORD);
    await login(server, username.toUpperCase(), PASSWORD);
  });

  it('apilogin returns a token and no cookie; the token works as Bearer (leniently parsed) and as a cookie', async () => {
    const { username } = await createUser(server);
    const response = await server.app.inject({ method: 'POST', url: '/services/apilogin', ...form({ username, password: PASSWORD, clientId: 'c0ffee' }) });
    const body = response.json();
    assert.equal(body.loginSuccess, true);
    assert.match(body.serverVersion, /^\d+\./);
    assert.match(body.authToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(response.headers['set-cookie'], undefined);
    for (const authorization of [`Bearer ${body.authToken}`, `bearer ${body.authToken}`, `Bearer${body.authToken}`, `BEARER   ${body.authToken}`]) {
      assert.equal((await profile({ authorization })).json().username, username, authorization.slice(0, 10));
    }
    assert.equal((await profile({ cookie: `authToken=${body.authToken}` })).json().username, username);

    const failed = await server.app.inject({ method: 'POST', url: '/services/apilogin', ...form({ username, password: 'wrong password' }) });
    assert.deepEqual(failed.json(), { loginSuccess: false, loginFaultMessage: 'Invalid username or password' });
  });

  it('ignores an Authorization header on the login services', async () => {
    const { username } = await createUser(server);
    await login(server, username, PASSWORD, { authorization: 'Bearer garbage' });
    const token = await apiLogin(server, username, PASSWORD);
    assert.ok(token);
  });

  it('login is POST only', async () => {
    const response = await server.app.inject({ method: 'GET', url: `/services/login?username=x&password=y` });
    assert.equal(response.statusCode, 405);
    assert.equal(response.headers.allow, 'POST');
    assert.equal(response.json().errorcode, 405);
  });
});
