import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

export interface FailureWindow {
  failures: number;
  windowStartedAt: number;
}

/** Failed-login counters in fixed windows, keyed by account or client address. Shared by every node. */
export interface LoginThrottleStore {
  get(key: string): Promise<FailureWindow | undefined>;
  /** Counts one failure; a window that started at or before `windowCutoff` is restarted at `now`. */
  recordFailure(key: string, now: number, windowCutoff: number): Promise<void>;
  reset(key: string): Promise<void>;
  deleteExpired(windowCutoff: number): Promise<number>;
}

export class SqlLoginThrottleStore implements LoginThrottleStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(key: string): Promise<FailureWindow | undefined> {
    const row = await this.db.selectFrom('login_failures').select(['failures', 'window_started_at']).where('key', '=', key).executeTakeFirst();
    return row && { failures: row.failures, windowStartedAt: row.window_started_at };
  }

  async recordFailure(key: string, now: number, windowCutoff: number): Promise<void> {
    // One atomic upsert, so concurrent failures on several nodes are all counted.
    const expired = sql<boolean>`login_failures.window_started_at <= ${windowCutoff}`;
    await this.db
      .insertInto('login_failures')
      .values({ key, failures: 1, window_started_at: now })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`CASE WHEN ${expired} THEN 1 ELSE login_failures.failures + 1 END`,
          window_started_at: sql`CASE WHEN ${expired} THEN ${now} ELSE login_failures.window_started_at END`,
        }),
      )
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }

  async deleteExpired(windowCutoff: number): Promise<number> {
    const result = await this.db.deleteFrom('login_failures').where('window_started_at', '<=', windowCutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
