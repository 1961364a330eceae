import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Asset, toAsset } from '../assets/asset-store.js';
import type { Database } from '../db/schema.js';

type Condition = RawBuilder<unknown>;

export interface FacetCount {
  value: string;
  hitCount: number;
}

/** Runs compiled search conditions against `assets a`. I/O only: the service decides what to ask. */
export class SearchStore {
  constructor(private readonly db: Kysely<Database>) {}

  async count(where: Condition): Promise<number> {
    const { rows } = await sql<{ total: number | string }>`SELECT COUNT(*) AS total FROM assets a WHERE ${where}`.execute(this.db);
    return Number(rows[0]?.total ?? 0);
  }

  async ids(where: Condition, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`SELECT a.id FROM assets a WHERE ${where} LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => row.id);
  }

  async page(where: Condition, orderBy: Condition, limit: number, offset: number): Promise<Asset[]> {
    if (limit <= 0) return [];
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`SELECT a.* FROM assets a WHERE ${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    return rows.map(toAsset);
  }

  /** Distinct indexed words and values starting with `prefix` (in one field, or anywhere): fuzzy candidates. */
  async valuesStartingWith(prefix: string, field: string | null, limit: number): Promise<string[]> {
    const inField = field === null ? sql`` : sql`AND v.field = ${field}`;
    const { rows } = await sql<{ value: string }>`
      SELECT DISTINCT v.value_key AS value FROM asset_values v
      WHERE v.value_key >= ${prefix} AND v.value_key < ${`${prefix}\uffff`} ${inField} LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => row.value);
  }

  async facet(field: string, where: Condition, limit: number): Promise<FacetCount[]> {
    const { rows } = await sql<{ value: string; hits: number | string }>`
      SELECT v.value_text AS value, COUNT(DISTINCT v.asset_id) AS hits FROM asset_values v
      WHERE v.field = ${field} AND v.is_token = 0 AND v.value_text IS NOT NULL AND v.asset_id IN (SELECT a.id FROM assets a WHERE ${where})
      GROUP BY v.value_text ORDER BY hits DESC, value LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => ({ value: row.value, hitCount: Number(row.hits) }));
  }
}
