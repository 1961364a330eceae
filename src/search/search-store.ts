import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Asset, toAsset } from '../assets/asset-store.js';
import type { DialectName } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { type Lookup, rangeBounds, valueWhere } from './compile-query.js';
import { isTokenized } from './index-entries.js';
import { searchableField } from './parse-query.js';

type Condition = RawBuilder<unknown>;

/** How a field's facet values are stored: numbers and dates by value, text by key (and with word rows beside them, or not). */
export interface FacetKind {
  numeric: boolean;
  tokenized: boolean;
}

/** A field's FacetKind, from its type and whether it is tokenized. */
export function facetKind(field: string): FacetKind {
  const type = searchableField(field)?.type ?? 'text';
  return { numeric: type !== 'text', tokenized: isTokenized(field) };
}

/** A facet value of an asset: the lower-cased text, or the number. */
export type FacetKey = string | number;

/** Only whole values, not words: a field with no word rows needs no test (and its index alone then answers). */
export const wholeValuesOnly = (kind: FacetKind) => (kind.tokenized ? sql`AND v.is_token = 0` : sql``);

export interface FacetCount {
  value: string;
  /** What a selection of this value matches: the lower-cased text, or the number. */
  key: string;
  hitCount: number;
}

/** Numeric bounds on a field's values; null is open. */
export interface NumericRange {
  min: number | null;
  max: number | null;
  minInclusive: boolean;
  maxInclusive: boolean;
}

/** Where a walk of a field's index stops: its last row, by value and asset id. */
export interface FieldWalkEnd {
  value: number;
  assetId: string;
}

/** How far a page may walk in sort order: `budget` assets, bounded on the first sort key (an indexed column of `assets a`). */
export interface WalkBudget {
  budget: number;
  key: Condition;
  descending: boolean;
}

/** The rows `v` of a number or date field's (field, value_num, asset_id) index, within a range of values. */
const fieldRows = (field: string, within?: NumericRange): Condition[] => [
  sql`v.field = ${field}`,
  sql`v.value_num IS NOT NULL`,
  ...(within ? rangeBounds(sql`v.value_num`, within) : []),
];

/** How a facet's text value `key` is shown: the spelling of the first asset with it in the field's index. */
export const spellingOf = (field: string, key: Condition): Condition =>
  sql`(SELECT w.value_text FROM asset_values w WHERE w.field = ${field} AND w.value_key = ${key} AND w.value_text IS NOT NULL LIMIT 1)`;

