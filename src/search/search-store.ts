import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Asset, toAsset } from '../assets/asset-store.js';
import type { DialectName } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { type Lookup, valueWhere } from './compile-query.js';

type Condition = RawBuilder<unknown>;

export interface FacetCount {
  value: string;
  hitCount: number;
}

/** Runs compiled search conditions against `assets a`. I/O only: the service decides what to ask. */
export class SearchStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  async count(where: Condition): Promise<number> {
    return this.total(sql`SELECT COUNT(*) AS total FROM assets a WHERE ${where}`);
  }

  /**
   * The assets one lookup matches, counted in the index alone. The same number as `count`: every index row
   * belongs to an asset (a foreign key, or for FTS5 the delete that goes with the asset's), and an asset with
   * several matching rows counts once.
   */
  async countLookup(lookup: Lookup): Promise<number> {
    switch (lookup.kind) {
      case 'assets':
        return this.count(lookup.condition);
      case 'value':
        return this.total(sql`SELECT COUNT(DISTINCT v.asset_id) AS total FROM asset_values v WHERE ${valueWhere(lookup)}`);
      case 'values':
        return this.total(sql`SELECT COUNT(DISTINCT v.asset_id) AS total FROM asset_values v WHERE ${lookup.where}`);
      case 'text':
        return this.total(
          this.dialect === 'sqlite'
            ? sql`SELECT COUNT(*) AS total FROM asset_text WHERE asset_text MATCH ${lookup.expression}`
            : sql`SELECT COUNT(*) AS total FROM asset_text t WHERE t.document @@ to_tsquery('simple', ${lookup.expression})`,
        );
    }
  }

  /** At least the number of assets, cheaply (SQLite: the highest rowid, one B-tree descent). */
  async assetCountBound(): Promise<number> {
    return this.total(sql`SELECT MAX(rowid) AS total FROM assets`);
  }

  async ids(where: Condition, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`SELECT a.id FROM assets a WHERE ${where} LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => row.id);
  }

  /** `walkBudget` (SQLite): only the first that many assets in sort order qualify, a test made before any other. */
  async page(where: Condition, orderBy: Condition, limit: number, offset: number, walkBudget?: number): Promise<Asset[]> {
    if (limit <= 0) return [];
    const within = walkBudget === undefined ? where : sql`+a.rowid IN (SELECT a.rowid FROM assets a ORDER BY ${orderBy} LIMIT ${walkBudget}) AND ${where}`;
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`SELECT a.* FROM assets a WHERE ${within} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
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

  private async total(query: RawBuilder<unknown>): Promise<number> {
    const { rows } = await query.execute(this.db);
    return Number((rows[0] as { total?: number | string | null } | undefined)?.total ?? 0);
  }
}
