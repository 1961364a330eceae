import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect, serverWithSession } from '../helpers/server.js';

type Hit = { id: string; metadata: Record<string, any> };

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);

  const call = async (service: string, params: Record<string, string>) => {
    const response = await suite.server.app.inject({ method: 'POST', url: `/services/${service}`, headers: { ...suite.session.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
    return { status: response.statusCode, body: response.json() };
  };
  const create = async (assetPath: string, extra: Record<string, string> = {}) => (await call('create', { assetPath, ...extra })).body as Hit;
  /** Asset paths a query finds, in plain string order (so expectations read naturally). */
  const find = async (q: string) => ((await call('search', { q, num: '1000' })).body.hits as Hit[]).map((hit) => hit.metadata.assetPath as string).sort();
  const under = (folder: string) => find(`ancestorPaths:"${folder}"`);

  it('renames and moves a single asset, keeping every path field and the index consistent', async () => {
    const hit = await create('/Mv/old-name.jpg', { description: 'movable thing' });
    assert.deepEqual((await call('move', { source: '/Mv/old-name.jpg', target: '/Mv/new-name.jpg' })).body, { processedCount: 1, errorCount: 0 });
    assert.deepEqual(await find('movable'), ['/Mv/new-name.jpg']);
    assert.deepEqual(await find('name:old-name.jpg'), []);
    const moved = (await call('move', { source: '/Mv/new-name.jpg', target: '/Elsewhere/Deep/renamed.png' })).body;
    assert.equal(moved.processedCount, 1);
    const [after] = (await call('search', { q: `id:${hit.id}` })).body.hits as Hit[];
    const m = after!.metadata;
    assert.deepEqual([m.assetPath, m.folderPath, m.filename, m.baseName, m.extension, m.assetType, m.mimeType], ['/Elsewhere/Deep/renamed.png', '/Elsewhere/Deep', 'renamed.png', 'renamed', 'png', 'png', 'image/png']);
    assert.equal(m.description, 'movable thing');
    assert.deepEqual(await under('/Elsewhere'), ['/Elsewhere/Deep/renamed.png']);
    assert.equal((await call('browse', { path: '/Elsewhere/Deep', includeExtensions: 'all' })).body[0].name, 'renamed.png');
  });

  it('resolves asset clashes by fileReplacePolicy', async () => {
    const cases: Array<[string, (source: Hit, target: Hit) => Promise<void>]> = [
      ['AUTO_RENAME', async () => assert.deepEqual(await under('/Clash/AUTO_RENAME'), ['/Clash/AUTO_RENAME/t-1.jpg', '/Clash/AUTO_RENAME/t.jpg'])],
      ['OVERWRITE', async (source) => assert.deepEqual((await call('search', { q: 'ancestorPaths:"/Clash/OVERWRITE"' })).body.hits.map((h: Hit) => h.id), [source.id])],
      ['REMOVE_SOURCE', async (_source, target) => assert.deepEqual((await call('search', { q: 'ancestorPaths:"/Clash/REMOVE_SOURCE"' })).body.hits.map((h: Hit) => h.id), [target.id])],
      ['OVERWRITE_IF_NEWER', async (_source, target) => assert.deepEqual((await call('search', { q: 'ancestorPaths:"/Clash/OVERWRITE_IF_NEWER"' })).body.hits.map((h: Hit) => h.id), [target.id], 'the target is newer, so it stays')],
      ['DO_NOTHING', async () => assert.deepEqual(await under('/Clash/DO_NOTHING'), ['/Clash/DO_NOTHING/s.jpg', '/Clash/DO_NOTHING/t.jpg'])],
    ];
    for (const [policy, check] of cases) {
      const source = await create(`/Clash/${policy}/s.jpg`);
      suite.server.clock.advance(1000);
      const target = await create(`/Clash/${policy}/t.jpg`);
      const { status } = await call('move', { source: `/Clash/${policy}/s.jpg`, target: `/Clash/${policy}/t.jpg`, fileReplacePolicy: policy });
      assert.equal(status, 200, policy);
      await check(source, target);
    }
    await create('/Clash/THROW/s.jpg');
    await create('/Clash/THROW/t.jpg');
    const refused = await call('move', { source: '/Clash/THROW/s.jpg', target: '/Clash/THROW/t.jpg', fileReplacePolicy: 'THROW_EXCEPTION' });
    assert.equal(refused.status, 409);
    assert.deepEqual(await under('/Clash/THROW'), ['/Clash/THROW/s.jpg', '/Clash/THROW/t.jpg']);
  });

  it('moves and renames whole folders with their subfolders (empty ones too)', async () => {
    await create('/F1/a.jpg', { tags: 'folderthing' });
    await create('/F1/Sub/b.jpg', { tags: 'folderthing' });
    await call('createFolder', { path: '/F1/Empty' });
    const { body } = await call('move', { source: '/F1', target: '/Moved/F1' });
    assert.deepEqual(body, { processedCount: 2, errorCount: 0 });
    assert.deepEqual(await find('tags:folderthing'), ['/Moved/F1/Sub/b.jpg', '/Moved/F1/a.jpg'].sort());
    assert.deepEqual(await under('/F1'), []);
    assert.equal((await call('browse', { path: '/F1' })).status, 404, 'the source folder is gone');
    assert.deepEqual((await call('browse', { path: '/Moved/F1' })).body.map((e: { name: string }) => e.name), ['Empty', 'Sub']);
    assert.equal((await call('move', { source: '/Moved/F1', target: '/Moved/Renamed' })).body.processedCount, 2);
    assert.deepEqual(await under('/Moved/Renamed'), ['/Moved/Renamed/Sub/b.jpg', '/Moved/Renamed/a.jpg'].sort());
  });

  it('copies folders: new ids, same content, the source untouched; folderReplacePolicy and flattenFolders', async () => {
    const original = await create('/Src/one.jpg', { description: 'copyme' });
    await create('/Src/Inner/two.jpg', { description: 'copyme' });
    assert.deepEqual((await call('copy', { source: '/Src', target: '/Dst' })).body, { processedCount: 2, errorCount: 0 });
    const copies = (await call('search', { q: 'ancestorPaths:"/Dst"', num: '10' })).body.hits as Hit[];
    assert.equal(copies.length, 2);
    assert.ok(copies.every((copy) => copy.id !== original.id && copy.metadata.description === 'copyme' && copy.metadata.versionNumber === 1));
    assert.equal((await under('/Src')).length, 2);
    assert.equal((await call('copy', { source: '/Src', target: '/Dst' })).body.processedCount, 2);
    assert.deepEqual(await under('/Dst-1'), ['/Dst-1/Inner/two.jpg', '/Dst-1/one.jpg'].sort(), 'AUTO_RENAME picks a free folder name');
    assert.equal((await call('copy', { source: '/Src', target: '/Dst', folderReplacePolicy: 'THROW_EXCEPTION' })).status, 409);
    assert.equal((await call('copy', { source: '/Src', target: '/Dst', folderReplacePolicy: 'MERGE', fileReplacePolicy: 'AUTO_RENAME' })).body.processedCount, 2);
    assert.deepEqual(await under('/Dst'), ['/Dst/Inner/two-1.jpg', '/Dst/Inner/two.jpg', '/Dst/one-1.jpg', '/Dst/one.jpg']);
    assert.equal((await call('copy', { source: '/Src', target: '/Flat', flattenFolders: 'true' })).body.processedCount, 2);
    assert.deepEqual(await under('/Flat'), ['/Flat/one.jpg', '/Flat/two.jpg']);
  });

  it('filterQuery limits which assets go, and the source folder stays', async () => {
    await create('/Filter/keep.jpg', { status: 'Draft' });
    await create('/Filter/go.jpg', { status: 'Final' });
    assert.equal((await call('move', { source: '/Filter', target: '/Filtered', filterQuery: 'status:Final' })).body.processedCount, 1);
    assert.deepEqual(await under('/Filtered'), ['/Filtered/go.jpg']);
    assert.deepEqual(await under('/Filter'), ['/Filter/keep.jpg']);
  });

  it('is atomic: a clash halfway through a folder move leaves everything where it was', async () => {
    await create('/Atom/A/x.jpg');
    await create('/Atom/A/y.jpg');
    await create('/Atom/B/y.jpg');
    const { status } = await call('move', { source: '/Atom/A', target: '/Atom/B', folderReplacePolicy: 'MERGE', fileReplacePolicy: 'THROW_EXCEPTION' });
    assert.equal(status, 409);
    assert.deepEqual(await under('/Atom'), ['/Atom/A/x.jpg', '/Atom/A/y.jpg', '/Atom/B/y.jpg']);
    assert.equal((await call('browse', { path: '/Atom/A' })).status, 200);
  });

  it('async=true runs the transfer in the background and reports it through process/info', async () => {
    await create('/Later/a.jpg');
    await create('/Later/b.jpg');
    const { body } = await call('copy', { source: '/Later', target: '/LaterCopy', async: 'true' });
    assert.match(body.processId, /^[A-Za-z0-9_-]{22}$/);
    let info = (await call('process/info', { processId: body.processId })).body;
    for (let i = 0; i < 100 && info.status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = (await call('process/info', { processId: body.processId })).body;
    }
    assert.equal(info.status, 'done');
    assert.equal(info.processedCount, 2);
    assert.equal(info.totalCount, 2);
    assert.deepEqual(await under('/LaterCopy'), ['/LaterCopy/a.jpg', '/LaterCopy/b.jpg']);
  });

  it('refuses impossible transfers clearly', async () => {
    await create('/Bad/a.jpg');
    const cases: Array<[string, Record<string, string>, number]> = [
      ['move', { source: '/Bad', target: '/Bad/Inside' }, 400],
      ['copy', { source: '/Bad', target: '/Bad' }, 400],
      ['move', { source: '/Nope', target: '/Else' }, 404],
      ['move', { source: '/Bad/a.jpg', target: '/Bad/a:b.jpg' }, 400],
      ['move', { source: '/Bad', target: '/Else', fileReplacePolicy: 'SOMETIMES' }, 400],
      ['move', { source: '/Bad' }, 400],
      ['copy', { source: 'relative', target: '/x' }, 400],
    ];
    for (const [service, params, status] of cases) {
      const result = await call(service, params);
      assert.equal(result.status, status, `${service} ${JSON.stringify(params)}: ${JSON.stringify(result.body)}`);
      assert.equal(result.body.errorcode, status);
    }
    assert.deepEqual(await under('/Bad'), ['/Bad/a.jpg']);
  });
});
