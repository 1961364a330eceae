import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/schema.js';
import { PgBossJobQueue, type PgBossQueueOptions } from '../../src/jobs/pg-boss-queue.js';
import type { JobHandler } from '../../src/jobs/worker.js';
import { createTestSchema, dropTestSchema, postgresUnavailableReason } from '../helpers/postgres.js';

const skip = await postgresUnavailableReason();

/** Waits until `done` holds, checking every 100 ms; fails saying `message()` after `ms`. */
async function eventually(done: () => boolean, ms: number, message: () => string): Promise<void> {
  for (const deadline = Date.now() + ms; !done(); ) {
    assert.ok(Date.now() < deadline, message());
    await sleep(100);
  }
}

/** The PostgreSQL job queue (pg-boss) on its own, each test in a schema of its own. */
describe('the pg-boss job queue', { skip }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  const warnings: Array<Record<string, unknown>> = [];
  const log = { warn: (fields: Record<string, unknown>) => warnings.push(fields) } as unknown as FastifyBaseLogger;
  let db: Kysely<Database>;
  let connectionString: string;
  let schema: string;

  before(async () => {
    schema = `damson_jobs_${process.pid}_${Date.now()}`;
    connectionString = await createTestSchema(schema);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString, max: 2 }) }) });
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await db?.destroy();
    await dropTestSchema(schema);
  });

  const queueOf = async (type: string, handler: JobHandler, options: Partial<PgBossQueueOptions>) => {
    const queue = new PgBossJobQueue(db, { [type]: handler }, log, {
      connectionString,
      schema,
      concurrency: 1,
      maxAttempts: 1,
      leaseMs: 60_000,
      idlePollMs: 1000,
      retryDelaySeconds: 1,
      ...options,
    });
    cleanups.push(() => queue.stop());
    await queue.init();
    return queue;
  };

  it('fails a job that outlives its lease (pg-boss drops it silently) with the reason, and gives up on its last attempt', async () => {
    const gaveUp: Array<{ assetId: string | null; reason: string }> = [];
    const queue = await queueOf('slow', { run: () => sleep(5_000), giveUp: async (job, reason) => void gaveUp.push({ assetId: job.assetId, reason }) }, { leaseMs: 2_000 });
    await queue.enqueue(db, 'slow', 'asset-1', {});
    await queue.startWorking();
    await eventually(() => gaveUp.length > 0, 30_000, () => 'the overdue job was never given up');
    assert.equal(gaveUp[0]!.assetId, 'asset-1');
    assert.match(gaveUp[0]!.reason, /longer than its lease \(2 s, DAMSON_JOB_LEASE_SECONDS\)/);
    assert.equal(warnings.find((warning) => warning.type === 'slow')?.lastAttempt, true);
  });

  it('runs queued jobs back to back, not one per polling interval', async () => {
    // With a poll every 60 s, the five jobs take four minutes if a worker waits out its interval between jobs.
    const ran: string[] = [];
    const queue = await queueOf('quick', { run: async (job) => void ran.push(job.assetId!) }, { idlePollMs: 60_000 });
    for (let index = 0; index < 5; index += 1) await queue.enqueue(db, 'quick', `asset-${index}`, {});
    await queue.startWorking();
    await eventually(() => ran.length === 5, 30_000, () => `only ${ran.length} of 5 queued jobs ran in 30 s`);
    assert.deepEqual([...ran].sort(), ['asset-0', 'asset-1', 'asset-2', 'asset-3', 'asset-4']);
  });
});
