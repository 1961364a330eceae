import assert from 'node:assert/strict';
import { it } from 'node:test';
import sharp from 'sharp';
import { AssetStore } from '../../src/assets/asset-store.js';
import { createUser, forEachDialect, login, postForm, serverWithSession, startServer } from '../helpers/server.js';

type Hit = { id: string; metadata: Record<string, any> };

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);

  const call = async (service: string, params: Record<string, string>) => {
    const response = await postForm(suite, service, params);
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

  it('flattened, sources of one name never replace each other, whatever the file policy', async () => {
    for (const fileReplacePolicy of ['OVERWRITE', 'OVERWRITE_IF_NEWER', 'REMOVE_SOURCE']) {
      // The policy is for assets already at the target; of two sources, the second is renamed rather than drop one.
      const folder = `/Same${fileReplacePolicy}`;
      await create(`${folder}/C/One/y.jpg`);
      await create(`${folder}/C/Two/y.jpg`);
      assert.deepEqual((await call('move', { source: `${folder}/C`, target: `${folder}/D`, fileReplacePolicy, flattenFolders: 'true' })).body, { processedCount: 2, errorCount: 0 }, fileReplacePolicy);
      assert.deepEqual(await under(`${folder}/D`), [`${folder}/D/y-1.jpg`, `${folder}/D/y.jpg`], fileReplacePolicy);
    }
  });

  it('filterQuery limits which assets go, and the source folder stays', async () => {
    await create('/Filter/keep.jpg', { status: 'Draft' });
    await create('/Filter/go.jpg', { status: 'Final' });
    assert.equal((await call('move', { source: '/Filter', target: '/Filtered', filterQuery: 'status:Final' })).body.processedCount, 1);
    assert.deepEqual(await under('/Filtered'), ['/Filtered/go.jpg']);
    assert.deepEqual(await under('/Filter'), ['/Filter/keep.jpg']);
    assert.equal((await call('move', { source: '/Filter', target: '/Filtered', filterQuery: 'status:(Final' })).status, 400);
    // A filter that matches nothing leaves everything as it was, and makes no target folder.
    assert.deepEqual((await call('copy', { source: '/Filter', target: '/Unfiltered', filterQuery: 'status:Nothing' })).body, { processedCount: 0, errorCount: 0 });
    assert.equal((await call('browse', { path: '/' })).body.some((entry: { name: string }) => entry.name === 'Unfiltered'), false);
    // It applies to a single asset as source too.
    for (const service of ['move', 'copy']) {
      assert.deepEqual((await call(service, { source: '/Filter/keep.jpg', target: '/Filter/other.jpg', filterQuery: 'status:Final' })).body, { processedCount: 0, errorCount: 0 }, service);
    }
    assert.deepEqual(await under('/Filter'), ['/Filter/keep.jpg']);
    assert.deepEqual((await call('copy', { source: '/Filter/keep.jpg', target: '/Filter/copied.jpg', filterQuery: 'status:Draft' })).body, { processedCount: 1, errorCount: 0 });
    assert.deepEqual(await under('/Filter'), ['/Filter/copied.jpg', '/Filter/keep.jpg']);
    assert.deepEqual((await call('remove', { q: 'assetPath:"/Filter/copied.jpg"' })).body, { processedCount: 1, errorCount: 0 });
    // A source is read as a target is: `//` is one separator.
    assert.equal((await call('move', { source: '/Filter//keep.jpg', target: '/Filter/kept.jpg' })).status, 200);
    assert.deepEqual(await under('/Filter'), ['/Filter/kept.jpg']);
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

  it('moves folders whose names have letters beyond ASCII, with everything in them', async () => {
    // Paths match case-insensitively through keys lower-cased by JavaScript; SQL's lower() folds ASCII only
    // (SQLite) or differently (PostgreSQL: İ), and these folders were neither listed nor moved, their assets orphaned.
    for (const name of ['Été', 'İstanbul']) {
      await create(`/${name}/a.jpg`);
      await create(`/${name}/Sub/b.jpg`);
      const listed = (await call('browse', { path: `/${name}`, includeExtensions: 'all' })).body as Array<{ name: string }>;
      assert.deepEqual(listed.map((entry) => entry.name), ['Sub', 'a.jpg'], name);
      assert.deepEqual(await call('move', { source: `/${name}`, target: `/${name}-moved` }).then((result) => result.body), { processedCount: 2, errorCount: 0 });
      assert.deepEqual(await under(`/${name}-moved`), [`/${name}-moved/Sub/b.jpg`, `/${name}-moved/a.jpg`]);
      assert.deepEqual(await under(`/${name}`), []);
      assert.equal((await call('browse', { path: `/${name}` })).status, 404, 'the source folders went with their assets');
    }
  });

  it('renames a folder to another case of its name, and refuses a move onto itself or into a folder that holds it', async () => {
    await create('/CaseF/x.jpg');
    await create('/CaseF/Sub/y.jpg');
    assert.deepEqual((await call('move', { source: '/CaseF', target: '/casef' })).body, { processedCount: 2, errorCount: 0 });
    assert.deepEqual(await under('/casef'), ['/casef/Sub/y.jpg', '/casef/x.jpg']);
    const root = (await call('browse', { path: '/' })).body as Array<{ assetPath: string }>;
    assert.ok(root.some((entry) => entry.assetPath === '/casef') && !root.some((entry) => entry.assetPath === '/CaseF'), 'the folder itself is respelled');
    assert.equal((await call('move', { source: '/casef', target: '/casef' })).status, 400);

    // Merged into its own parent, /O/B/B/y.jpg would land on /O/B/y.jpg, inside the folder being moved away.
    await create('/O/B/y.jpg');
    await create('/O/B/B/y.jpg');
    for (const mode of ['move', 'copy']) {
      const merged = await call(mode, { source: '/O/B', target: '/O', folderReplacePolicy: 'MERGE', fileReplacePolicy: 'OVERWRITE' });
      assert.equal(merged.status, 400, JSON.stringify(merged.body));
    }
    assert.deepEqual(await under('/O'), ['/O/B/B/y.jpg', '/O/B/y.jpg']);
  });

  it('copies an asset onto its own path under a new name, and a target folder means "into it"', async () => {
    await create('/Self/x.jpg');
    assert.deepEqual((await call('copy', { source: '/Self/x.jpg', target: '/Self/x.jpg' })).body, { processedCount: 1, errorCount: 0 });
    assert.deepEqual((await call('copy', { source: '/Self/x.jpg', target: '/Self/X.jpg' })).body, { processedCount: 1, errorCount: 0 });
    assert.deepEqual(await under('/Self'), ['/Self/X-2.jpg', '/Self/x-1.jpg', '/Self/x.jpg'], 'the copy keeps the spelling asked for');

    await call('createFolder', { path: '/Into' });
    await create('/From/a.jpg');
    await create('/From/b.jpg');
    assert.equal((await call('move', { source: '/From/a.jpg', target: '/Into/' })).status, 200);
    assert.equal((await call('move', { source: '/From/b.jpg', target: '/Into' })).status, 200);
    assert.deepEqual(await under('/Into'), ['/Into/a.jpg', '/Into/b.jpg']);
    // An asset may not take a folder's path: renamed by AUTO_RENAME, refused otherwise.
    await call('createFolder', { path: '/Beside/c.jpg' });
    await create('/From/c.jpg');
    assert.equal((await call('move', { source: '/From/c.jpg', target: '/Beside/', fileReplacePolicy: 'THROW_EXCEPTION' })).status, 409);
    assert.equal((await call('move', { source: '/From/c.jpg', target: '/Beside/' })).status, 200);
    assert.deepEqual(await under('/Beside'), ['/Beside/c-1.jpg']);
    // A trailing `/` means "into it" for a folder too; without it, the path is the folder's new one.
    await create('/Trail/Src/d.jpg');
    await call('createFolder', { path: '/Trail/Dir' });
    assert.equal((await call('copy', { source: '/Trail/Src', target: '/Trail/Dir/' })).status, 200);
    assert.equal((await call('copy', { source: '/Trail/Src', target: '/Trail/Dir' })).status, 200);
    assert.deepEqual(await under('/Trail'), ['/Trail/Dir-1/d.jpg', '/Trail/Dir/Src/d.jpg', '/Trail/Src/d.jpg']);
  });

  it('AUTO_RENAME shortens a name at the length limit so that its renamed form stays valid', async () => {
    const long = `${'n'.repeat(251)}.jpg`;
    await create(`/Long/${long}`);
    await create(`/LongToo/${long}`);
    assert.equal((await call('move', { source: `/LongToo/${long}`, target: `/Long/${long}` })).status, 200);
    const [renamed] = (await under('/Long')).filter((path) => path !== `/Long/${long}`);
    assert.ok(renamed && Buffer.byteLength(renamed.slice('/Long/'.length)) <= 255 && renamed.endsWith('-1.jpg'), renamed);
    assert.equal((await call('move', { source: renamed, target: '/Elsewhere/' })).status, 200, 'and can be moved on');
  });

  it('a cancelled background transfer rolls back whole', async () => {
    for (let i = 0; i < 40; i++) await create(`/Cancel/${String(i).padStart(2, '0')}.jpg`);
    const transfers = suite.server.app.damson.transfers;
    let asked = 0;
    const request = { mode: 'move' as const, source: '/Cancel', target: '/Cancelled', folderPolicy: 'AUTO_RENAME' as const, filePolicy: 'AUTO_RENAME' as const, flattenFolders: false, cancelled: () => ++asked > 10 };
    const owner = { username: 'canceller', authorities: [] } as unknown as Parameters<typeof transfers.transfer>[0];
    await assert.rejects(transfers.transfer(owner, request), /Cancelled/);
    assert.equal(asked, 11, 'asked before each asset until told to stop');
    assert.equal((await under('/Cancel')).length, 40, 'nothing moved');
    assert.deepEqual(await under('/Cancelled'), []);
  });

  it('a copy of an asset whose previews are still being made gets its own rendering job', async () => {
    // No worker on this node, so the source stays pending.
    const server = await startServer(dialect, { DAMSON_ROLE: 'api' });
    try {
      const { username, password } = await createUser(server, { admin: true });
      const session = await login(server, username, password);
      const queued = async () => {
        const metrics = await server.app.inject({ method: 'GET', url: '/services/system/metrics', headers: session.cookieOnly });
        return Number(/^damson_jobs\{state="queued"\} (\d+)$/m.exec(metrics.body)?.[1]);
      };
      const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#c00' } }).png().toBuffer();
      const form = new FormData();
      form.append('folderPath', '/Pending');
      form.append('Filedata', new Blob([png]), 'a.png');
      const request = new Request('http://x/', { method: 'POST', body: form });
      const created = await server.app.inject({ method: 'POST', url: '/services/create', headers: { ...session.headers, 'content-type': request.headers.get('content-type')! }, payload: Buffer.from(await request.arrayBuffer()) });
      assert.equal(created.json().metadata.previewState, 'pending');
      const before = await queued();
      const copied = await postForm({ server, session }, 'copy', { source: '/Pending/a.png', target: '/Pending/b.png' });
      assert.deepEqual(copied.json(), { processedCount: 1, errorCount: 0 });
      assert.equal(await queued(), before + 1, 'the copy is queued for rendering, or it would stay pending forever');
    } finally {
      await server.close();
    }
  });

  it('keeps the spelling of the folders that exist, and never puts a folder where an asset is', async () => {
    await create('/Case/Src/a.jpg');
    await create('/Case/B.TXT');
    await create('/Case/taken.jpg');
    assert.equal((await call('move', { source: '/Case/Src', target: '/case/Moved' })).status, 200);
    assert.equal((await call('move', { source: '/Case/B.TXT', target: '/CASE/b.txt' })).status, 200);
    assert.deepEqual(await under('/Case'), ['/Case/Moved/a.jpg', '/Case/b.txt', '/Case/taken.jpg']);
    // A new spelling of a folder's own name changes that name only.
    assert.equal((await call('move', { source: '/Case/Moved', target: '/CASE/MOVED' })).status, 200);
    assert.deepEqual(await under('/Case'), ['/Case/MOVED/a.jpg', '/Case/b.txt', '/Case/taken.jpg']);
    assert.equal((await call('move', { source: '/Case/MOVED', target: '/case/MOVED' })).status, 400, 'already there');
    // A folder never lands on an asset's path: refused, or renamed.
    for (const folderReplacePolicy of ['MERGE', 'THROW_EXCEPTION']) {
      const refused = await call('copy', { source: '/Case/MOVED', target: '/Case/taken.jpg', folderReplacePolicy });
      assert.equal(refused.status, 409, folderReplacePolicy);
      assert.match(refused.body.message, /asset already exists/);
    }
    assert.equal((await call('copy', { source: '/Case/MOVED', target: '/Case/taken.jpg', folderReplacePolicy: 'AUTO_RENAME' })).status, 200);
    assert.deepEqual(await under('/Case'), ['/Case/MOVED/a.jpg', '/Case/b.txt', '/Case/taken.jpg', '/Case/taken.jpg-1/a.jpg']);
  });

  it('moves and copies folders whose names hold characters a new name may not, made before they were refused', async () => {
    const legacy = '/Legacy/In\u202Ecod.exe';
    // As an older Damson made them: no API makes such a folder now.
    await new AssetStore(suite.server.app.damson.database.db).ensureFolders(`${legacy}/Sub\u202Egpj`, 'admin', Date.now(), true);
    assert.equal((await call('create', { folderPath: `${legacy}/Sub\u202Egpj`, name: 'a.jpg' })).status, 200, 'an existing folder takes new assets');
    assert.equal((await call('copy', { source: legacy, target: '/LegacyCopy/' })).status, 200, 'its name goes along as it is');
    assert.deepEqual(await under('/LegacyCopy'), [`/LegacyCopy/In\u202Ecod.exe/Sub\u202Egpj/a.jpg`]);
    assert.equal((await call('move', { source: legacy, target: '/Legacy/Renamed' })).status, 200, 'and it can be renamed to a clean one');
    assert.deepEqual(await under('/Legacy'), ['/Legacy/Renamed/Sub\u202Egpj/a.jpg']);
    assert.equal((await call('move', { source: '/Legacy/Renamed', target: '/Legacy/Again\u202Ex' })).status, 400, 'but not to a new name that disguises it');
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
