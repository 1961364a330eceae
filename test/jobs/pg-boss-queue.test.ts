import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/schema.js';
import { PgBossJobQueue } from '../../src/jobs/pg-boss-queue.js';
import { createTestSchema, dropTestSchema, postgresUnavailableReason } from '../helpers/postgres.js';

const skip = await postgresUnavailableReason();

/**
 * The PostgreSQL job queue on its own: a job that runs past its lease (pg-boss fails such a handler without a
 * word) must fail loudly, with the reason logged and handed to giveUp, so its asset is not left pending.
 */
describe('the pg-boss job queue', { skip }, () => {
  const schema = `damson_jobs_${process.pid}_${Date.now()}`;
  let db: Kysely<Database>;
  let queue: PgBossJobQueue;
  const warnings: Array<Record<string, unknown>> = [];
  const gaveUp: Array<{ assetId: string; reason: string }> = [];
  const log = { warn: (fields: Record<string, unknown>) => warnings.push(fields) } as unknown as FastifyBaseLogger;

  before(async () => {
    const connectionString = await createTestSchema(schema);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString, max: 2 }) }) });
    const slow = {
      run: () => sleep(5_000),
      giveUp: async (job: { assetId: string | null }, reason: string) => {
        gaveUp.push({ assetId: job.assetId!, reason });
      },
    };
    queue = new PgBossJobQueue(db, { render: slow }, log, { connectionString, schema, concurrency: 1, maxAttempts: 1, leaseMs: 2_000, retryDelaySeconds: 1 });
    await queue.init();
    await queue.startWorking();
  });

  after(async () => {
    await queue?.stop();
    await db?.destroy();
    await dropTestSchema(schema);
  });

  it('fails a job that outlives its lease with the reason, and gives up on its last attempt', async () => {
    await queue.enqueue(db, 'render', 'asset-1', {});
    queue.notify();
    for (const deadline = Date.now() + 30_000; gaveUp.length === 0; ) {
      assert.ok(Date.now() < deadline, 'the overdue job was never given up');
      await sleep(100);
    }
    assert.equal(gaveUp[0]!.assetId, 'asset-1');
    assert.match(gaveUp[0]!.reason, /longer than its lease \(2 s, DAMSON_JOB_LEASE_SECONDS\)/);
    assert.equal(warnings[0]?.lastAttempt, true);
    for (const deadline = Date.now() + 10_000; (await queue.counts()).failed === 0; ) {
      assert.ok(Date.now() < deadline, 'the job never showed as failed');
      await sleep(100);
    }
    assert.deepEqual(await queue.counts(), { queued: 0, running: 0, done: 0, failed: 1 });
  });
});
