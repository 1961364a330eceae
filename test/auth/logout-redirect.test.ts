import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { resolveLogoutRedirect } from '../../src/auth/logout-redirect.js';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

const LANDING = '/';
const policy = { baseUrl: 'http://dam.example/', allowlist: ['https://trusted.example'], landingPage: LANDING };

/** security.md case 25: none of these may ever reach Location. */
const OPEN_REDIRECTS = [
  'https://evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  'https:evil.example',
  'https:/\\evil.example',
  'http://trusted.example@evil.example',
  'https://trusted.example@evil.example',
  'https://trusted.example.evil.example',
  'https://evil.example#@trusted.example',
  '%2F%2Fevil.example',
  'java%09script:alert(1)',
  'java\tscript:alert(1)',
  ' javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'ftp://evil.example',
  'http://trusted.example',
  'https://trusted.example:8443/',
  '/%5Cevil.example',
  '/\t/evil.example',
  // Dot segments that the URL parser removes, leaving a path that starts with `//`.
  '/.//evil.example',
  '/..//evil.example',
  '/x/..//evil.example',
  '/%2e//evil.example',
  '/a/b/../..//evil.example',
];

/** Case 26 and 27: header injection and encoding abuse. */
const MALFORMED = [
  '/ok\r\nSet-Cookie: x=1',
  '/ok%0d%0aSet-Cookie:x=1',
  '/ok%0aX-Injected: 1',
  '/ok\u0000',
  '/ok%00',
  '/ok\u007f',
  '/ok%E0%A4%A',
  '/ok%C0%AF',
  '/ok%FF',
  '/ok\ud800',
  `/${'a'.repeat(16 * 1024)}`,
  `/${'a'.repeat(100 * 1024)}`,
];

await forEachDialect((dialect) => {
  let server: TestServer;
  before(async () => {
    server = await startServer(dialect, { DAMSON_LOGOUT_REDIRECT_ALLOWLIST: 'https://trusted.example' });
  });
  after(() => server.close());

  it('C25-C27 over HTTP: every hostile logoutSuccessUrl yields a 302 to the landing page and no injected header', async () => {
    const { username } = await createUser(server);
    // A lone surrogate cannot be percent-encoded at all; the unit test covers it.
    for (const value of [...OPEN_REDIRECTS, ...MALFORMED].filter((candidate) => candidate.isWellFormed())) {
      const session = await login(server, username, PASSWORD);
      const response = await server.app.inject({
        method: 'GET',
        url: `/logout?logoutSuccessUrl=${encodeURIComponent(value)}`,
        headers: session.cookieOnly,
      });
      assert.equal(response.statusCode, 302, value.slice(0, 40));
      assert.equal(response.headers.location, LANDING, value.slice(0, 40));
      assert.equal(response.headers['x-injected'], undefined);
      assert.doesNotMatch(String(response.headers['set-cookie']), /x=1/);
      assert.equal((await server.app.inject({ method: 'GET', url: '/services/ping', headers: session.cookieOnly })).statusCode, 401, 'logged out all the same');
    }
    // Raw, not re-encoded query strings: invalid escapes reach the parser as they are.
    for (const raw of ['%E0%A4%A', '%C0%AF', '%FF', '%0d%0aSet-Cookie:x=1', '%2F%2Fevil.example', 'java%09script:alert(1)', '%']) {
      const response = await server.app.inject({ method: 'GET', url: `/logout?logoutSuccessUrl=${raw}` });
      assert.equal(response.statusCode, 302, raw);
      assert.equal(response.headers.location, LANDING, raw);
    }
  });

  it('C27: a 100 KB logoutSuccessUrl in the request line gets a JSON 431 and the server keeps serving', async () => {
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.app.server.address() as { port: number };
    const get = (path: string) =>
      new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port, path }, (response) => {
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body }));
        });
        request.on('error', reject);
        request.end();
      });
    const huge = await get(`/logout?logoutSuccessUrl=/${'a'.repeat(100 * 1024)}`);
    assert.equal(huge.status, 431);
    assert.match(huge.type, /^application\/json/);
    assert.equal(JSON.parse(huge.body).errorcode, 431);
    const next = await get('/logout');
    assert.equal(next.status, 302);
  });
});

// Registered after the suites above: a suite registered before a top-level await can end the run before
// the awaited suites exist (with --test-force-exit they would silently never run).
describe('logoutSuccessUrl validation (unit)', () => {
  it('C25: every open-redirect trick falls back to the landing page', () => {
    for (const value of OPEN_REDIRECTS) assert.equal(resolveLogoutRedirect(value, policy), LANDING, value);
  });

  it('C26/C27: control characters, bad encodings and huge values fall back without throwing', () => {
    for (const value of MALFORMED) assert.equal(resolveLogoutRedirect(value, policy), LANDING, value.slice(0, 40));
  });

  it('honours paths on this server and allow-listed origins, and percent-encodes non-ASCII', () => {
    assert.equal(resolveLogoutRedirect('/some/path?x=1', policy), '/some/path?x=1');
    assert.equal(resolveLogoutRedirect('https://trusted.example/home', policy), 'https://trusted.example/home');
    assert.equal(resolveLogoutRedirect('http://dam.example/after', policy), '/after');
    assert.equal(resolveLogoutRedirect('/bücher?q=ä', policy), '/b%C3%BCcher?q=%C3%A4');
    assert.equal(resolveLogoutRedirect(undefined, policy), LANDING);
    assert.equal(resolveLogoutRedirect('', policy), LANDING);
  });

  it("'*' restores the original any-http(s)-URL behaviour, and still refuses other schemes", () => {
    const open = { ...policy, allowlist: '*' as const };
    assert.equal(resolveLogoutRedirect('http://www.elvisdam.com', open), 'http://www.elvisdam.com/');
    assert.equal(resolveLogoutRedirect('https://bücher.example/x', open), 'https://xn--bcher-kva.example/x');
    for (const value of ['javascript:alert(1)', 'data:text/html,x', '//evil.example', 'https://user:pw@evil.example/']) {
      assert.equal(resolveLogoutRedirect(value, open), LANDING, value);
    }
  });
});
