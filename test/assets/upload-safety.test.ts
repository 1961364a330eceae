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
  /**
   * A raw connection that has sent the head of a logged-in create (boundary `b`, the given Content-Length) and the
   * start of its body: a folderPath part and the head of a Filedata part. The caller sends the rest, or not.
   */
  const startRawCreate = async (folderPath: string, filename: string, contentLength: number) => {
    const socket = connect(Number(new URL(api.baseUrl).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /services/create HTTP/1.1\r\nHost: localhost\r\nCookie: authToken=${api.session.token}\r\nX-CSRF-TOKEN: ${api.session.csrfToken}\r\n` +
        `Content-Type: multipart/form-data; boundary=b\r\nContent-Length: ${contentLength}\r\n\r\n${partsHead(folderPath, filename)}`,
    );
    return socket;
  };
  const partsHead = (folderPath: string, filename: string) =>
    `--b\r\nContent-Disposition: form-data; name="folderPath"\r\n\r\n${folderPath}\r\n` +
    `--b\r\nContent-Disposition: form-data; name="Filedata"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;

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
    const socket = await startRawCreate('/Aborted', 'half.bin', 10 * 1024 * 1024);
    socket.write(Buffer.alloc(2 * 1024 * 1024, 3));
    await sleep(300);
    socket.destroy();
    for (let i = 0; i < 50 && stagedFiles().length > 0; i++) await sleep(100);
    assert.deepEqual(stagedFiles(), []);
    assert.equal(await assetCount(), before);
    assert.equal(blobFiles().length, blobsBefore);
  });

  it('a client that goes away after sending the whole file, before the answer (Cancel pressed late), leaves no asset and no file', async () => {
    const before = await assetCount();
    const blobsBefore = blobFiles().length;
    const rest = Buffer.concat([Buffer.alloc(256 * 1024, 7), Buffer.from('\r\n--b--\r\n')]);
    const socket = await startRawCreate('/Cancelled', 'whole.bin', Buffer.byteLength(partsHead('/Cancelled', 'whole.bin')) + rest.length);
    // Every byte handed to the kernel, then the connection closed without waiting for the answer.
    await new Promise<void>((resolve, reject) => socket.write(rest, (error) => (error ? reject(error) : resolve())));
    socket.destroy();

    const abandoned = () => server.logs.some((line) => line.includes('client went away before the upload was saved'));
    for (let i = 0; i < 100 && !abandoned(); i++) await sleep(100);
    assert.ok(abandoned(), 'the server read the whole upload, then saw the client go away and kept nothing');
    for (let i = 0; i < 50 && stagedFiles().length > 0; i++) await sleep(100);
    assert.deepEqual(stagedFiles(), []);
    assert.equal(await assetCount(), before, 'no asset was created');
    assert.equal(blobFiles().length, blobsBefore, 'no file was kept');
    const search = (await (await api.get('/services/search?q=folderPath:"/Cancelled"&num=0')).json()) as { totalHits: number };
    assert.equal(search.totalHits, 0);
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