/** Runs compiled search conditions against `assets a`, for one search. I/O only: the service decides what to ask. */
export class SearchStore {
  private countBound: Promise<number> | undefined;

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
        // DISTINCT sorts every row (most of the cost of counting a range of hundreds of thousands).
        return this.total(sql`SELECT ${lookup.onePerAsset ? sql`COUNT(*)` : sql`COUNT(DISTINCT v.asset_id)`} AS total FROM asset_values v WHERE ${lookup.where}`);
      case 'text':
        return this.total(
          this.dialect === 'sqlite'
            ? sql`SELECT COUNT(*) AS total FROM asset_text WHERE asset_text MATCH ${lookup.expression}`
            : sql`SELECT COUNT(*) AS total FROM asset_text t WHERE t.document @@ to_tsquery('simple', ${lookup.expression})`,
        );
    }
  }

  /**
   * About the number of assets, cheaply. SQLite: at least that many, the highest rowid (one B-tree descent).
   * PostgreSQL: the planner's estimate, or a count if there is none (-1: never analysed) or it is 0 (analysed
   * while empty, and maybe not since).
   */
  assetCountBound(): Promise<number> {
    // Asked by several of a search's plans; read once per search.
    return (this.countBound ??= this.readAssetCountBound());
  }

  private async readAssetCountBound(): Promise<number> {
    if (this.dialect === 'sqlite') return this.total(sql`SELECT MAX(rowid) AS total FROM assets`);
    const estimate = await this.total(sql`SELECT reltuples AS total FROM pg_class WHERE oid = 'assets'::regclass`);
    return estimate > 0 ? estimate : this.total(sql`SELECT COUNT(*) AS total FROM assets`);
  }

  async ids(where: Condition, limit: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`SELECT a.id FROM assets a WHERE ${where} LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => row.id);
  }

  /**
   * `walk` (SQLite): only about the first `budget` assets in sort order are read. The scan stops at the sort key
   * of the budget-th asset (the last key among the first `budget`, found in the sort's index), so a page that does
   * not fill costs the budget, not a walk through the whole library.
   */
  async page(where: Condition, orderBy: Condition, limit: number, offset: number, walk?: WalkBudget): Promise<Asset[]> {
    if (limit <= 0) return [];
    let within = where;
    if (walk) {
      const [comparison, last] = walk.descending ? ['>=', 'MIN'] : ['<=', 'MAX'];
      const boundary = sql`(SELECT ${sql.raw(last)}(w.key) FROM (SELECT ${walk.key} AS key FROM assets a ORDER BY ${orderBy} LIMIT ${walk.budget}) w)`;
      within = sql`${walk.key} ${sql.raw(comparison)} ${boundary} AND ${where}`;
    }
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`SELECT a.* FROM assets a WHERE ${within} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    return rows.map(toAsset);
  }

  /**
   * A page by relevance: hits matching `ranking` (a full-text expression) first, best scored first (FTS5's bm25;
   * PostgreSQL's ts_rank, divided by the log of the text's length as bm25 weighs it too), then by `orderBy`.
   * Every hit's score is computed: a relevance sort costs a collect.
   */
  async pageByRelevance(where: Condition, ranking: string, orderBy: Condition, limit: number, offset: number): Promise<Asset[]> {
    if (limit <= 0) return [];
    const { rows } =
      this.dialect === 'sqlite'
        ? await sql<Parameters<typeof toAsset>[0]>`
            WITH r(hit, score) AS MATERIALIZED (SELECT rowid, rank FROM asset_text WHERE asset_text MATCH ${ranking})
            SELECT a.* FROM assets a LEFT JOIN r ON r.hit = a.rowid
            WHERE ${where} ORDER BY r.score IS NULL, r.score, ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db)
        : await sql<Parameters<typeof toAsset>[0]>`
            SELECT a.* FROM assets a LEFT JOIN asset_text t ON t.asset_id = a.id
            WHERE ${where} ORDER BY ts_rank(t.document, to_tsquery('simple', ${ranking}), 1) DESC NULLS LAST, ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    return rows.map(toAsset);
  }

  /**
   * A page sorted on one number or date field, read by walking the field's (field, value_num, asset_id) index in
   * that order: a number or date field has exactly one index row per asset that has it, and ties go by asset id in
   * the same direction, so the page is the first rows of the walk that are hits. Assets without the field come
   * after all of them, so a page that does not fill here is not the whole answer. SQLite is held to the walk;
   * PostgreSQL's planner may as well start from the hits, when they are few.
   */
  async pageByFieldWalk(
    where: Condition,
    field: string,
    descending: boolean,
    limit: number,
    offset: number,
    within?: NumericRange,
    end?: FieldWalkEnd,
  ): Promise<Asset[]> {
    if (limit <= 0) return [];
    const direction = sql.raw(descending ? 'DESC' : 'ASC');
    const conditions = [...fieldRows(field, within), where];
    if (end) conditions.push(sql`(v.value_num, v.asset_id) ${sql.raw(descending ? '>=' : '<=')} (${end.value}, ${end.assetId})`);
    // CROSS JOIN keeps SQLite on the field's rows first, in index order (PostgreSQL has no CROSS JOIN … ON).
    const join = sql.raw(this.dialect === 'sqlite' ? 'CROSS JOIN' : 'JOIN');
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`
      SELECT a.* FROM asset_values v ${join} assets a ON a.id = v.asset_id
      WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY v.value_num ${direction}, v.asset_id ${direction} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    return rows.map(toAsset);
  }

  /**
   * The row at which a walk of a field's index (as pageByFieldWalk reads it) has read `rows` rows; undefined when
   * the field has fewer.
   */
  async fieldWalkEnd(field: string, descending: boolean, rows: number, within?: NumericRange): Promise<FieldWalkEnd | undefined> {
    const direction = sql.raw(descending ? 'DESC' : 'ASC');
    const conditions = fieldRows(field, within);
    const { rows: [row] } = await sql<{ value: number | string; asset_id: string }>`
      SELECT v.value_num AS value, v.asset_id FROM asset_values v WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY v.value_num ${direction}, v.asset_id ${direction} LIMIT 1 OFFSET ${rows - 1}`.execute(this.db);
    return row && { value: Number(row.value), assetId: row.asset_id };
  }

  /**
   * A page in upload order whose rows are read last: the hits are sorted on the (id, created_at) index, not on
   * their rows (rows are large and scattered over the file, the index is small and stays cached), and only the
   * page's own rows are read. `orderBy` must use no other column than those two. For hits found by asset id:
   * - SQLite, when collecting: the inner query is forced onto that index;
   * - PostgreSQL: the planner still chooses how to find the hits, and either walks the (created_at, id) index or
   *   sorts in the (id, created_at) one, reading no row (a date range of 8,610 hits at 100,000 assets: 115 → 24 ms).
   */
  async pageInUploadOrder(where: Condition, orderBy: Condition, limit: number, offset: number): Promise<Asset[]> {
    if (limit <= 0) return [];
    const page =
      this.dialect === 'sqlite'
        ? sql`a.rowid IN (SELECT a.rowid FROM assets a INDEXED BY assets_id_created WHERE ${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset})`
        : sql`a.id IN (SELECT a.id FROM assets a WHERE ${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset})`;
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`SELECT a.* FROM assets a WHERE ${page} ORDER BY ${orderBy}`.execute(this.db);
    return rows.map(toAsset);
  }

  /** A page of the assets with these rowids (SQLite), in sort order: hits a search thread found and narrowed in memory. */
  async pageOfRowids(rowids: readonly number[], orderBy: Condition, limit: number, offset: number): Promise<Asset[]> {
    if (limit <= 0 || rowids.length === 0) return [];
    const { rows } = await sql<Parameters<typeof toAsset>[0]>`
      SELECT a.* FROM assets a WHERE a.rowid IN (SELECT value FROM json_each(${JSON.stringify(rowids)}))
      ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}`.execute(this.db);
    return rows.map(toAsset);
  }

  /** Distinct indexed words and values starting with `prefix` (in one field, or anywhere) of a length: fuzzy candidates. */
  async valuesStartingWith(prefix: string, field: string | null, limit: number, lengths: { min: number; max: number }): Promise<string[]> {
    const inField = field === null ? sql`` : sql`AND v.field = ${field}`;
    const { rows } = await sql<{ value: string }>`
      SELECT DISTINCT v.value_key AS value FROM asset_values v
      WHERE v.value_key >= ${prefix} AND v.value_key < ${`${prefix}\uffff`} ${inField}
        AND length(v.value_key) BETWEEN ${lengths.min} AND ${lengths.max} LIMIT ${limit}`.execute(this.db);
    return rows.map((row) => row.value);
  }

  /**
   * A field's values among the hits (`where`; undefined: every asset), most frequent first. Text values count by
   * their lower-cased key, as the query language matches them: `Metal` and `metal` are one value, shown as the
   * spelling indexed first. Numbers and dates count by value. Without `where`, and for a field with no word rows,
   * the counts come from an index alone (0.2-1.3 s per field at 1,000,000 assets, against 10 s through the hits).
   *
   * With `where`, the counts start from the hits (a seek for each) unless `walkField`: then the field's
   * (field, value, asset_id) index is read in order and each row checked against the hit list, collected once.
   * That pays only when the hits are a large part of the library, and for a field without word rows (whose index
   * alone then answers). PostgreSQL's planner chooses for itself, but only `walkField` leaves it the index alone.
   */
  async facet(
    field: string,
    where: Condition | undefined,
    limit: number,
    kind: FacetKind,
    walkField = false,
  ): Promise<FacetCount[]> {
    const among = where === undefined ? sql`` : sql`AND v.asset_id IN (SELECT a.id FROM assets a WHERE ${where})`;
    const fromHits = where !== undefined && !walkField;
    // SQLite: grouping on an indexed column would walk that index in order, through every row of the field,
    // instead of starting from the hits; the unary + keeps it starting from the hits.
    const group = (column: Condition) => (fromHits && this.dialect === 'sqlite' ? sql`+${column}` : column);
    // Only whole values, not words. Where a field has no word rows the test is still made when starting from the
    // hits: it reads the table, so the field's (field, value, asset_id) index no longer covers the query, and
    // SQLite starts from the hits (one seek each) instead of walking that index through every row of the field.
    const wholeValues = kind.tokenized || fromHits ? sql`AND v.is_token = 0` : sql``;
    if (kind.numeric) {
      const { rows } = await sql<{ num: number | string; hits: number | string }>`
        SELECT v.value_num AS num, COUNT(DISTINCT v.asset_id) AS hits FROM asset_values v
        WHERE v.field = ${field} AND v.value_num IS NOT NULL ${wholeValues} ${among}
        GROUP BY ${group(sql`v.value_num`)} ORDER BY hits DESC, num LIMIT ${limit}`.execute(this.db);
      return rows.map((row) => ({ value: String(Number(row.num)), key: String(Number(row.num)), hitCount: Number(row.hits) }));
    }
    const { rows } = await sql<{ key: string; value: string; hits: number | string }>`
      SELECT g.key, g.hits, ${spellingOf(field, sql`g.key`)} AS value
      FROM (
        SELECT v.value_key AS key, COUNT(DISTINCT v.asset_id) AS hits FROM asset_values v
        WHERE v.field = ${field} ${wholeValues} ${among}
        GROUP BY ${group(sql`v.value_key`)} ORDER BY hits DESC, key LIMIT ${limit}
      ) g
      ORDER BY g.hits DESC, g.key`.execute(this.db);
    return rows.map((row) => ({ value: row.value, key: row.key, hitCount: Number(row.hits) }));
  }

  private async total(query: RawBuilder<unknown>): Promise<number> {
    const { rows } = await query.execute(this.db);
    return Number((rows[0] as { total?: number | string | null } | undefined)?.total ?? 0);
  }
}
