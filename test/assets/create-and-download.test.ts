import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import sharp from 'sharp';
import { type Client, client, waitForRendition } from '../helpers/http-client.js';
import { closeFixtureTools, makeJpegWithExif, makePdf, makePngWithAlpha, makeVideo, missingToolsReason, sha256File } from '../helpers/media-fixtures.js';
import { createUser, forEachDialect, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- hits are checked field by field below
type Hit = { id: string; permissions: string; originalUrl: string; thumbnailUrl?: string; previewUrl?: string; metadata: Record<string, any> };
const sha256 = (bytes: ArrayBuffer | Buffer) => createHash('sha256').update(Buffer.from(bytes as ArrayBuffer)).digest('hex');

// Outside CI a machine without the media tools skips the video and PDF test (under CI=true that is a failure).
const missingMediaTools = await missingToolsReason('ffmpeg', 'ffprobe', 'pdftoppm');

await forEachDialect((dialect) => {
  let server: TestServer;
  let api: Client;
  let fixtures: string;
  let photo: string;
  let username: string;
  before(async () => {
    fixtures = mkdtempSync(join(tmpdir(), 'damson-fixtures-'));
    server = await startServer(dialect, { DAMSON_JOB_RETRY_SECONDS: '1' });
    ({ username } = await createUser(server));
    api = await client(server, await login(server, username, PASSWORD));
    photo = await makeJpegWithExif(fixtures, {
      width: 1200,
      height: 800,
      orientation: 6,
      description: 'Harbour at dawn',
      title: 'Harbour',
      keywords: ['sea', 'boats'],
      copyright: '© Damson Tests',
      artist: 'Ada Lovelace',
      dateTimeOriginal: '2021:06:01 05:30:00',
      make: 'Canon',
      model: 'EOS R5',
    });
  });
  after(async () => {
    await server.close();
    await closeFixtureTools();
    rmSync(fixtures, { recursive: true, force: true });
  });

  const createPhoto = async (fields: Record<string, string | string[]> = {}, path = photo, name?: string) => {
    const response = await api.upload('create', { folderPath: '/Photos/2021', ...fields }, { path, name, type: 'image/jpeg' });
    const body = (await response.json()) as Hit;
    assert.equal(response.status, 200, JSON.stringify(body));
    return body;
  };

  it('create answers the hit with the standard fields and the embedded metadata', async () => {
    const hit = await createPhoto({}, photo, 'harbour.jpg');
    assert.match(hit.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(hit.permissions, 'VPWUMERXCD');
    const m = hit.metadata;
    assert.equal(m.assetPath, '/Photos/2021/harbour.jpg');
    assert.equal(m.folderPath, '/Photos/2021');
    assert.equal(m.filename, 'harbour.jpg');
    assert.equal(m.name, 'harbour.jpg');
    assert.equal(m.baseName, 'harbour');
    assert.equal(m.extension, 'jpg');
    assert.equal(m.assetType, 'jpg');
    assert.equal(m.assetDomain, 'image');
    assert.equal(m.mimeType, 'image/jpeg');
    assert.equal(m.versionNumber, 1);
    assert.equal(m.assetCreator, username);
    assert.equal(m.assetModifier, username);
    assert.equal(m.fileSize.value, readFileSync(photo).length);
    assert.match(m.fileSize.formatted, /^\d+(\.\d)? (KB|MB|bytes)$/);
    assert.equal(typeof m.assetCreated.value, 'number');
    assert.match(m.assetCreated.formatted, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
    // Embedded: orientation 6 turns 1200×800 into a portrait 800×1200.
    assert.equal(m.width, 800);
    assert.equal(m.height, 1200);
    assert.equal(m.description, 'Harbour at dawn');
    assert.equal(m.title, 'Harbour');
    assert.deepEqual(m.tags, ['sea', 'boats']);
    assert.equal(m.copyright, '© Damson Tests');
    assert.equal(m.creatorName, 'Ada Lovelace');
    assert.equal(m.cameraMake, 'Canon');
    assert.equal(m.cameraModel, 'EOS R5');
    assert.equal(m.fileType, 'JPEG', 'the format, as the Assets Server names it');
    assert.equal(m.created.value, Date.parse('2021-06-01T05:30:00Z'));
    assert.equal(m.previewState, 'pending');
    // URLs are absolute, carry the cache-buster, and appear only for what exists.
    assert.match(hit.originalUrl, new RegExp(`^${api.baseUrl}/file/${hit.id}/\\*/harbour\\.jpg\\?_=1$`));
    assert.equal(hit.thumbnailUrl, undefined);
    assert.equal(hit.previewUrl, undefined);
  });

  it('values in the request win over embedded ones, from the metadata JSON and from field parameters', async () => {
    const hit = await createPhoto({ metadata: JSON.stringify({ description: 'From JSON', tags: ['mine'], cf_gtin: 1234567890123 }), title: 'From a field', rating: '4' });
    assert.equal(hit.metadata.description, 'From JSON');
    assert.deepEqual(hit.metadata.tags, ['mine']);
    assert.equal(hit.metadata.title, 'From a field');
    assert.equal(hit.metadata.rating, 4);
    assert.equal(hit.metadata.cf_gtin, '1234567890123', 'custom text fields come back as strings');
    assert.equal(hit.metadata.copyright, '© Damson Tests', 'embedded values fill what the request leaves out');
  });

  it('downloads the original byte for byte, with ETag, 304, ranges, HEAD and forceDownload', async () => {
    const hit = await createPhoto();
    const original = readFileSync(photo);
    const full = await api.get(hit.originalUrl);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'image/jpeg');
    assert.equal(Number(full.headers.get('content-length')), original.length);
    assert.equal(full.headers.get('cache-control'), 'private, max-age=31536000, immutable');
    const etag = full.headers.get('etag')!;
    assert.equal(sha256(await full.arrayBuffer()), sha256(original));
    assert.equal(etag, `"${sha256(original)}"`);

    assert.equal((await api.get(hit.originalUrl, { 'if-none-match': etag })).status, 304);
    for (const [range, start, end] of [['bytes=0-99', 0, 99], ['bytes=100-', 100, original.length - 1], ['bytes=-10', original.length - 10, original.length - 1], ['bytes=5-5', 5, 5], [`bytes=10-${original.length * 2}`, 10, original.length - 1]] as const) {
      const partial = await api.get(hit.originalUrl, { range });
      assert.equal(partial.status, 206, range);
      assert.equal(partial.headers.get('content-range'), `bytes ${start}-${end}/${original.length}`);
      assert.deepEqual(Buffer.from(await partial.arrayBuffer()), original.subarray(start, end + 1), range);
    }
    const unsatisfiable = await api.get(hit.originalUrl, { range: `bytes=${original.length}-` });
    assert.equal(unsatisfiable.status, 416);
    assert.match(unsatisfiable.headers.get('content-type')!, /^application\/json/);
    assert.equal(unsatisfiable.headers.get('content-range'), `bytes */${original.length}`);
    assert.equal(((await unsatisfiable.json()) as { errorcode: number }).errorcode, 416);
    const staleIfRange = await api.get(hit.originalUrl, { range: 'bytes=0-9', 'if-range': '"something-else"' });
    assert.equal(staleIfRange.status, 200);
    await staleIfRange.arrayBuffer();

    const head = await api.get(hit.originalUrl, {}, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), original.length);
    const legacy = await api.get(`/file/${hit.id}////any-name.jpg`);
    assert.equal(sha256(await legacy.arrayBuffer()), sha256(original));
    const forced = await api.get(`/file/${hit.id}/*/x.jpg?forceDownload=true`);
    assert.match(forced.headers.get('content-disposition')!, /^attachment; filename="[^"]+"; filename\*=UTF-8''/);
    await forced.arrayBuffer();
  });

  it('renders a thumbnail and the default preview with orientation applied, and custom previews on request', async () => {
    const hit = await createPhoto();
    const thumbnail = await waitForRendition(api, `/thumbnail/${hit.id}`);
    assert.equal(thumbnail.status, 200);
    assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
    const thumbMeta = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
    assert.ok(thumbMeta.width! <= 256 && thumbMeta.height! <= 256);
    assert.ok(thumbMeta.height! > thumbMeta.width!, 'portrait after EXIF orientation 6');

    const preview = await waitForRendition(api, `/preview/${hit.id}`);
    const previewMeta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    assert.deepEqual([previewMeta.width, previewMeta.height], [800, 1200], 'fits 1600×1600 without enlarging');

    // The hit now carries the rendition URLs, which work as given.
    const updated = (await (await api.upload('update', { id: hit.id, description: 'seen' })).json()) as Record<string, string>;
    assert.match(updated.thumbnailUrl!, new RegExp(`/thumbnail/${hit.id}/\\*/[^?]+_thumb\\.jpg\\?_=\\d+$`));
    assert.match(updated.previewUrl!, new RegExp(`/preview/${hit.id}/previews/maxWidth_1600_maxHeight_1600\\.jpg/\\*/[^?]+_preview\\.jpg\\?_=\\d+$`));
    for (const url of [updated.thumbnailUrl!, updated.previewUrl!]) {
      const response = await api.get(url);
      assert.equal(response.status, 200, url);
      await response.arrayBuffer();
    }

    const custom = await api.get(`/preview/${hit.id}/previews/maxWidth_300_maxHeight_200_quality_70.webp/*/small.webp`);
    assert.equal(custom.status, 200);
    assert.equal(custom.headers.get('content-type'), 'image/webp');
    const customMeta = await sharp(Buffer.from(await custom.arrayBuffer())).metadata();
    assert.equal(customMeta.format, 'webp');
    assert.ok(customMeta.width! <= 300 && customMeta.height! <= 200);
    const again = await api.get(`/preview/${hit.id}/previews/maxWidth_300_maxHeight_200_quality_70.webp`);
    assert.equal(again.headers.get('etag'), custom.headers.get('etag'), 'rendered once, then served from the store');
    await again.arrayBuffer();
    // By path instead of id (protocol §6.2), spaces and a folder called `previews` included.
    const byPath = await createPhoto({ folderPath: '/Demo Zone/previews' }, photo, 'by path.jpg');
    await waitForRendition(api, `/preview/${byPath.id}`).then((response) => response.arrayBuffer());
    const etagOf = async (url: string) => {
      const response = await api.get(url);
      assert.equal(response.status, 200, url);
      await response.arrayBuffer();
      return response.headers.get('etag');
    };
    const previewEtag = await etagOf(`/preview/${byPath.id}`);
    for (const url of ['/preview/Demo%20Zone/previews/by%20path.jpg', '/preview/demo%20zone/previews/BY%20PATH.jpg/previews/maxWidth_1600_maxHeight_1600.jpg', '/preview/Demo%20Zone/previews/by%20path.jpg/*/x.jpg']) {
      assert.equal(await etagOf(url), previewEtag, url);
    }
    assert.equal(await etagOf('/thumbnail/Demo%20Zone/previews/by%20path.jpg/*/x_thumb.jpg'), await etagOf(`/thumbnail/${byPath.id}`));
    const atRoot = await createPhoto({ folderPath: '/' }, photo, 'at-root.jpg');
    await waitForRendition(api, `/thumbnail/${atRoot.id}`).then((response) => response.arrayBuffer());
    assert.equal(await etagOf('/thumbnail/at-root.jpg'), await etagOf(`/thumbnail/${atRoot.id}`), 'an asset in the root folder too');
    const custom300 = await api.get('/preview/Demo%20Zone/previews/by%20path.jpg/previews/maxWidth_300_maxHeight_200.jpg');
    assert.equal(custom300.status, 200);
    assert.ok((await sharp(Buffer.from(await custom300.arrayBuffer())).metadata()).width! <= 300);
    for (const url of ['/preview/Demo%20Zone/nothing.jpg', '/preview/Demo%20Zone/a%00b.jpg/previews/x.jpg', '/thumbnail/x/../a%01.jpg']) {
      const missing = await api.get(url);
      assert.equal(missing.status, 404, `${url}: no such asset, not a database error`);
      assert.match(((await missing.json()) as { message: string }).message, /No asset with the id or path/);
    }
    for (const spec of ['maxWidth_99999_maxHeight_200.jpg', 'maxWidth_300_maxHeight_200.tiff', 'preview.exe', 'maxWidth_-1_maxHeight_2.jpg']) {
      const bad = await api.get(`/preview/${hit.id}/previews/${spec}`);
      assert.equal(bad.status, 400, spec);
      assert.equal(((await bad.json()) as { errorcode: number }).errorcode, 400);
    }
  });

  it('flattens a PNG with alpha into a JPEG preview', async () => {
    const png = await makePngWithAlpha(fixtures, 640, 480);
    const hit = (await (await api.upload('create', { folderPath: '/Graphics' }, { path: png, type: 'image/png' })).json()) as { id: string; metadata: Record<string, unknown> };
    assert.equal(hit.metadata.assetDomain, 'image');
    assert.equal(hit.metadata.mimeType, 'image/png');
    const preview = await waitForRendition(api, `/preview/${hit.id}`);
    assert.equal(preview.status, 200);
    const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.hasAlpha, false);
    assert.deepEqual([meta.width, meta.height], [640, 480]);
  });

  it('renders a poster, thumbnail and MP4 preview for a video, and a page preview for a PDF', { skip: missingMediaTools }, async () => {
    const video = await makeVideo(fixtures, { seconds: 2, width: 320, height: 240, withAudio: true });
    const videoHit = (await (await api.upload('create', { folderPath: '/Video' }, { path: video, type: 'video/mp4' })).json()) as { id: string; metadata: Record<string, unknown> };
    assert.equal(videoHit.metadata.assetDomain, 'video');
    const mp4 = await waitForRendition(api, `/preview/${videoHit.id}`);
    assert.equal(mp4.status, 200);
    assert.equal(mp4.headers.get('content-type'), 'video/mp4');
    assert.ok((await mp4.arrayBuffer()).byteLength > 1000);
    const poster = await api.get(`/preview/${videoHit.id}/previews/maxWidth_1600_maxHeight_1600.jpg`);
    assert.equal(poster.status, 200);
    assert.equal((await sharp(Buffer.from(await poster.arrayBuffer())).metadata()).width, 320);
    assert.equal((await api.get(`/thumbnail/${videoHit.id}`)).status, 200);

    const pdf = await makePdf(fixtures, 2);
    const pdfHit = (await (await api.upload('create', { folderPath: '/Docs' }, { path: pdf, type: 'application/pdf' })).json()) as { id: string; metadata: Record<string, unknown> };
    assert.equal(pdfHit.metadata.assetDomain, 'pdf');
    const page = await waitForRendition(api, `/preview/${pdfHit.id}`);
    assert.equal(page.status, 200);
    const meta = await sharp(Buffer.from(await page.arrayBuffer())).metadata();
    assert.ok(Math.max(meta.width!, meta.height!) <= 1600 && meta.width! > 100);
    assert.equal((await api.get(`/thumbnail/${pdfHit.id}`)).status, 200);
  });

  it('marks rendering failed with a reason after the last attempt instead of retrying forever', async () => {
    const broken = join(fixtures, 'broken.jpg');
    writeFileSync(broken, Buffer.alloc(5000, 7));
    const hit = (await (await api.upload('create', { folderPath: '/Broken' }, { path: broken })).json()) as { id: string };
    assert.equal((await api.get(`/thumbnail/${hit.id}`)).status, 409);
    // Each retry waits for its backoff: move the server's clock past it (the SQLite queue) or let real time pass
    // (pg-boss on PostgreSQL, with DAMSON_JOB_RETRY_SECONDS=1).
    let asset = await server.app.damson.assets.get(hit.id);
    for (const deadline = Date.now() + 30_000; asset.previewState !== 'failed' && Date.now() < deadline; ) {
      server.clock.advance(60_000);
      await new Promise((resolve) => setTimeout(resolve, 250));
      asset = await server.app.damson.assets.get(hit.id);
    }
    assert.equal(asset.previewState, 'failed');
    assert.ok(asset.renditionError && asset.renditionError.length > 0);
    const thumbnail = await api.get(`/thumbnail/${hit.id}`);
    assert.equal(thumbnail.status, 404);
    assert.match(((await thumbnail.json()) as { message: string }).message, /rendering failed/);
    // Where the data lives stays on the server: the reason a client sees names no path.
    await server.app.damson.database.db.updateTable('assets').set({ rendition_error: `ffprobe failed: ${server.dataDir}/blobs/66/0a/660ae6: Invalid data found` }).where('id', '=', hit.id).execute();
    const reason = ((await (await api.get(`/thumbnail/${hit.id}`)).json()) as { message: string }).message;
    assert.equal(reason, 'No preview: rendering failed (ffprobe failed: <file>: Invalid data found)');
    const original = await api.get(`/file/${hit.id}`);
    assert.equal(sha256(await original.arrayBuffer()), await sha256File(broken), 'the original is kept as uploaded');
  });

  it('creates placeholders and collections without a file', async () => {
    const collection = (await (await api.upload('create', { assetPath: '/Sets/Summer.collection' })).json()) as { id: string; originalUrl?: string; metadata: Record<string, unknown> };
    assert.equal(collection.metadata.assetDomain, 'container');
    assert.equal(collection.metadata.fileSize && (collection.metadata.fileSize as { value: number }).value, 0);
    assert.equal(collection.originalUrl, undefined);
    const named = (await (await api.upload('create', { folderPath: '/Sets', name: 'Winter', assetType: 'collection' })).json()) as { metadata: Record<string, unknown> };
    assert.equal(named.metadata.filename, 'Winter.collection');
    const placeholder = (await (await api.upload('create', { folderPath: '/Sets', name: 'later.jpg' })).json()) as { id: string; metadata: Record<string, unknown> };
    assert.equal(placeholder.metadata.previewState, 'no');
    assert.equal((await api.get(`/file/${placeholder.id}`)).status, 404);
  });

  it('autoRename renames clashes of uploaded names; an explicit name that clashes is 409', async () => {
    const first = await createPhoto({ folderPath: '/Clash' }, photo, 'same.jpg');
    const second = await createPhoto({ folderPath: '/Clash' }, photo, 'same.jpg');
    const third = await createPhoto({ folderPath: '/Clash' }, photo, 'SAME.jpg');
    assert.equal(first.metadata.filename, 'same.jpg');
    assert.equal(second.metadata.filename, 'same-1.jpg');
    assert.equal(third.metadata.filename, 'SAME-2.jpg', 'paths clash regardless of case');
    const explicit = await api.upload('create', { folderPath: '/Clash', name: 'same.jpg' }, { path: photo });
    assert.equal(explicit.status, 409);
    assert.equal(((await explicit.json()) as { errorcode: number }).errorcode, 409);
    const noRename = await api.upload('create', { folderPath: '/Clash', autoRename: 'false' }, { path: photo, name: 'same.jpg' });
    assert.equal(noRename.status, 409);
  });

  it('refuses bad input with a clear 400 and stores nothing', async () => {
    const before = (await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length;
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ folderPath: '/Bad', name: 'a:b.jpg' }, /may not contain ":"/],
      [{ folderPath: '/Bad', name: 'what?.jpg' }, /may not contain "\?"/],
      [{ folderPath: 'relative/path' }, /must start with \//],
      [{ folderPath: '/Bad/../x' }, /Invalid folder name/],
      [{}, /folderPath/],
      [{ folderPath: '/Bad', metadata: '{not json' }, /JSON object/],
      [{ folderPath: '/Bad', metadata: '[1,2]' }, /JSON object/],
      [{ folderPath: '/Bad', metadata: '{"noSuchField":1}' }, /Unknown metadata field/],
      [{ folderPath: '/Bad', metadata: '{"fileSize":1}' }, /cannot be set/],
      [{ folderPath: '/Bad', rating: '9' }, /rating/],
      [{ folderPath: '/Bad', metadata: '{"created":"yesterday"}' }, /date/],
      // Read by Number() and Date.parse, meant by nobody: a hexadecimal rating, 30 February (it became 2 March).
      [{ folderPath: '/Bad', rating: '0x3' }, /rating must be a whole number/],
      [{ folderPath: '/Bad', metadata: '{"rating":true}' }, /rating must be a whole number/],
      [{ folderPath: '/Bad', metadata: '{"created":"2026-02-30"}' }, /date/],
      // Names that disguise themselves: `invoice\u202Egpj.exe` shows as invoiceexe.jpg.
      [{ folderPath: '/Bad', name: 'invoice\u202Egpj.exe' }, /U\+202E/],
      [{ folderPath: '/Bad/\u2066Hidden' }, /U\+2066/],
      [{ folderPath: '/Bad', name: 'bell\u0085.jpg' }, /U\+0085/],
    ];
    for (const [fields, message] of cases) {
      const response = await api.upload('create', fields, { path: photo, name: fields.name ?? 'ok.jpg' });
      const body = (await response.json()) as { errorcode: number; message: string };
      assert.equal(response.status, 400, JSON.stringify(fields));
      assert.match(body.message, message);
    }
    // A field longer than a service body may be is refused whole, before or after the file, never stored cut short.
    const longTags = Array.from({ length: 990 }, (_, index) => `${index}`.padStart(4, '0') + 'k'.repeat(1100)).join(',');
    for (const fileFirst of [false, true]) {
      const response = fileFirst
        ? await api.upload('create', { folderPath: '/Bad' }, { path: photo, name: 'long.jpg' }, { tags: longTags })
        : await api.upload('create', { folderPath: '/Bad', tags: longTags }, { path: photo, name: 'long.jpg' });
      assert.equal(response.status, 413, `file first: ${fileFirst}`);
      assert.match(((await response.json()) as { message: string }).message, /Parameter tags is longer than 1048576 bytes/);
    }
    const after = (await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length;
    assert.equal(after, before);
    assert.deepEqual(readdirSync(join(server.dataDir, 'tmp')).filter((name) => name.endsWith('.part')), [], 'no staged file left behind');
  });

  it('takes the location from the metadata JSON too, and redirects to nextUrl on this server', async () => {
    const fromJson = await api.upload('create', { metadata: JSON.stringify({ folderPath: '/FromJson', filename: 'named.jpg', title: 'Placed' }) }, { path: photo, name: 'file-part.jpg' });
    assert.equal(fromJson.status, 200);
    const placed = (await fromJson.json()) as Hit;
    assert.equal(placed.metadata.assetPath, '/FromJson/named.jpg');
    assert.equal(placed.metadata.title, 'Placed');
    const paramsWin = (await (await api.upload('create', { folderPath: '/FromParams', metadata: JSON.stringify({ folderPath: '/FromJson' }) }, { path: photo, name: 'p.jpg' })).json()) as Hit;
    assert.equal(paramsWin.metadata.assetPath, '/FromParams/p.jpg');
    const filenameParam = (await (await api.upload('create', { folderPath: '/FromParams', filename: 'param.jpg', metadata: JSON.stringify({ name: 'json.jpg', assetPath: '/FromJson/elsewhere.jpg' }) }, { path: photo })).json()) as Hit;
    assert.equal(filenameParam.metadata.assetPath, '/FromParams/param.jpg', 'parameters win over every location in the JSON');
    const mixed = (await (await api.upload('create', { folderPath: '/FromParams', metadata: JSON.stringify({ filename: 'from-json.jpg' }) }, { path: photo })).json()) as Hit;
    assert.equal(mixed.metadata.assetPath, '/FromParams/from-json.jpg', 'a folder parameter and a name in the JSON');

    const created = await api.upload('create', { folderPath: '/Next', nextUrl: '/done.html?id=${id}&ok=1' }, { path: photo, name: 'n.jpg' });
    assert.equal(created.status, 301);
    const location = created.headers.get('location')!;
    const id = /^\/done\.html\?id=([\w-]{22})&ok=1$/.exec(location)?.[1];
    assert.ok(id, location);
    const updated = await api.upload('update', { id: id!, title: 'Next', nextUrl: 'detail?asset=${id}' });
    assert.equal(updated.status, 301);
    assert.equal(updated.headers.get('location'), `/detail?asset=${id}`);
    const before = (await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length;
    for (const nextUrl of ['https://evil.example/${id}', '//evil.example/', '/.//evil.example', 'javascript:alert(1)']) {
      const refused = await api.upload('create', { folderPath: '/Next', nextUrl }, { path: photo, name: 'refused.jpg' });
      assert.equal(refused.status, 400, nextUrl);
      assert.match(((await refused.json()) as { message: string }).message, /nextUrl must be a path on this server/);
    }
    assert.equal((await server.app.damson.database.db.selectFrom('assets').select('id').execute()).length, before, 'a refused nextUrl creates nothing');
  });

  it('metadataToReturn limits the fields of the hit', async () => {
    const some = await createPhoto({ metadataToReturn: 'description,tags' });
    assert.deepEqual(Object.keys(some.metadata).sort(), ['description', 'tags']);
    const minimal = await createPhoto({ metadataToReturn: '' });
    assert.deepEqual(Object.keys(minimal.metadata).sort(), ['assetDomain', 'assetPath', 'assetType', 'filename']);
    const all = await createPhoto({ metadataToReturn: 'all' });
    assert.ok(Object.keys(all.metadata).length > 20);
  });
});
