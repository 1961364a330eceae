import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { type Client, client } from '../helpers/http-client.js';
import { createUser, login, PASSWORD, startServer, type TestServer } from '../helpers/server.js';

const sha256 = (bytes: Buffer | ArrayBuffer) => createHash('sha256').update(Buffer.from(bytes as ArrayBuffer)).digest('hex');

/** A real full disk: the data directory on a 12 MB tmpfs (needs root, as in CI; elsewhere the suite is skipped). */
function mountSmallDisk(): { dir: string; unmount(): void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'damson-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir]);
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const reason = `cannot mount a small tmpfs: ${mounted.stderr?.toString().trim() || 'mount failed'}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (required under CI=true)`);
    return reason;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const disk = mountSmallDisk();

describe('a full disk', { skip: typeof disk === 'string' ? disk : false }, () => {
  const { dir, unmount } = disk as Exclude<typeof disk, string>;
  let server: TestServer;
  let closed = false;
  let api: Client;
  before(async () => {
    server = await startServer('sqlite', { DAMSON_DATA_DIR: dir, DAMSON_WORKER_CONCURRENCY: '0' });
    const { username } = await createUser(server);
    api = await client(server, await login(server, username, PASSWORD));
  });
  after(async () => {
    if (server && !closed) await server.close();
    unmount();
  });

  it('uploads get a JSON 507 once the disk is full; what was acknowledged stays intact and the database stays sound', async () => {
    const acknowledged = new Map<string, string>();
    let refusal: { status: number; body: { errorcode?: number; message?: string } } | undefined;
    for (let n = 0; n < 20 && !refusal; n++) {
      const path = join(tmpdir(), `damson-full-upload-${process.pid}.bin`);
      const bytes = randomBytes(1536 * 1024);
      writeFileSync(path, bytes);
      const response = await api.upload('create', { folderPath: '/Full' }, { path, name: `file-${n}.bin` });
      const body = (await response.json()) as { id: string; errorcode?: number; message?: string };
      rmSync(path, { force: true });
      if (response.status === 200) acknowledged.set(body.id, sha256(bytes));
      else refusal = { status: response.status, body };
    }
    assert.ok(refusal, 'the 12 MB disk never filled up');
    assert.equal(refusal.status, 507, JSON.stringify(refusal.body));
    assert.equal(refusal.body.errorcode, 507);
    assert.match(refusal.body.message ?? '', /out of storage space/);
    assert.ok(acknowledged.size >= 2, `only ${acknowledged.size} uploads fitted`);

    assert.equal((await api.get('/services/ping')).status, 200, 'the server keeps answering');
    for (const [id, expected] of acknowledged) {
      const response = await api.get(`/file/${id}`);
      assert.equal(response.status, 200);
      assert.equal(sha256(await response.arrayBuffer()), expected, `asset ${id} damaged`);
    }
    assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'no half-written upload is left in tmp');
    const search = (await (await api.get('/services/search?q=folderPath:"/Full"&num=0')).json()) as { totalHits: number };
    assert.equal(search.totalHits, acknowledged.size, 'no row for the refused upload');

    // ExifTool's helper processes may take a few seconds to stop after a full disk, on unref'd timers only: hold
    // the event loop open meanwhile, or node:test would take the quiet for the end of the test.
    const holdOpen = setInterval(() => {}, 1000);
    await server.close();
    clearInterval(holdOpen);
    closed = true;
    const sqlite = new Database(join(dir, 'damson.sqlite'), { readonly: true });
    try {
      assert.equal(sqlite.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      sqlite.close();
    }
  });
});
