import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, client } from '../helpers/http-client.js';
import { closeFixtureTools, makeJpegWithExif, makeRandomFile } from '../helpers/media-fixtures.js';
import { createUser, forEachDialect, login, MINUTE, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

type Hit = { id: string; originalUrl: string; thumbnailUrl?: string; previewUrl?: string; metadata: Record<string, unknown> };

await forEachDialect((dialect) => {
  let server: TestServer;
  let api: Client;
  let fixtures: string;
  before(async () => {
    fixtures = mkdtempSync(join(tmpdir(), 'damson-fixtures-'));
    server = await startServer(dialect, { DAMSON_MAX_UPLOAD_MB: '300' });
    const { username } = await createUser(server);
    api = await client(server, await login(server, username, PASSWORD));
  });
  after(async () => {
    await server.close();
    await closeFixtureTools();
    rmSync(fixtures, { recursive: true, force: true });
  });

  const assetCount = async () => (await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length;
  const stagedFiles = () => readdirSync(join(server.dataDir, 'tmp')).filter((name) => name.endsWith('.part'));
  const blobFiles = () => readdirSync(join(server.dataDir, 'blobs'), { recursive: true }).filter((name) => /[0-9a-f]{64}$/.test(String(name)));

  it('streams a 200 MB upload to storage and back, byte for byte', async () => {
    const big = await makeRandomFile(fixtures, 200 * 1024 * 1024);
    const response = await api.upload('create', { folderPath: '/Big' }, { path: big.path, name: 'big.bin' });
    const hit = (await response.json()) as Hit;
    assert.equal(response.status, 200, JSON.stringify(hit));
    assert.equal((hit.metadata.fileSize as { value: number }).value, 200 * 1024 * 1024);
    assert.equal(hit.metadata.assetDomain, 'generic');
    const download = await api.get(hit.originalUrl);
    const hash = createHash('sha256');
    for await (const chunk of download.body!) hash.update(chunk);
    assert.equal(hash.digest('hex'), big.sha256);
    const tail = await api.get(hit.originalUrl, { range: `bytes=${150 * 1024 * 1024}-${150 * 1024 * 1024 + 99}` });
    assert.equal(tail.status, 206);
    assert.equal((await tail.arrayBuffer()).byteLength, 100);
  });

  it('refuses a file over the maximum with 413, leaving no asset and no file', async () => {
    const small = await startServer(dialect, { DAMSON_MAX_UPLOAD_MB: '1' });
    try {
      const { username } = await createUser(small);
      const smallApi = await client(small, await login(small, username, PASSWORD));
      const tooBig = await makeRandomFile(fixtures, 3 * 1024 * 1024);
      const response = await smallApi.upload('create', { folderPath: '/Big' }, { path: tooBig.path, name: 'too-big.bin' });
      assert.equal(response.status, 413);
      assert.equal(((await response.json()) as { errorcode: number }).errorcode, 413);
      // Just over the limit, but announced within the multipart allowance: refused while streaming.
      const justOver = await makeRandomFile(fixtures, 1024 * 1024 + 10);
      const streamed = await smallApi.upload('create', { folderPath: '/Big' }, { path: justOver.path, name: 'just-over.bin' });
      assert.equal(streamed.status, 413);
      await streamed.arrayBuffer();
      assert.equal((await small.app.damson.database.db.selectFrom('assets').select('id').execute()).length, 0);
      assert.deepEqual(readdirSync(join(small.dataDir, 'tmp')), []);
      assert.deepEqual(readdirSync(join(small.dataDir, 'blobs')), []);
    } finally {
      await small.close();
    }
  });

  it('an upload without a valid CSRF token is refused before its body is read, and writes nothing', async () => {
    const before = await assetCount();
    const photo = await makeJpegWithExif(fixtures, { width: 100, height: 100 });
    const form = new FormData();
    form.append('folderPath', '/Nope');
    form.append('Filedata', new Blob([Buffer.alloc(1024 * 1024, 1)]), 'x.jpg');
    const response = await fetch(`${api.baseUrl}/services/create`, { method: 'POST', body: form, headers: { ...api.session.cookieOnly, 'x-csrf-token': 'wrong' } });
    assert.equal(response.status, 403);
    await response.arrayBuffer();
    assert.ok(photo);
    assert.equal(await assetCount(), before);
    assert.deepEqual(stagedFiles(), []);
  });

  it('a client that disconnects mid-upload leaves no asset and no staged file', async () => {
    const before = await assetCount();
    const blobsBefore = blobFiles().length;
    const { port } = new URL(api.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const head =
      '--b\r\nContent-Disposition: form-data; name="folderPath"\r\n\r\n/Aborted\r\n' +
      '--b\r\nContent-Disposition: form-data; name="Filedata"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n';
    socket.write(
      `POST /services/create HTTP/1.1\r\nHost: localhost\r\nCookie: authToken=${api.session.token}\r\nX-CSRF-TOKEN: ${api.session.csrfToken}\r\n` +
        `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${head}`,
    );
    socket.write(Buffer.alloc(2 * 1024 * 1024, 3));
    await sleep(300);
    socket.destroy();
    for (let i = 0; i < 50 && stagedFiles().length > 0; i++) await sleep(100);
    assert.deepEqual(stagedFiles(), []);
    assert.equal(await assetCount(), before);
    assert.equal(blobFiles().length, blobsBefore);
  });

  it('appendRequestSecret URLs work without a session, also after logout, until they expire; tampering is 401', async () => {
    const photo = await makeJpegWithExif(fixtures, { width: 200, height: 100 });
    const created = (await (await api.upload('create', { folderPath: '/Shared' }, { path: photo, name: 'shared.jpg' })).json()) as Hit;
    for (let i = 0; i < 300 && (await server.app.damson.assets.get(created.id)).thumbnailState !== 'yes'; i++) await sleep(100);
    const hit = (await (await api.upload('update', { id: created.id, rating: '3', appendRequestSecret: '1' })).json()) as Hit;
    for (const url of [hit.originalUrl, hit.thumbnailUrl!, hit.previewUrl!]) {
      assert.match(url, /[?&]requestSecret=\d+\.[A-Za-z0-9_-]{43}$/);
      const anonymous = await api.get(url, {}, { anonymous: true });
      assert.equal(anonymous.status, 200, url);
      await anonymous.arrayBuffer();
    }
    // Without the secret the same URL needs a login.
    assert.equal((await api.get(hit.originalUrl.replace(/&requestSecret=.*$/, ''), {}, { anonymous: true })).status, 401);
    // The secret opens only the path it was made for.
    const secret = new URL(hit.thumbnailUrl!).searchParams.get('requestSecret')!;
    const elsewhere = await api.get(`/file/${hit.id}/*/shared.jpg?requestSecret=${secret}`, {}, { anonymous: true });
    assert.equal(elsewhere.status, 401);
    const tampered = hit.originalUrl.replace(/requestSecret=(\d+)\./, (_match, expiry: string) => `requestSecret=${Number(expiry) + 1}.`);
    assert.equal((await api.get(tampered, {}, { anonymous: true })).status, 401);

    const logout = await fetch(`${api.baseUrl}/services/logout`, { method: 'POST', headers: api.session.headers });
    assert.equal(logout.status, 200);
    const afterLogout = await api.get(hit.originalUrl, {}, { anonymous: true });
    assert.equal(afterLogout.status, 200);
    await afterLogout.arrayBuffer();
    server.clock.advance(31 * MINUTE);
    const expired = await api.get(hit.originalUrl, {}, { anonymous: true });
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { message: string }).message, 'Invalid or expired request secret');
  });
});
