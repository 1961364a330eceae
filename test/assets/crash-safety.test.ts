import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../src/db/database.js';
import { createTestSchema, dropTestSchema } from '../helpers/postgres.js';
import { runDamson, startDamson } from '../helpers/process.js';
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
  it('SIGKILL during concurrent updates, moves, copies and removes: after restart each asset is in its last acknowledged or in-flight state, whole', async () => {
    const apiToken = async (baseUrl: string) =>
      ((await (await fetch(`${baseUrl}/services/apilogin`, { method: 'POST', body: new URLSearchParams({ username: 'admin', password: 'crash-test-password' }) })).json()) as { authToken: string }).authToken;
    const first = await startDamson(env);
    const headers = { authorization: `Bearer ${await apiToken(first.baseUrl)}` };
    const call = async (service: string, fields: Record<string, string>) => {
      const response = await fetch(`${first.baseUrl}/services/${service}`, { method: 'POST', body: new URLSearchParams(fields), headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    // Each worker owns its assets, so for every asset the order of operations is known.
    interface Expected { path: string; description: string; removed: boolean }
    const acknowledged = new Map<string, Expected>();
    const inFlight = new Map<string, Expected>();
    const workers = 4;
    const perWorker = 5;
    for (let worker = 0; worker < workers; worker++) {
      for (let n = 0; n < perWorker; n++) {
        const form = new FormData();
        form.append('folderPath', `/Ops/w${worker}/a`);
        form.append('description', 'v0');
        form.append('Filedata', new Blob([randomBytes(64 * 1024)]), `asset-${n}.bin`);
        const hit = (await (await fetch(`${first.baseUrl}/services/create`, { method: 'POST', body: form, headers })).json()) as { id: string; metadata: { assetPath: string } };
        acknowledged.set(hit.id, { path: hit.metadata.assetPath, description: 'v0', removed: false });
      }
    }
    let stop = false;
    let copies = 0;
    const operate = async (worker: number) => {
      const mine = [...acknowledged.keys()].slice(worker * perWorker, (worker + 1) * perWorker);
      for (let step = 1; !stop; step++) {
        const id = mine[step % mine.length]!;
        const before = acknowledged.get(id)!;
        if (mine.every((owned) => acknowledged.get(owned)!.removed)) return;
        if (before.removed) continue;
        const choice = step % 7;
        let after: Expected;
        let request: () => Promise<{ status: number; body: Record<string, unknown> }>;
        if (choice === 6 && step > 20) {
          after = { ...before, removed: true };
          request = () => call('remove', { ids: id });
        } else if (choice % 2 === 0) {
          const folder = before.path.includes('/a/') ? 'b' : 'a';
          const target = before.path.replace(/\/[ab]\//, `/${folder}/`);
          after = { ...before, path: target };
          request = () => call('move', { source: before.path, target });
        } else if (choice === 5) {
          after = before;
          request = async () => {
            const result = await call('copy', { source: before.path, target: `/Ops/copies/w${worker}-${step}.bin` });
            if (result.status === 200) copies++;
            return result;
          };
        } else {
          after = { ...before, description: `v${step}` };
          request = () => call('update', { id, metadata: JSON.stringify({ description: `v${step}` }) });
        }
        inFlight.set(id, after);
        try {
          const result = await request();
          assert.equal(result.status, 200, JSON.stringify(result.body));
          acknowledged.set(id, after);
          inFlight.delete(id);
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          return; // the server died under us
        }
      }
    };
    const running = Array.from({ length: workers }, (_, worker) => operate(worker));
    await sleep(1500 + Math.random() * 1000);
    first.killAll();
    await first.exited;
    stop = true;
    await Promise.all(running);

    const second = await startDamson(env);
    try {
      const secondHeaders = { authorization: `Bearer ${await apiToken(second.baseUrl)}` };
      const find = async (query: string) =>
        ((await (await fetch(`${second.baseUrl}/services/search?${new URLSearchParams({ q: query, num: '100' })}`, { headers: secondHeaders })).json()) as {
          totalHits: number;
          hits: Array<{ id: string; metadata: { assetPath: string; folderPath: string; description?: string } }>;
        });
      for (const [id, last] of acknowledged) {
        const possible = [last, ...(inFlight.has(id) ? [inFlight.get(id)!] : [])];
        const found = (await find(`id:${id}`)).hits[0];
        const state: Expected | undefined = found && { path: found.metadata.assetPath, description: found.metadata.description ?? '', removed: false };
        const matches = possible.some((expected) => (expected.removed ? !found : state && state.path === expected.path && state.description === expected.description));
        assert.ok(matches, `asset ${id} is ${JSON.stringify(state ?? 'gone')}, expected one of ${JSON.stringify(possible)}`);
        if (!found) continue;
        // Whole, not half-moved: the path fields and the search index agree, and it is in exactly one place.
        assert.equal(found.metadata.folderPath, found.metadata.assetPath.slice(0, found.metadata.assetPath.lastIndexOf('/')));
        const inFolder = await find(`folderPath:"${found.metadata.folderPath}"`);
        assert.ok(inFolder.hits.some((hit) => hit.id === id), `${id} is not found in its folder ${found.metadata.folderPath}`);
        const byPath = await find(`assetPath:"${found.metadata.assetPath}"`);
        assert.deepEqual(byPath.hits.map((hit) => hit.id), [id]);
      }
      assert.ok(copies >= 0);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const fsck = await runDamson(['fsck'], env);
    assert.equal(fsck.code, 0, `the database and the blob store agree after the crash:\n${fsck.stdout}`);
  });
});
