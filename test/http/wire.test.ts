import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

await forEachDialect((dialect) => {
  let server: TestServer;
  let username: string;
  before(async () => {
    server = await startServer(dialect);
    ({ username } = await createUser(server));
  });
  after(() => server.close());

  const isJsonError = (response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number) => {
    assert.equal(response.statusCode, status);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const body = response.json() as { errorcode: number; message: string };
    assert.equal(body.errorcode, status);
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length > 0);
  };

  it('every protected route answers 401 JSON without a login, on GET and POST', async () => {
    for (const [method, url] of [['GET', '/services/ping'], ['POST', '/services/ping'], ['GET', '/services/profile'], ['POST', '/services/profile']] as const) {
      isJsonError(await server.app.inject({ method, url }), 401);
    }
  });

  it('unknown routes are 404 JSON, wrong methods 405 JSON with Allow', async () => {
    isJsonError(await server.app.inject({ method: 'GET', url: '/services/nope' }), 404);
    isJsonError(await server.app.inject({ method: 'POST', url: '/nothing/here' }), 404);
    const session = await login(server, username, PASSWORD);
    const wrong = await server.app.inject({ method: 'DELETE', url: '/services/ping', headers: session.headers });
    isJsonError(wrong, 405);
    assert.equal(wrong.headers.allow, 'GET, POST, HEAD');
  });

  it('tolerates and ignores a ;jsessionid= path parameter on every route', async () => {
    const session = await login(server, username, PASSWORD);
    const ping = await server.app.inject({ method: 'GET', url: '/services/ping;jsessionid=ABC123?uid=1', headers: session.cookieOnly });
    assert.equal(ping.statusCode, 200);
    assert.deepEqual(ping.json(), {});
    const loginWithSuffix = await server.app.inject({
      method: 'POST',
      url: `/services/login;JSESSIONID=xyz?username=${username}&password=${encodeURIComponent(PASSWORD)}`,
    });
    assert.equal(loginWithSuffix.json().loginSuccess, true);
  });

  it('successes always carry a JSON body', async () => {
    const session = await login(server, username, PASSWORD);
    const ping = await server.app.inject({ method: 'POST', url: '/services/ping', headers: session.headers });
    assert.equal(ping.statusCode, 200);
    assert.match(String(ping.headers['content-type']), /^application\/json/);
    assert.deepEqual(ping.json(), {});
  });

  it('profile answers the Assets shape on GET and POST', async () => {
    const admin = await createUser(server, { admin: true, email: 'boss@example.com' });
    const session = await login(server, admin.username, PASSWORD);
    for (const method of ['GET', 'POST'] as const) {
      const body = (await server.app.inject({ method, url: '/services/profile', headers: session.headers })).json();
      assert.deepEqual(body, {
        username: admin.username,
        fullName: admin.username,
        email: 'boss@example.com',
        groups: [],
        authorities: ['ROLE_SUPERUSER', 'ROLE_USER'],
        locale: null,
      });
    }
  });

  it('malformed bodies and URLs get 4xx JSON, never a 500', async () => {
    const session = await login(server, username, PASSWORD);
    const post = (url: string, contentType: string, payload: string) =>
      server.app.inject({ method: 'POST', url, headers: { ...session.headers, 'content-type': contentType }, payload });
    for (const url of ['/services/login', '/services/profile']) {
      isJsonError(await post(url, 'application/json', '{"broken'), 400);
      isJsonError(await post(url, 'text/x-unknown', 'hello'), 415);
    }
    isJsonError(await post('/services/login', 'multipart/form-data', 'no boundary'), 400);
    isJsonError(await post('/services/login', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated'), 400);
    const badPath = await server.app.inject({ method: 'GET', url: '/services/%E0%A4%A' });
    isJsonError(badPath, badPath.statusCode === 404 ? 404 : 400);
    const badQuery = await server.app.inject({ method: 'GET', url: '/services/ping?uid=%FF%FE%', headers: session.cookieOnly });
    assert.equal(badQuery.statusCode, 200, 'an undecodable query value is taken as it is');
  });

  it('parameters merge from the query string and the body; the body wins', async () => {
    const wrongInQuery = await server.app.inject({
      method: 'POST',
      url: `/services/login?username=${username}&password=wrong`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ password: PASSWORD }).toString(),
    });
    assert.equal(wrongInQuery.json().loginSuccess, true);
    const json = await server.app.inject({ method: 'POST', url: '/services/login', payload: { username, password: PASSWORD, returnProfile: true } });
    assert.equal(json.json().loginSuccess, true);
    assert.equal(json.json().userProfile.username, username);
  });
});

await forEachDialect((dialect) => {
  it('the legacy mode sends service errors with HTTP 200 and the real code in the body', async () => {
    const server = await startServer(dialect, { DAMSON_ERRORS_AS_HTTP_200: 'true' });
    try {
      const response = await server.app.inject({ method: 'GET', url: '/services/profile' });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.json(), { errorcode: 401, message: 'Not logged in' });
      const { username } = await createUser(server);
      const session = await login(server, username, PASSWORD);
      const csrf = await server.app.inject({ method: 'POST', url: '/services/logout', headers: session.cookieOnly });
      assert.equal(csrf.statusCode, 200);
      assert.equal(csrf.json().errorcode, 403);
    } finally {
      await server.close();
    }
  });
});
