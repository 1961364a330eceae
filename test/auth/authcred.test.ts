import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client } from '../helpers/http-client.js';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

/** `?authcred=` as clients compute it: base64 of `user:password` (protocol §2, §6.4). */
const authcred = (username: string, password: string) => encodeURIComponent(Buffer.from(`${username}:${password}`).toString('base64'));

await forEachDialect((dialect) => {
  let server: TestServer;
  let username: string;
  before(async () => {
    server = await startServer(dialect, { DAMSON_LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    ({ username } = await createUser(server));
  });
  after(() => server.close());

  const get = (url: string) => server.app.inject({ method: 'GET', url });

  it('authenticates one request that reads, with no session made and no CSRF token asked', async () => {
    const profile = await get(`/services/profile?authcred=${authcred(username, PASSWORD)}`);
    assert.equal(profile.statusCode, 200, profile.body);
    assert.equal(profile.json().username, username);
    assert.equal(profile.headers['set-cookie'], undefined, 'no session cookie');
    // A service that only reads, posted: no CSRF token needed (it is no browser session).
    const search = await server.app.inject({ method: 'POST', url: `/services/search?authcred=${authcred(username, PASSWORD)}`, payload: { q: '*:*' } });
    assert.equal(search.statusCode, 200, search.body);
    assert.equal(typeof search.json().totalHits, 'number');
    // The next request without it is anonymous again.
    assert.equal((await get('/services/profile')).statusCode, 401);
  });

  it('checks the password once for a page of thumbnails asked all at once', async () => {
    const fresh = await createUser(server);
    const users = server.app.damson.auth as unknown as { users: { findByUsername: (name: string) => Promise<unknown> } };
    const original = users.users.findByUsername.bind(users.users);
    let lookups = 0;
    users.users.findByUsername = (name: string) => (lookups++, original(name));
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => get(`/services/profile?authcred=${authcred(fresh.username, PASSWORD)}`)));
      assert.deepEqual([...new Set(answers.map((answer) => answer.statusCode))], [200]);
      assert.equal(lookups, 1, 'twelve requests, one password check');
    } finally {
      users.users.findByUsername = original;
    }
  });

  it('opens nothing that writes, whatever the method', async () => {
    for (const service of ['createFolder', 'update', 'remove', 'logout', 'create']) {
      const response = await server.app.inject({ method: 'POST', url: `/services/${service}?authcred=${authcred(username, PASSWORD)}`, payload: { path: '/ByAuthcred', q: '*:*' } });
      assert.equal(response.statusCode, 403, `${service}: ${response.body}`);
      assert.match(response.json().message, /authcred only authenticates requests that read/);
    }
    assert.equal((await get(`/services/browse?path=/&authcred=${authcred(username, PASSWORD)}`)).json().some((entry: { name: string }) => entry.name === 'ByAuthcred'), false);
  });

  it('refuses wrong, malformed and disabled credentials with 401, and throttles as logins are', async () => {
    const other = await createUser(server);
    for (const value of [authcred(other.username, 'wrong'), 'not-base64!', authcred('nobody-here', PASSWORD), '']) {
      assert.equal((await get(`/services/profile?authcred=${value}`)).statusCode, 401, value);
    }
    await get(`/services/profile?authcred=${authcred(other.username, 'wrong')}`);
    await get(`/services/profile?authcred=${authcred(other.username, 'wrong')}`);
    const throttled = await get(`/services/profile?authcred=${authcred(other.username, PASSWORD)}`);
    assert.equal(throttled.statusCode, 429, 'three failures for the account: even the right password waits');
    assert.ok(throttled.headers['retry-after']);

    const disabled = await createUser(server);
    assert.equal((await get(`/services/profile?authcred=${authcred(disabled.username, PASSWORD)}`)).statusCode, 200);
    await server.app.damson.users.setEnabled(disabled.username, false);
    assert.equal((await get(`/services/profile?authcred=${authcred(disabled.username, PASSWORD)}`)).statusCode, 401, 'a remembered success ends with the account');
  });

  it('stops working with the old password at once after a password change', async () => {
    const changing = await createUser(server);
    assert.equal((await get(`/services/profile?authcred=${authcred(changing.username, PASSWORD)}`)).statusCode, 200);
    await server.app.damson.users.changePassword(changing.username, 'a brand new passphrase');
    assert.equal((await get(`/services/profile?authcred=${authcred(changing.username, PASSWORD)}`)).statusCode, 401);
    assert.equal((await get(`/services/profile?authcred=${authcred(changing.username, 'a brand new passphrase')}`)).statusCode, 200);
  });

  it('downloads a file with authcred alone, as a download portal does', async () => {
    const api = await client(server, await login(server, username, PASSWORD));
    const file = join(server.dataDir, 'portal-note.txt');
    writeFileSync(file, 'for the portal');
    const created = await api.upload('create', { folderPath: '/Portal' }, { path: file, name: 'note.txt' });
    assert.equal(created.status, 200);
    const { id } = (await created.json()) as { id: string };
    assert.equal((await api.get(`/file/${id}`, {}, { anonymous: true })).status, 401);
    const download = await api.get(`/file/${id}?authcred=${authcred(username, PASSWORD)}`, {}, { anonymous: true });
    assert.equal(download.status, 200);
    assert.equal(await download.text(), 'for the portal');
  });

  it('gives way to a valid session, and an unusable Bearer header is not rescued by it', async () => {
    const session = await login(server, username, PASSWORD);
    const other = await createUser(server);
    const both = await server.app.inject({ method: 'GET', url: `/services/profile?authcred=${authcred(other.username, PASSWORD)}`, headers: session.cookieOnly });
    assert.equal(both.json().username, username);
    const badBearer = await server.app.inject({ method: 'GET', url: `/services/profile?authcred=${authcred(username, PASSWORD)}`, headers: { authorization: 'Bearer nonsense' } });
    assert.equal(badBearer.statusCode, 401);
  });
});
