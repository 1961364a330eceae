import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type Client, client } from '../helpers/http-client.js';
import { closeFixtureTools, makeJpegWithExif } from '../helpers/media-fixtures.js';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

const sha256 = (bytes: ArrayBuffer | Buffer) => createHash('sha256').update(Buffer.from(bytes as ArrayBuffer)).digest('hex');
type Hit = { id: string; originalUrl: string; metadata: Record<string, any> };

await forEachDialect((dialect) => {
  let server: TestServer;
  let api: Client;
  let fixtures: string;
  let first: string;
  let second: string;
  before(async () => {
    fixtures = mkdtempSync(join(tmpdir(), 'damson-fixtures-'));
    server = await startServer(dialect);
    const { username } = await createUser(server);
    api = await client(server, await login(server, username, PASSWORD));
    first = await makeJpegWithExif(fixtures, { width: 300, height: 200, description: 'first file', keywords: ['one'] });
    second = await makeJpegWithExif(fixtures, { width: 400, height: 300, description: 'second file', keywords: ['two'] });
  });
  after(async () => {
    await server.close();
    await closeFixtureTools();
    rmSync(fixtures, { recursive: true, force: true });
  });

  const create = async (fields: Record<string, string> = {}) =>
    (await (await api.upload('create', { folderPath: '/Versions', tags: 'a,b', ...fields }, { path: first, name: `v${Math.random().toString(36).slice(2)}.jpg` })).json()) as Hit;
  const update = async (fields: Record<string, string | string[]>, file?: string) => {
    const response = await api.upload('update', fields, file ? { path: file, name: 'new.jpg' } : undefined);
    return { status: response.status, body: (await response.json()) as Hit & { errorcode?: number; message?: string } };
  };

  it('edits metadata without a new version; +tag/-tag modify, "" and [] clear', async () => {
    const hit = await create();
    assert.deepEqual(hit.metadata.tags, ['a', 'b']);
    let result = await update({ id: hit.id, metadata: JSON.stringify({ tags: ['-a', '+c'], status: 'Final' }) });
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.metadata.tags, ['b', 'c']);
    assert.equal(result.body.metadata.status, 'Final');
    assert.equal(result.body.metadata.versionNumber, 1);
    result = await update({ id: hit.id, tags: 'x,y', parseMetadataModifications: 'false' });
    assert.deepEqual(result.body.metadata.tags, ['x', 'y']);
    result = await update({ id: hit.id, metadata: JSON.stringify({ tags: ['+z'] }), parseMetadataModifications: 'false' });
    assert.deepEqual(result.body.metadata.tags, ['+z'], 'stored literally when modifications are off');
    result = await update({ id: hit.id, metadata: JSON.stringify({ tags: [], status: '' }) });
    assert.equal(result.body.metadata.tags, undefined, 'an empty list clears the field');
    assert.equal(result.body.metadata.status, undefined, 'an empty string clears the field');
    result = await update({ id: hit.id, description: '' });
    assert.equal(result.body.metadata.description, undefined);
    assert.ok(result.body.metadata.assetModified.value >= hit.metadata.assetModified.value);
  });

  it('a new file increments versionNumber and keeps the previous file as a version', async () => {
    const hit = await create({ description: 'mine' });
    const { status, body } = await update({ id: hit.id, clearCheckoutState: 'true' }, second);
    assert.equal(status, 200);
    assert.equal(body.metadata.versionNumber, 2);
    assert.equal(body.metadata.width, 400, 'technical fields describe the new file');
    assert.equal(body.metadata.description, 'second file', 'without keepMetadata the new file is read again');
    assert.match(body.originalUrl, /\?_=2$/);
    const current = await api.get(`/file/${hit.id}`);
    assert.equal(sha256(await current.arrayBuffer()), sha256(readFileSync(second)));
    const previous = await api.get(`/file/${hit.id}?version=1`);
    assert.equal(previous.status, 200);
    assert.equal(sha256(await previous.arrayBuffer()), sha256(readFileSync(first)));
    const missing = await api.get(`/file/${hit.id}?version=7`);
    assert.equal(missing.status, 400);
    await missing.arrayBuffer();

    const kept = await update({ id: hit.id, keepMetadata: 'true', description: 'kept?' }, first);
    assert.equal(kept.body.metadata.versionNumber, 3);
    assert.equal(kept.body.metadata.description, 'kept?');
    const versions = await server.app.damson.assetStore.listVersions(hit.id);
    assert.deepEqual(versions.map((version) => version.versionNumber), [1, 2]);
  });

  it('createVersion=false replaces the file without keeping the old one', async () => {
    const hit = await create();
    const { body } = await update({ id: hit.id, createVersion: 'false' }, second);
    assert.equal(body.metadata.versionNumber, 2);
    assert.deepEqual(await server.app.damson.assetStore.listVersions(hit.id), []);
  });

  it('refuses updates that make no sense with clear errors', async () => {
    const hit = await create();
    const cases: Array<[Record<string, string>, number, RegExp]> = [
      [{}, 400, /id is required/],
      [{ id: hit.id }, 400, /Nothing to update/],
      [{ id: 'x'.repeat(22), description: 'x' }, 404, /No asset/],
      [{ id: 'not-an-id', description: 'x' }, 404, /No asset/],
      [{ id: hit.id, folderPath: '/Elsewhere' }, 400, /move/],
      [{ id: hit.id, metadata: JSON.stringify({ assetCreator: 'mallory' }) }, 400, /cannot be set/],
    ];
    for (const [fields, status, message] of cases) {
      const result = await update(fields);
      assert.equal(result.status, status, JSON.stringify(fields));
      assert.match(result.body.message!, message);
    }
    const unchanged = await update({ id: hit.id, folderPath: '/Versions', rating: '2' });
    assert.equal(unchanged.status, 200, 'sending the current location along is harmless');
  });

  it('concurrent tag modifications are all applied', async () => {
    const hit = await create({ tags: '' });
    await Promise.all(Array.from({ length: 10 }, (_, index) => update({ id: hit.id, metadata: JSON.stringify({ tags: [`+t${index}`] }) })));
    const { body } = await update({ id: hit.id, rating: '1' });
    assert.equal(body.metadata.tags.length, 10);
  });
  it('/services/asset/history lists the versions newest first, each downloadable', async () => {
    const hit = await create();
    await update({ id: hit.id }, second);
    const history = async (query: string) => {
      const response = await api.get(`/services/asset/history?id=${hit.id}&${query}`);
      assert.equal(response.status, 200);
      return (await response.json()) as { totalHits: number; hits: Array<{ usageStatsRecord: { action: string; userName: string }; hit: Hit }> };
    };
    const all = await history('detailLevel=1');
    assert.equal(all.totalHits, 2);
    assert.deepEqual(all.hits.map((entry) => [entry.usageStatsRecord.action, entry.hit.metadata.versionNumber]), [['CHECKIN', 2], ['CREATE', 1]]);
    const oldest = await api.get(all.hits[1]!.hit.originalUrl);
    assert.equal(sha256(await oldest.arrayBuffer()), sha256(readFileSync(first)), 'version 1 still downloads its own bytes');
    assert.deepEqual((await history('actions=CREATE')).hits.map((entry) => entry.usageStatsRecord.action), ['CREATE']);
    assert.equal((await history('detailLevel=1&start=1&num=5')).hits.length, 1);
    const missing = await api.get('/services/asset/history');
    assert.equal(missing.status, 400);
    const unknown = await api.get('/services/asset/history?id=AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(unknown.status, 404);
  });
});
