import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../db/database.js';
import type { Database, JobTable } from '../db/schema.js';
import { newId } from '../lib/ids.js';

export interface Job {
  id: string;
  type: string;
  assetId: string | null;
  payload: Record<string, unknown>;
  attempts: number;
}

/**
 * The durable job queue of the embedded deployment: a table. A job is enqueued in the same transaction as the
 * change that needs it, so none is lost; a claimed job holds a lease, so a job whose worker died runs again.
 */
export class JobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  async enqueue(type: string, assetId: string | null, payload: Record<string, unknown>, now: number): Promise<void> {
    await this.db
      .insertInto('jobs')
      .values({
        id: newId(),
        type,
        asset_id: assetId,
        payload: JSON.stringify(payload),
        state: 'queued',
        attempts: 0,
        run_after: now,
        lease_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  /** Takes the next due job (or one whose lease expired) and leases it until `leaseUntil`. */
  async claimNext(now: number, leaseUntil: number): Promise<Job | undefined> {
    // One statement, so two workers can never claim the same job; PostgreSQL skips rows another worker holds.
    const lock = this.dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
    const result = await sql<Pick<JobTable, 'id' | 'type' | 'asset_id' | 'payload' | 'attempts'>>`
      UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ${leaseUntil}, updated_at = ${now}
      WHERE id = (
        SELECT id FROM jobs
        WHERE (state = 'queued' AND run_after <= ${now}) OR (state = 'running' AND lease_until < ${now})
        ORDER BY run_after, created_at
        LIMIT 1 ${lock}
      )
      RETURNING id, type, asset_id, payload, attempts`.execute(this.db);
    const row = result.rows[0];
    if (!row) return undefined;
    return { id: row.id, type: row.type, assetId: row.asset_id, payload: JSON.parse(row.payload) as Record<string, unknown>, attempts: row.attempts };
  }

  async complete(id: string, now: number): Promise<void> {
    await this.db.updateTable('jobs').set({ state: 'done', lease_until: null, updated_at: now, last_error: null }).where('id', '=', id).execute();
  }

  /** Records a failure: the job runs again at `retryAt`, or, without one, is marked failed for good. */
  async fail(id: string, error: string, now: number, retryAt: number | undefined): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({
        state: retryAt === undefined ? 'failed' : 'queued',
        run_after: retryAt ?? now,
        lease_until: null,
        last_error: error.slice(0, 2000),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Finished jobs are history; keep the table small. */
  async deleteDoneBefore(cutoff: number): Promise<void> {
    await this.db.deleteFrom('jobs').where('state', '=', 'done').where('updated_at', '<', cutoff).execute();
  }

  async countByState(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('jobs').select(['state', (eb) => eb.fn.countAll<number | string>().as('count')]).groupBy('state').execute();
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
  }
}
