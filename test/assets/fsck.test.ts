import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { openDatabase } from '../../src/db/database.js';
import { createTestSchema, dropTestSchema } from '../helpers/postgres.js';
import { runDamson, startDamson } from '../helpers/process.js';
import { forEachDialect } from '../helpers/server.js';

const PASSWORD = 'fsck test password';
const blobPath = (dataDir: string, key: string) => join(dataDir, 'blobs', key.slice(0, 2), key.slice(2, 4), key);

await forEachDialect((dialect) => {
  let env: Record<string, string>;
  let schema: string | undefined;
  before(async () => {
    env = { DAMSON_DATA_DIR: mkdtempSync(join(tmpdir(), 'damson-fsck-')), DAMSON_ADMIN_PASSWORD: PASSWORD, DAMSON_LOG_LEVEL: 'info' };
    if (dialect === 'postgres') {
      schema = `damson_fsck_${process.pid}_${Date.now()}`;
      env.DAMSON_DATABASE_URL = await createTestSchema(schema);
    }
  });
  after(async () => {
    rmSync(env.DAMSON_DATA_DIR!, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  const withServer = async <T>(work: (baseUrl: string, headers: Record<string, string>) => Promise<T>): Promise<T> => {
    const server = await startDamson(env);
    try {
      const login = await fetch(`${server.baseUrl}/services/apilogin`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: PASSWORD }) });
      return await work(server.baseUrl, { authorization: `Bearer ${((await login.json()) as { authToken: string }).authToken}` });
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  };
  const thumbnailServed = async (baseUrl: string, headers: Record<string, string>, id: string) => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
      const response = await fetch(`${baseUrl}/thumbnail/${id}`, { headers });
      await response.arrayBuffer();
      if (response.status !== 409) return response.status === 200;
    }
    return false;
  };

  it('damson fsck reports orphan and missing files; --repair removes old orphans and makes missing previews again', async () => {
    const ids = await withServer(async (baseUrl, headers) => {
      const made: string[] = [];
      for (const [name, colour] of [['lost.png', '#c00'], ['thumbless.png', '#0a0']] as const) {
        const png = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="${colour}"/></svg>`)).png().toBuffer();
        const form = new FormData();
        form.append('folderPath', '/Fsck');
        form.append('Filedata', new Blob([png]), name);
        const created = (await (await fetch(`${baseUrl}/services/create`, { method: 'POST', body: form, headers })).json()) as { id: string };
        assert.ok(await thumbnailServed(baseUrl, headers, created.id));
        made.push(created.id);
      }
      return made;
    });
    assert.equal((await runDamson(['fsck'], env)).code, 0, 'a fresh store is clean');

    // Damage the store while Damson is down: an original and a thumbnail vanish, two stray files appear.
    const dataDir = env.DAMSON_DATA_DIR!;
    const database = await openDatabase({ dataDir, databaseUrl: env.DAMSON_DATABASE_URL });
    let lostKey: string;
    try {
      lostKey = (await database.db.selectFrom('assets').select('blob_key').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).blob_key!;
      const thumbnail = await database.db.selectFrom('renditions').select('blob_key').where('asset_id', '=', ids[1]!).where('name', '=', 'thumbnail').executeTakeFirstOrThrow();
      unlinkSync(blobPath(dataDir, lostKey));
      unlinkSync(blobPath(dataDir, thumbnail.blob_key));
    } finally {
      await database.close();
    }
    const oldOrphan = 'a'.repeat(64);
    const newOrphan = 'b'.repeat(64);
    for (const key of [oldOrphan, newOrphan]) {
      mkdirSync(join(blobPath(dataDir, key), '..'), { recursive: true });
      writeFileSync(blobPath(dataDir, key), 'stray bytes');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(blobPath(dataDir, oldOrphan), twoHoursAgo, twoHoursAgo);

    const report = await runDamson(['fsck'], env);
    assert.equal(report.code, 1, report.stdout + report.stderr);
    assert.match(report.stdout, /1 stored file\(s\) no asset uses \(--repair removes them\)/, 'the fresh stray file may be an upload in progress');
    assert.match(report.stdout, new RegExp(`missing original of /Fsck/lost\\.png \\[${ids[0]}\\]: ${lostKey}`));
    assert.match(report.stdout, /missing rendition \(thumbnail\) of \/Fsck\/thumbless\.png/);
    assert.ok(existsSync(blobPath(dataDir, oldOrphan)), 'without --repair nothing changes');

    const repair = await runDamson(['fsck', '--repair'], env);
    assert.equal(repair.code, 1, 'an original cannot be made again, so problems remain');
    assert.match(repair.stdout, /removed 1\./);
    assert.match(repair.stdout, /Queued previews again for 1 asset\(s\)\./);
    assert.ok(!existsSync(blobPath(dataDir, oldOrphan)));
    assert.ok(existsSync(blobPath(dataDir, newOrphan)), 'a recent stray file is left alone');

    // The next start makes the lost thumbnail again; the lost original stays reported.
    await withServer(async (baseUrl, headers) => assert.ok(await thumbnailServed(baseUrl, headers, ids[1]!)));
    const after = await runDamson(['fsck'], env);
    assert.equal(after.code, 1);
    assert.doesNotMatch(after.stdout, /missing rendition/);
    assert.match(after.stdout, /missing original of \/Fsck\/lost\.png/);
  });
});
