import { type RawBuilder, sql } from 'kysely';
import type { Asset } from '../assets/asset-store.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { badRequest } from '../lib/errors.js';
import { compileQuery } from './compile-query.js';
import { expandFuzzyTerms } from './fuzzy.js';
import { highlightWords } from './highlight.js';
import { parseQuery, searchableField } from './parse-query.js';
import { SearchStore } from './search-store.js';

/** Hits beyond this position are never returned (protocol §3.1). */
export const MAX_RESULT_WINDOW = 10_000;
const MAX_FACET_VALUES = 100;

export interface SortField {
  field: string;
  descending: boolean;
}

export interface SearchRequest {
  query: string;
  start: number;
  num: number;
  sort: SortField[];
  facets: string[];
  /** Selected facet values by field: a hit needs one of them. */
  selections: Record<string, string[]>;
}

export interface SearchResult {
  /** Words of the query, for highlighting. */
  words: string[];
  totalHits: number;
  assets: Asset[];
  facets: Record<string, Array<{ value: string; hitCount: number; selected: boolean }>>;
}

/** Columns (fixed SQL, never user text) that sort without looking at the index table. */
const SORT_COLUMNS: Record<string, string> = {
  assetCreated: 'a.created_at',
  assetModified: 'a.modified_at',
  assetFileModified: 'a.file_modified_at',
  fileSize: 'a.file_size',
  filename: 'lower(a.filename)',
  name: 'lower(a.filename)',
  baseName: 'lower(a.filename)',
  assetPath: 'a.asset_path_key',
  folderPath: 'a.folder_path',
  assetDomain: 'a.asset_domain',
  assetType: 'a.extension',
  extension: 'a.extension',
  versionNumber: 'a.version_number',
};

/** `sort=status,assetModified-asc`: dates and numbers default to descending, everything else to ascending. */
export function parseSort(raw: string | undefined): SortField[] {
  const entries = (raw ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  if (entries.length === 0) return [{ field: 'assetCreated', descending: true }];
  return entries.slice(0, 8).map((entry) => {
    const match = /^(.+?)(?:-(asc|desc))?$/i.exec(entry)!;
    const field = match[1]!;
    if (field === 'relevance') return { field, descending: true };
    const definition = searchableField(field);
    if (!definition) throw badRequest(`Cannot sort on unknown field "${field.slice(0, 64)}"`);
    const direction = match[2]?.toLowerCase();
    return { field, descending: direction ? direction === 'desc' : definition.type !== 'text' };
  });
}

export class SearchService {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
  ) {}

  async search(request: SearchRequest): Promise<SearchResult> {
    for (const field of [...request.facets, ...Object.keys(request.selections)]) {
      if (!searchableField(field) && field !== 'ancestorPaths') throw badRequest(`Cannot facet on unknown field "${field.slice(0, 64)}"`);
    }
    const store = new SearchStore(this.database.db);
    const tree = await expandFuzzyTerms(parseQuery(request.query, this.clock.now()), (prefix, field, limit) => store.valuesStartingWith(prefix, field, limit));
    const query = compileQuery(tree, this.database.dialect);
    const selection = (except?: string) =>
      Object.entries(request.selections)
        .filter(([field, values]) => field !== except && values.length > 0)
        .map(([field, values]) => sql`a.id IN (SELECT v.asset_id FROM asset_values v WHERE v.field = ${field} AND v.is_token = 0 AND v.value_text IN (${sql.join(values)}))`);
    const where = (except?: string) => sql.join([query, ...selection(except)], sql` AND `);

    const start = Math.min(request.start, MAX_RESULT_WINDOW);
    const num = Math.max(0, Math.min(request.num, MAX_RESULT_WINDOW - start));
    const [totalHits, assets] = await Promise.all([store.count(where()), store.page(where(), this.orderBy(request.sort), num, start)]);

    const facets: SearchResult['facets'] = {};
    for (const field of request.facets) {
      const selected = new Set(request.selections[field] ?? []);
      // A field's own selection does not narrow its counts, so every value stays choosable.
      const counts = await store.facet(field, where(field), MAX_FACET_VALUES);
      facets[field] = counts.map((count) => ({ ...count, selected: selected.has(count.value) }));
    }
    return { words: highlightWords(tree), totalHits, assets, facets };
  }

  /** Ids of every asset a query matches (bulk operations), at most `limit`. */
  async matchingIds(query: string, limit: number): Promise<string[]> {
    const store = new SearchStore(this.database.db);
    const tree = await expandFuzzyTerms(parseQuery(query, this.clock.now()), (prefix, field, max) => store.valuesStartingWith(prefix, field, max));
    return store.ids(compileQuery(tree, this.database.dialect), limit);
  }

  private orderBy(sort: SortField[]): RawBuilder<unknown> {
    const terms = sort
      .filter((entry) => entry.field !== 'relevance')
      .map((entry) => {
        const direction = sql.raw(entry.descending ? 'DESC' : 'ASC');
        const column = SORT_COLUMNS[entry.field];
        if (column) return sql`${sql.raw(column)} ${direction}`;
        const definition = searchableField(entry.field)!;
        const value = definition.type === 'text' ? sql`v.value_key` : sql`v.value_num`;
        // Assets without the field sort last either way.
        const sub = sql`(SELECT MIN(${value}) FROM asset_values v WHERE v.asset_id = a.id AND v.field = ${entry.field} AND v.is_token = 0)`;
        return sql`CASE WHEN ${sub} IS NULL THEN 1 ELSE 0 END, ${sub} ${direction}`;
      });
    // Relevance is approximated by recency; the id makes paging stable.
    if (terms.length === 0) terms.push(sql`a.created_at DESC`);
    return sql.join([...terms, sql`a.id ASC`]);
  }
}
