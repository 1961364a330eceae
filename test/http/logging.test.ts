import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redactUrl } from '../../src/http/logging.js';
import { apiLogin, createUser, forEachDialect, login, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect, { DAMSON_LOG_LEVEL: 'trace' });
  });
  after(() => server.close());

  it('A9: passwords, cred, tokens, CSRF tokens and cookies never reach the log, even from the query string', async () => {
    const secretPassword = 'Sup3r-Secret-Passw0rd';
    const { username } = await createUser(server, { password: secretPassword });
    const cred = Buffer.from(`${username}:${secretPassword}`).toString('base64');
    await server.app.inject({ method: 'POST', url: `/services/login?username=${username}&password=${secretPassword}` });
    await server.app.inject({ method: 'POST', url: `/services/login?cred=${encodeURIComponent(cred)}` });
    await server.app.inject({ method: 'POST', url: `/services/login?username=${username}&password=wrong-${secretPassword}` });
    await server.app.inject({ method: 'GET', url: `/services/ping?authcred=${encodeURIComponent(cred)}` });
    // Names spelt a little off, as a lenient reader might still take them.
    await server.app.inject({ method: 'POST', url: `/services/login?username=${username}&password%5B%5D=${secretPassword}` });
    await server.app.inject({ method: 'GET', url: `/services/ping?authcred;=${encodeURIComponent(cred)}` });
    const session = await login(server, username, secretPassword);
    const token = await apiLogin(server, username, secretPassword);
    await server.app.inject({ method: 'POST', url: '/services/profile', headers: session.headers });
    await server.app.inject({ method: 'GET', url: '/services/profile', headers: { authorization: `Bearer ${token}` } });
    await server.app.inject({ method: 'POST', url: '/services/logout', headers: { ...session.cookieOnly, 'x-csrf-token': 'wrong' } });

    assert.ok(server.logs.filter((line) => line.includes('"request completed"')).length >= 11, 'every request was logged');
    const log = server.logs.join('\n');
    for (const secret of [secretPassword, cred, encodeURIComponent(cred), session.token, session.csrfToken, token]) {
      assert.ok(!log.includes(secret), `the log contains a secret (${secret.slice(0, 4)}…)`);
    }
    assert.ok(log.includes('/services/login?username='), 'URLs are logged, scrubbed');
  });
});

// Registered after the suites above: a suite registered before a top-level await can end the run before
// the awaited suites exist (with --test-force-exit they would silently never run).
describe('redactUrl', () => {
  it('hides the values of secret parameters whatever their case or encoding, and keeps the rest', () => {
    assert.equal(redactUrl('/services/login?username=bob&password=hunter2'), '/services/login?username=bob&password=[REDACTED]');
    assert.equal(redactUrl('/x?CRED=abc&authcred=def&authToken=ghi&p%61ssword=jkl&q=1'), '/x?CRED=[REDACTED]&authcred=[REDACTED]&authToken=[REDACTED]&p%61ssword=[REDACTED]&q=1');
    assert.equal(redactUrl('/services/ping'), '/services/ping');
    // Names spelt a little off, and path parameters, are secrets too; values holding `=` go whole.
    assert.equal(redactUrl('/services/login?username=admin&password%5B%5D=hunter2&password%00=hunter3'), '/services/login?username=admin&password%5B%5D=[REDACTED]&password%00=[REDACTED]');
    assert.equal(redactUrl('/x?authcred;=YWRtaW46cA==&q=a=b'), '/x?authcred;=[REDACTED]&q=a=b');
    assert.equal(redactUrl('/file/x;password=hunter2/y.jpg?_=1'), '/file/x;password=[REDACTED]/y.jpg?_=1');
    // A `;` in a query value is part of the value, as the query parser reads it: none of it may show.
    assert.equal(redactUrl('/services/login?password=hunter;2xyz&q=1'), '/services/login?password=[REDACTED]&q=1');
    assert.equal(redactUrl('/x?x-csrf-token=abc&api_key=def&description=passage'), '/x?x-csrf-token=[REDACTED]&api_key=[REDACTED]&description=passage');
  });
});
