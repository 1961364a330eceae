import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/database.js';
import { createTestSchema, dropTestSchema } from '../helpers/postgres.js';
import { startDamson } from '../helpers/process.js';
import { forEachDialect } from '../helpers/server.js';

const sha256 = (bytes: Buffer | ArrayBuffer) => createHash('sha256').update(Buffer.from(bytes as ArrayBuffer)).digest('hex');

await forEachDialect((dialect) => {
  let env: Record<string, string>;
  let schema: string | undefined;
  before(async () => {
    env = { DAMSON_DATA_DIR: mkdtempSync(join(tmpdir(), 'damson-crash-')), DAMSON_ADMIN_PASSWORD: 'crash-test-password', DAMSON_LOG_LEVEL: 'info' };
    if (dialect === 'postgres') {
      schema = `damson_crash_${process.pid}_${Date.now()}`;
      env.DAMSON_DATABASE_URL = await createTestSchema(schema);
    }
  });
  after(async () => {
    rmSync(env.DAMSON_DATA_DIR!, { recursive: true, force: true });
    if (schema) await dropTestSchema(schema);
  });

  it('SIGKILL during concurrent uploads: every acknowledged upload is intact after restart, nothing half-written is visible', async () => {
    const first = await startDamson(env);
    const token = ((await (await fetch(`${first.baseUrl}/services/apilogin`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: 'crash-test-password' }) })).json()) as { authToken: string }).authToken;
    const acknowledged = new Map<string, string>();
    let stop = false;
    const uploader = async (worker: number) => {
      for (let n = 0; !stop; n++) {
        const bytes = randomBytes(256 * 1024 + Math.floor(Math.random() * 2 * 1024 * 1024));
        const form = new FormData();
        form.append('folderPath', `/Crash/w${worker}`);
        form.append('Filedata', new Blob([bytes]), `file-${n}.bin`);
        try {
          const response = await fetch(`${first.baseUrl}/services/create`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
          if (response.status === 200) acknowledged.set(((await response.json()) as { id: string }).id, sha256(bytes));
        } catch {
          return; // the server died under us: this upload was never acknowledged
        }
      }
    };
    const uploads = Array.from({ length: 6 }, (_, worker) => uploader(worker));
    await sleep(1500 + Math.random() * 1000);
    first.killAll();
    await first.exited;
    stop = true;
    await Promise.all(uploads);
    assert.ok(acknowledged.size > 5, `only ${acknowledged.size} uploads were acknowledged before the kill`);

    const second = await startDamson(env);
    try {
      const headers = { authorization: `Bearer ${(await (await fetch(`${second.baseUrl}/services/apilogin`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: 'crash-test-password' }) })).json() as { authToken: string }).authToken}` };
      for (const [id, expected] of acknowledged) {
        const response = await fetch(`${second.baseUrl}/file/${id}`, { headers });
        assert.equal(response.status, 200, `acknowledged asset ${id} is missing`);
        assert.equal(sha256(await response.arrayBuffer()), expected, `acknowledged asset ${id} is damaged`);
      }
      // Every asset the database shows (acknowledged or not) is complete; the start swept every leftover.
      const database = await openDatabase({ dataDir: env.DAMSON_DATA_DIR!, databaseUrl: env.DAMSON_DATABASE_URL });
      try {
        const rows = await database.db.selectFrom('assets').select(['id', 'sha256']).execute();
        assert.ok(rows.length >= acknowledged.size);
        for (const row of rows) {
          const response = await fetch(`${second.baseUrl}/file/${row.id}`, { headers });
          assert.equal(sha256(await response.arrayBuffer()), row.sha256);
        }
        const blobs = readdirSync(join(env.DAMSON_DATA_DIR!, 'blobs'), { recursive: true }).map(String).filter((name) => /[0-9a-f]{64}$/.test(name));
        const referenced = new Set(rows.map((row) => row.sha256));
        assert.deepEqual(blobs.map((name) => name.slice(-64)).filter((key) => !referenced.has(key)), [], 'no orphan blob survives the restart');
        assert.deepEqual(readdirSync(join(env.DAMSON_DATA_DIR!, 'tmp')).filter((name) => name.endsWith('.part')), [], 'no staged upload survives the restart');
      } finally {
        await database.close();
      }
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
