import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type FormValues, forEachDialect, postForm, serverWithSession } from '../helpers/server.js';

type Entry = { name: string; assetPath: string; directory: boolean; collection: boolean; id?: string; containerId?: string; permissionMask: string; children?: Entry[] };

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);

  const call = async (service: string, params: FormValues) => {
    const response = await postForm(suite, service, params);
    return { status: response.statusCode, body: response.json() };
  };
  const create = async (params: Record<string, string>) => (await call('create', params)).body as { id: string };
  const count = async (q: string) => (await call('search', { q, num: '0' })).body.totalHits as number;

  it('createFolder makes each path and its parents, and says what happened per path', async () => {
    const { status, body } = await call('createFolder', { path: ['/Brand/Logos/2026', '/Brand', '/Bad:Name', '/Brand/Logos/'] });
    assert.equal(status, 200);
    assert.equal(body['/Brand/Logos/2026'], 'created');
    assert.equal(body['/Brand'], 'already exists', 'made as the parent of the first path');
    assert.equal(body['/Brand/Logos'], 'already exists');
    assert.match(body['/Bad:Name'], /may not contain ":"/);
    assert.equal((await call('createFolder', {})).status, 400);
  });

  it('createFolder keeps the spelling of the folders that exist, names each folder once, and never takes an asset\'s place', async () => {
    await create({ folderPath: '/Spelt', name: 'b.jpg' });
    const { body } = await call('createFolder', { path: ['/spelt/New', '/SPELT/new/', '//Spelt/New', '/spelt/b.jpg', '/Spelt/b.jpg/Below'] });
    assert.deepEqual(Object.keys(body), ['/Spelt/New', '/Spelt/b.jpg', '/Spelt/b.jpg/Below']);
    assert.equal(body['/Spelt/New'], 'created', 'the first of the same folder named three ways says what happened');
    assert.match(body['/Spelt/b.jpg'], /asset already exists at \/Spelt\/b.jpg/);
    assert.match(body['/Spelt/b.jpg/Below'], /asset already exists at \/Spelt\/b.jpg/);
    assert.match((await call('createFolder', { path: '/Spelt/\u202Ecod.exe' })).body['/Spelt/\u202Ecod.exe'], /may not contain the character U\+202E/);
    const listed = (await call('browse', { path: '/Spelt', includeExtensions: 'all' })).body as Entry[];
    assert.deepEqual(listed.map((entry) => [entry.assetPath, entry.directory]), [['/Spelt/New', true], ['/Spelt/b.jpg', false]]);
    // An asset created into an existing folder spelt otherwise joins it as it is spelt.
    const hit = (await call('create', { folderPath: '/SPELT/new', name: 'c.jpg' })).body as { metadata: Record<string, string> };
    assert.deepEqual([hit.metadata.folderPath, hit.metadata.assetPath], ['/Spelt/New', '/Spelt/New/c.jpg']);
    assert.equal((await call('create', { folderPath: '/Spelt/b.jpg', name: 'inside.jpg' })).status, 409, 'no folder in the place of an asset');
    assert.equal(await count('ancestorPaths:"/Spelt/b.jpg"'), 0);
  });

  it('browse lists folders first, then (by default) collections only, as a bare array', async () => {
    await create({ folderPath: '/Browse/Sub', name: 'a.jpg' });
    await create({ folderPath: '/Browse', name: 'b.jpg' });
    const collection = await create({ assetPath: '/Browse/Set.collection' });
    await call('createFolder', { path: '/Browse/Empty' });
    const { status, body } = await call('browse', { path: '/Browse' });
    assert.equal(status, 200);
    assert.ok(Array.isArray(body));
    assert.deepEqual((body as Entry[]).map((entry) => entry.name), ['Empty', 'Sub', 'Set.collection']);
    const [folder, , set] = body as Entry[];
    assert.deepEqual(folder, { name: 'Empty', assetPath: '/Browse/Empty', directory: true, collection: false, browsable: true, permissionMask: 'VPWUMERXCD', removing: false });
    assert.equal(set!.collection, true);
    assert.equal(set!.containerId, collection.id);

    const everything = (await call('browse', { path: '/Browse', includeExtensions: 'all' })).body as Entry[];
    assert.deepEqual(everything.map((entry) => entry.name), ['Empty', 'Sub', 'b.jpg', 'Set.collection']);
    const jpgOnly = (await call('browse', { path: '/Browse', includeExtensions: '.jpg', includeFolders: 'false' })).body as Entry[];
    assert.deepEqual(jpgOnly.map((entry) => entry.name), ['b.jpg']);
    const foldersOnly = (await call('browse', { path: '/Browse', includeAsset: 'false' })).body as Entry[];
    assert.deepEqual(foldersOnly.map((entry) => entry.name), ['Empty', 'Sub']);
    const root = (await suite.server.app.inject({ method: 'GET', url: '/services/browse?path=/', headers: suite.session.cookieOnly })).json() as Entry[];
    assert.ok(root.some((entry) => entry.assetPath === '/Browse'));
  });

  it('browse with fromRoot nests every level down to the path', async () => {
    await create({ folderPath: '/Tree/A/B', name: 'deep.collection' });
    const levels = (await call('browse', { path: '/Tree/A/B', fromRoot: '/' })).body as Entry[];
    const tree = levels.find((entry) => entry.assetPath === '/Tree')!;
    const a = tree.children!.find((entry) => entry.assetPath === '/Tree/A')!;
    const b = a.children!.find((entry) => entry.assetPath === '/Tree/A/B')!;
    assert.deepEqual(b.children!.map((entry) => entry.name), ['deep.collection']);
    assert.equal((await call('browse', { path: '/Tree/A', fromRoot: '/Elsewhere' })).status, 400);
    assert.equal((await call('browse', { path: '/No/Such/Folder' })).status, 404);
    assert.equal((await call('browse', {})).status, 400);
  });

  it('remove by ids, by query and by folder; unknown ids count as errors; q wins over ids', async () => {
    const one = await create({ folderPath: '/Remove', name: 'one.jpg', tags: 'gone' });
    const two = await create({ folderPath: '/Remove', name: 'two.jpg', tags: 'gone' });
    const keep = await create({ folderPath: '/Remove', name: 'keep.jpg', tags: 'stay' });
    const byIds = await call('remove', { ids: `${one.id},${'x'.repeat(22)}` });
    assert.deepEqual(byIds.body, { processedCount: 1, errorCount: 1 });
    assert.equal((await suite.server.app.inject({ method: 'GET', url: `/file/${one.id}`, headers: suite.session.cookieOnly })).statusCode, 404);
    const byQuery = await call('remove', { q: 'tags:gone', ids: keep.id });
    assert.deepEqual(byQuery.body, { processedCount: 1, errorCount: 0 }, 'q takes precedence over ids');
    assert.equal(await count(`id:${two.id}`), 0);
    assert.equal(await count(`id:${keep.id}`), 1);
    assert.equal(await count('tags:gone'), 0, 'the index forgets removed assets');
  });

  it('remove by folderPath removes the folder, its subfolders and all their assets', async () => {
    await create({ folderPath: '/Doomed/Sub/Deeper', name: 'x.jpg', description: 'doomedword' });
    await create({ folderPath: '/Doomed', name: 'y.jpg' });
    await create({ folderPath: '/DoomedNot', name: 'z.jpg' });
    const { body } = await call('remove', { folderPath: '/Doomed' });
    assert.deepEqual(body, { processedCount: 2, errorCount: 0 });
    assert.equal(await count('ancestorPaths:"/Doomed"'), 0);
    assert.equal(await count('doomedword'), 0);
    assert.equal(await count('ancestorPaths:"/DoomedNot"'), 1, 'a sibling with the same prefix is untouched');
    assert.equal((await call('browse', { path: '/Doomed' })).status, 404);
    assert.equal((await call('remove', { folderPath: '/' })).status, 400);
    assert.equal((await call('remove', { folderPath: '/Never/Was' })).status, 404);
    assert.equal((await call('remove', {})).status, 400);
  });

  it('remove with async=true answers a processId whose info gives the counts; it cannot be cancelled halfway', async () => {
    await create({ folderPath: '/Later/Ökologie', name: 'x.jpg' });
    await create({ folderPath: '/Later', name: 'y.jpg' });
    const { body } = await call('remove', { folderPath: '/Later', async: 'true' });
    assert.match(body.processId, /^[A-Za-z0-9_-]{22}$/);
    const cancel = (await call('process/cancel', { processId: body.processId })).body;
    assert.equal(cancel.cancelable, false);
    assert.notEqual(cancel.status, 'cancelled', 'one transaction: a cancel that cannot stop it must not say it did');
    let info = cancel;
    for (let i = 0; i < 100 && info.status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      info = (await call('process/info', { processId: body.processId })).body;
    }
    assert.equal(info.status, 'done');
    assert.equal(info.processedCount, 2);
    assert.equal(await count('ancestorPaths:"/Later"'), 0);
  });

  it('a NUL character in metadata or ids is a clear answer on both stores, never a 500', async () => {
    // PostgreSQL cannot hold U+0000 in text; SQLite can, and the two stores must agree.
    const created = await call('create', { folderPath: '/Nul', name: 'a.jpg', description: 'x\u0000y' });
    assert.equal(created.status, 400);
    assert.match(created.body.message, /NUL/);
    assert.deepEqual((await call('remove', { ids: 'a\u0000' })).body, { processedCount: 0, errorCount: 1 });
  });

  it('fieldinfo describes the field catalogue', async () => {
    const response = await suite.server.app.inject({ method: 'GET', url: '/services/fieldinfo', headers: suite.session.cookieOnly });
    const body = response.json() as { fieldGroups: Array<{ name: string; fields: Array<{ name: string; datatype: string; multivalue: boolean; editable: boolean }> }> };
    const fields = new Map(body.fieldGroups.flatMap((group) => group.fields).map((field) => [field.name, field]));
    assert.deepEqual(fields.get('tags'), { ...fields.get('tags'), datatype: 'text', multivalue: true, editable: true });
    assert.equal(fields.get('assetCreated')!.datatype, 'datetime');
    assert.equal(fields.get('assetCreated')!.editable, false);
    assert.equal(fields.get('rating')!.datatype, 'number');
    // Clients test `if (field.predefinedValues)`: an empty list would make every field a pick list.
    assert.ok([...fields.values()].every((field) => !('predefinedValues' in field)));
  });
});
