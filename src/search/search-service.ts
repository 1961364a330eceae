import { type RawBuilder, sql } from 'kysely';
import type { Asset } from '../assets/asset-store.js';
import { parseNumber } from '../assets/fields.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { badRequest } from '../lib/errors.js';
import { compileQuery, exactKey, isPrefixSearch, type Lookup, type LookupForm, lookupCondition, queryLookups, relevanceExpression, singleLookup } from './compile-query.js';
import type { FacetIndex } from './facet-index.js';
import { FacetIndexStore } from './facet-index-store.js';
import { andedClauses, type ConditionOf, InMemorySearch, mayFindInMemory, numberRange, type Selection } from './in-memory-search.js';
import { expandFuzzyTerms } from './fuzzy.js';
import { highlightWords } from './highlight.js';
import { parseQuery, searchableField } from './parse-query.js';
import type { QueryNode } from './query.js';
import { type FacetCount, facetKind, type NumericRange, SearchStore, wholeValuesOnly } from './search-store.js';

/** Hits beyond this position are never returned (protocol §3.1). */
export const MAX_RESULT_WINDOW = 10_000;
const MAX_FACET_VALUES = 100;
/** Selected values of a facet beyond its most frequent ones that are still listed, each with a count of its own. */
const MAX_SELECTED_LISTED = 50;
/** Selected values per facet at most: each is a bound parameter, and the databases limit how many a statement has. */
const MAX_SELECTED_VALUES = 1000;
/**
 * From this share of the library on, a facet reads the field's index instead of seeking each hit. At 1,000,000
 * assets on SQLite, tags and status: 55,000 hits 2.1 → 1.8 s; 150,000 hits 4.2 → 1.7 s; 700,000 hits 19 → 4.3 s.
 */
const FACET_WALK_SHARE = 0.05;

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
  id: 'a.id',
};

/** Sorts whose column leads an index on `assets` (created_at, id and lower(filename), id), so that a page can be read in order. */
const INDEXED_SORTS = new Set(['assetCreated', 'filename', 'name', 'baseName']);
/** What reading a page costs per row, in µs, as measured on SQLite at 1,000,000 assets (only the ratios matter). */
const COST = {
  /** Collect: fetch one hit of the collected hit sets and sort it. */
  collectHit: 3,
  /** Collect: the same, sorting in the (id, created_at) index (hits found by asset id, in upload order). */
  collectHitInIndex: 1,
  /** Walk: read the next asset in sort order, with a seek for each exact field value. */
  walkRow: 1,
  /** Walk: put one hit in a list that walked assets are checked against. */
  listHit: 0.2,
  /** Probe: seek one asset in the FTS5 index. */
  textProbe: 40,
  /** Probe: seek one asset's rows of a range's field. */
  oneFieldProbe: 6,
  /** Collect, sorted on a field's value: find the hit's value (a seek) and sort it. */
  collectHitByField: 10,
  /** Field walk: read the next row of the field's index and its asset. */
  fieldWalkRow: 3,
  /** In memory: look up the upload date of a hit found in memory (they come in rowid order, so dates are read in order). */
  hitInHand: 0.02,
  /** In memory: read a full-text hit's rowid from the text index (one JSON array), when the hits were not read yet. */
  textRowid: 0.2,
};

/**
 * How many times the rows an even spread of the hits needs a walk reads before it gives up (hits may be bunched
 * in sort order) and another plan reads the page.
 */
const WALK_BUDGET = 4;

/**
 * A range on `field` that every hit satisfies (the query, or a clause ANDed into it), with numeric bounds: a walk
 * of that field's index can start and stop at them instead of reading past assets that cannot be hits
 * (`rating:[1 TO 3]` sorted by rating at 1,000,000 assets read 290,000 rows rated 4 or 5 first).
 */
function requiredRange(tree: QueryNode, field: string): NumericRange | undefined {
  return andedClauses(tree).map(numberRange).find((found) => found?.field === field)?.range;
}

/** The field of a sort on one number or date field of the metadata (which has one index row per asset), if it is one. */
function singleValueSort(sort: SortField[]): SortField | undefined {
  const keys = sort.filter((entry) => entry.field !== 'relevance');
  const [only] = keys;
  if (keys.length !== 1 || SORT_COLUMNS[only!.field]) return undefined;
  return searchableField(only!.field)?.type === 'text' ? undefined : only;
}

/** The sort's first key but relevance (which only a query for text has; without one, it is recency, the default). */
const leadingSort = (sort: SortField[]): SortField => sort.find((entry) => entry.field !== 'relevance') ?? { field: 'assetCreated', descending: true };

/** Whether a page is in upload order, the order pages can be picked in memory in. */
const inUploadOrder = (sort: SortField[]) => leadingSort(sort).field === 'assetCreated';

/**
 * Whether a page's hits are sorted in the (id, created_at) index (SearchStore.pageInUploadOrder): when they are
 * found by asset id, not by full text, and sorted by upload date alone (relevance without words to score is recency).
 */
const sortsInIndex = (sort: SortField[], lookups: Lookup[]) =>
  lookups.every((lookup) => lookup.kind !== 'text') && sort.every((entry) => entry.field === 'assetCreated' || entry.field === 'relevance');

/** Assets with one of the selected facet values, matched as facets count them: text by key (any case), numbers by value. */
function selectionOf(field: string, values: string[]): Selection {
  const kind = facetKind(field);
  if (kind.numeric) {
    const keys = values.map(parseNumber).filter((key) => key !== undefined);
    if (keys.length === 0) return { field, keys, lookup: { kind: 'assets', condition: sql`1 = 0` } };
    return { field, keys, lookup: { kind: 'values', where: sql`v.field = ${field} AND v.value_num IN (${sql.join(keys)})`, oneField: true } };
  }
  const keys = values.map((value) => exactKey(field, value));
  return { field, keys, lookup: { kind: 'values', where: sql`v.field = ${field} ${wholeValuesOnly(kind)} AND v.value_key IN (${sql.join(keys)})`, oneField: true } };
}

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

export interface SearchServiceOptions {
  /** Reads every page with this plan instead of choosing one (tests compare the two). */
  pageForm?: LookupForm;
  /** Counts every narrowed facet by reading the field's index (true) or from the hits (false) instead of choosing. */
  facetWalk?: boolean;
  /**
   * Facet counts in memory (SQLite). Only for a connection that reads each search in a transaction of its own, as
   * the search threads do: the index follows the change log, and must never see a write that is rolled back.
   */
  facetIndex?: FacetIndex;
}

export class SearchService {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
    private readonly options: SearchServiceOptions = {},
  ) {}

  async search(request: SearchRequest): Promise<SearchResult> {
    for (const field of [...request.facets, ...Object.keys(request.selections)]) {
      if (!searchableField(field) && field !== 'ancestorPaths') throw badRequest(`Cannot facet on unknown field "${field.slice(0, 64)}"`);
    }
    for (const [field, values] of Object.entries(request.selections)) {
      if (values.length > MAX_SELECTED_VALUES) throw badRequest(`More than ${MAX_SELECTED_VALUES} values selected for facet ${field.slice(0, 64)}`);
      // PostgreSQL refuses text holding U+0000: a clear 400 rather than its error.
      if (values.some((value) => value.includes('\u0000'))) throw badRequest(`A value selected for facet ${field.slice(0, 64)} contains a NUL character`);
    }
    const { dialect } = this.database;
    const store = new SearchStore(this.database.db, dialect);
    const tree = await expandFuzzyTerms(parseQuery(request.query, this.clock.now()), (...args) => store.valuesStartingWith(...args));
    const selections = Object.entries(request.selections)
      .filter(([, values]) => values.length > 0)
      .map(([field, values]) => selectionOf(field, values));
    const conditionOf: ConditionOf = (form, query, chosen) =>
      sql.join([compileQuery(query, dialect, form), ...chosen.map(({ lookup }) => lookupCondition(lookup, dialect, form))], sql` AND `);
    const where = (form: LookupForm, except?: string) => conditionOf(form, tree, except === undefined ? selections : selections.filter(({ field }) => field !== except));

    const start = Math.min(request.start, MAX_RESULT_WINDOW);
    const num = Math.max(0, Math.min(request.num, MAX_RESULT_WINDOW - start));
    const single = selections.length === 0 ? singleLookup(tree, dialect) : undefined;
    const count = () => (single ? store.countLookup(single) : store.count(where('collect')));
    const orderBy = this.orderBy(request.sort);
    const lookups = [...queryLookups(tree, dialect), ...selections.map(({ lookup }) => lookup)];
    let totalHits: number;
    let assets: Asset[];
    const index = this.options.facetIndex;
    // Ranges on number and date fields, and exact values ANDed with more, are found in memory too, with or without
    // facets and selections; and a page of full-text hits in upload order may be picked there (see readPage) once
    // the thread holds the upload dates, which other searches read: a word alone does not stall to read them
    // (1.3 s at 1,000,000 assets).
    // Sorted by relevance, a query for text is read in score order, never in upload order.
    const ranking = request.sort[0]?.field === 'relevance' ? relevanceExpression(tree, dialect) : undefined;
    const textPageInMemory = ranking === undefined && single?.kind === 'text' && inUploadOrder(request.sort) && index?.holdsUploadDates() === true;
    const inMemory =
      index && dialect === 'sqlite' && (request.facets.length > 0 || selections.length > 0 || mayFindInMemory(tree) || textPageInMemory)
        ? new InMemorySearch(index, new FacetIndexStore(this.database.db), tree, selections, conditionOf, MAX_FACET_VALUES)
        : undefined;
    // A field's own selection does not narrow its counts, so every value stays choosable.
    const narrowedFor = (field: string) => tree.kind !== 'all' || selections.some((selection) => selection.field !== field);
    const ownSelectionOf = (field: string) => selections.some((selection) => selection.field === field);
    if (ranking !== undefined) {
      totalHits = await count();
      assets = start < totalHits ? await store.pageByRelevance(where('collect'), ranking, orderBy, num, start) : [];
    } else if (dialect === 'postgres') {
      // PostgreSQL's planner chooses how to join from its statistics; the count and the page run at once, on two
      // connections. Full-text hits are left out of the index-sorted page: there the planner chose parallel walks
      // that read far ahead (words of about 1,000 hits at 100,000 assets: p50 41 → 78 ms).
      const form = this.options.pageForm ?? 'collect';
      const byField = singleValueSort(request.sort);
      if (byField) {
        // Sorted on a number or date, the count comes first, as on SQLite: the planner misjudges how many words
        // match, and walked the field's index for a rare one (105 hits at 1,000,000 assets: 116 ms, collected 3 ms).
        totalHits = await count();
        const hits = where(form);
        assets = await this.pageByField(store, { walk: hits, collect: hits }, orderBy, byField, tree, totalHits, start, num);
      } else {
        const page = sortsInIndex(request.sort, lookups) ? store.pageInUploadOrder(where(form), orderBy, num, start) : store.page(where(form), orderBy, num, start);
        [totalHits, assets] = await Promise.all([count(), page]);
      }
    } else {
      // The count comes first: how dense the hits are decides how to read the page. When the facets are in memory
      // their hits are read anyway, and their number is the count (232,460 hits at 1,000,000 assets: 0.5 s less);
      // so it is when the index finds the hits cheaply (InMemorySearch.findsHitsCheaply). Not while a field of the
      // selections or exact values could be held but is not: with many hits the facets read it whole rather than
      // find them in SQL. A word prefix's hits are read rather than counted: SQL merges the lists of every word it
      // matches to count them, and again to find the page, which is picked in memory instead (`tis*` at 1,000,000
      // assets, 176,986 hits: 97-138 ms -> 72 ms).
      const hitsReadAnyway = request.facets.some((field) => narrowedFor(field) && !ownSelectionOf(field));
      // A range alone, counted to decide whether to read its field, is the query: counted once.
      let counted: Promise<number> | undefined;
      const countOnce = () => (counted ??= count());
      if (inMemory) {
        const enough = FACET_WALK_SHARE * (await store.assetCountBound());
        await inMemory.holdFields((clause) => (clause === tree ? countOnce() : store.countLookup(singleLookup(clause, dialect)!)), enough);
      }
      const countInMemory =
        inMemory &&
        ((textPageInMemory && isPrefixSearch(single)) || (await inMemory.findsHitsCheaply()) || (hitsReadAnyway && (await inMemory.holds(request.facets)) && !inMemory.lacksFields()));
      totalHits = countInMemory ? (await inMemory.hits(undefined)).length : await countOnce();
      const hitsInMemory = countInMemory ? { search: inMemory, read: true } : inMemory && textPageInMemory ? { search: inMemory, read: false } : undefined;
      assets = await this.readPage(store, where, orderBy, request.sort, tree, lookups, totalHits, start, num, hitsInMemory);
    }

    const manyHits = async () => totalHits >= FACET_WALK_SHARE * (await store.assetCountBound());
    const facetOf = async (field: string) => {
      const kind = facetKind(field);
      // Compared as the facet's keys are written: the selection's own keys, numbers as text.
      const selected = new Set(selections.find((selection) => selection.field === field)?.keys.map(String));
      const narrowed = narrowedFor(field);
      const ownSelection = ownSelectionOf(field);
      // In memory when the field is there already, or when SQL would read a large part of its index against the
      // hits anyway (reading tags whole at 1,000,000 assets takes 3.3 s). Not for the whole library: SQL counts
      // that from the index alone, and the web client opens with it (four facets, 0.5 s).
      const inMemoryNow = inMemory && ((await inMemory.holds([field])) || (narrowed && (await manyHits())));
      let counts = inMemoryNow ? await inMemory.count(field, kind, narrowed, ownSelection, await manyHits()) : undefined;
      // Hits that are a large part of the library are counted faster by reading the field's index in order. On
      // PostgreSQL that only lets the planner read the index alone; it may then still start from the hits (four
      // facets of 232,460 hits at 1,000,000 assets: 11.1 → 3.4 s; of 11,494 the planner would read the index, and
      // take 0.7 s instead of 0.3).
      counts ??= await store.facet(field, narrowed ? where('collect', field) : undefined, MAX_FACET_VALUES, kind, this.options.facetWalk ?? (!kind.tokenized && (await manyHits())));
      counts = [...counts, ...(await this.selectedBeyond(counts, field, tree, selections, request.selections[field] ?? [], store, conditionOf))];
      return counts.map(({ value, key, hitCount }) => ({ value, hitCount, selected: selected.has(key) }));
    };
    // PostgreSQL counts the facets at once, each on a connection of its own, as it runs the count and the page.
    const counted = dialect === 'postgres' ? await Promise.all(request.facets.map(facetOf)) : [];
    if (dialect === 'sqlite') for (const field of request.facets) counted.push(await facetOf(field));
    const facets: SearchResult['facets'] = Object.fromEntries(request.facets.map((field, index) => [field, counted[index]!]));
    return { words: highlightWords(tree), totalHits, assets, facets };
  }

  /**
   * The selected values of a facet that its counts leave out, each counted on its own: every selected value is
   * listed, so that a client can show it as chosen and let it go, also when the rest of the query leaves it no
   * hits or it is not among the most frequent values. Text is shown as the request spells it, a number as a number.
   */
  private async selectedBeyond(
    counts: FacetCount[],
    field: string,
    tree: QueryNode,
    selections: Selection[],
    requested: string[],
    store: SearchStore,
    conditionOf: ConditionOf,
  ): Promise<FacetCount[]> {
    const own = selections.find((selection) => selection.field === field);
    const others = selections.filter((selection) => selection !== own);
    const listed = new Set(counts.map(({ key }) => key));
    const { numeric } = facetKind(field);
    const beyond: FacetCount[] = [];
    for (const key of own?.keys.map(String) ?? []) {
      // Each is counted on its own: a bounded number of them (a UI selects a handful; a script may send 1,000).
      if (beyond.length >= MAX_SELECTED_LISTED) break;
      if (listed.has(key)) continue;
      listed.add(key);
      const value = numeric ? key : (requested.find((raw) => exactKey(field, raw) === key) ?? key);
      beyond.push({ value, key, hitCount: await store.count(conditionOf('collect', tree, [...others, selectionOf(field, [value])])) });
    }
    return beyond;
  }

  /** Ids of every asset a query matches (bulk operations), at most `limit`. */
  async matchingIds(query: string, limit: number): Promise<string[]> {
    const store = new SearchStore(this.database.db, this.database.dialect);
    const tree = await expandFuzzyTerms(parseQuery(query, this.clock.now()), (...args) => store.valuesStartingWith(...args));
    return store.ids(compileQuery(tree, this.database.dialect), limit);
  }

  /**
   * SQLite's planner has no statistics to tell a dense hit set from a sparse one; the exact count does. Collecting
   * handles every hit; walking reads about (start + num) × assets ÷ hits assets in sort order (if the hits are
   * spread evenly), which needs an index for that order. The plan with the lower cost, as measured at 1,000,000
   * assets, reads the page.
   */
  private async readPage(
    store: SearchStore,
    where: (form: LookupForm) => RawBuilder<unknown>,
    orderBy: RawBuilder<unknown>,
    sort: SortField[],
    tree: QueryNode,
    lookups: Lookup[],
    hits: number,
    start: number,
    num: number,
    /** The search in memory, when it found the hits (`read`), or can read them from the text index alone. */
    inMemory?: { search: InMemorySearch; read: boolean },
  ): Promise<Asset[]> {
    const byField = singleValueSort(sort);
    if (byField) return this.pageByField(store, { walk: where('walk'), collect: where('collect') }, orderBy, byField, tree, hits, start, num);
    const wanted = Math.min(num, hits - start);
    if (wanted <= 0) return [];
    const first = leadingSort(sort);
    // With the hits in memory and the page in upload order, those that can head it are picked there, and SQL
    // orders just them (`summer` with status=Final at 1,000,000 assets, 20,360 hits: 108 → 35 ms with its facets).
    // That cost is known; a walk's is a guess that holds for evenly spread hits, and ranges and selections are often
    // bunched (capture dates follow upload dates): a walk is only taken when it is cheaper even if it reads all
    // its budget (`created:[2023-06-01 TO 2024-05-28]`, 143,354 hits: walked, then collected, 200 ms).
    const fromMemory = inUploadOrder(sort) && this.options.pageForm === undefined ? inMemory : undefined;
    const walkable = this.options.pageForm !== undefined || INDEXED_SORTS.has(first.field);
    const walked = walkable ? ((start + num) * (await store.assetCountBound())) / hits : Infinity;
    // A walk checks each asset against the hit lists collected first; a lookup's list has at least `hits` entries
    // when it is the query or ANDed into it. A probe seeks instead for full-text lookups and the lookups on one
    // field (ranges, facet selections: `*:*` with status=Final at 1,000,000 assets, 332,100 hits, a page 123 → 34 ms).
    const lists = lookups.filter((lookup) => lookup.kind === 'text' || lookup.kind === 'values').length;
    const texts = lookups.filter((lookup) => lookup.kind === 'text').length;
    const oneFieldLookups = lookups.filter((lookup) => lookup.kind === 'values' && lookup.oneField).length;
    const sortInIndex = sortsInIndex(sort, lookups);
    const collect = () => (sortInIndex ? store.pageInUploadOrder(where('collect'), orderBy, num, start) : store.page(where('collect'), orderBy, num, start));
    const costs: Array<[LookupForm, number]> = [
      ['collect', hits * (sortInIndex ? COST.collectHitInIndex : COST.collectHit)],
      ['walk', walked * COST.walkRow + lists * hits * COST.listHit],
      [
        'probe',
        lookups.some(isPrefixSearch) ? Infinity : walked * (COST.walkRow + texts * COST.textProbe + oneFieldLookups * COST.oneFieldProbe) + (lists - texts - oneFieldLookups) * hits * COST.listHit,
      ],
    ];
    const [cheapest, cost] = costs.reduce((best, next) => (next[1] < best[1] ? next : best));
    if (fromMemory && hits * (COST.hitInHand + (fromMemory.read ? 0 : COST.textRowid)) < WALK_BUDGET * cost) {
      const leading = (await fromMemory.search.uploadDates()).leading(await fromMemory.search.hits(undefined), start + num, first.descending);
      return store.pageOfRowids(leading, orderBy, num, start);
    }
    const form = this.options.pageForm ?? cheapest;
    if (form === 'collect') return collect();
    if (form === 'walk' && oneFieldLookups === 0) return store.page(where(form), orderBy, num, start);
    // The estimate assumes hits spread evenly along the sort order. Seeks are cheap only while few, and the hits
    // of a range or selection are often bunched (capture dates follow the upload dates the default sort uses): the
    // walk stops after a few times the expected number of rows, and if the page is not full by then another plan
    // reads it. With a range or selection that is collecting, since walking on could read most of the library
    // before reaching its hits.
    // The bound is a prefix of the sort order only for a column without NULLs: the indexed sorts' columns.
    const key = INDEXED_SORTS.has(first.field) ? SORT_COLUMNS[first.field] : undefined;
    const budget = key === undefined ? undefined : { budget: Math.ceil(WALK_BUDGET * walked) + 50, key: sql.raw(key), descending: first.descending };
    const page = await store.page(where(form), orderBy, num, start, budget);
    if (page.length === wanted) return page;
    return oneFieldLookups > 0 ? collect() : store.page(where('walk'), orderBy, num, start);
  }

  /**
   * A page sorted on one number or date field: walk the field's index in order (expected rows read: one hit in
   * every library ÷ hits), or find each hit's value and sort them all (1,000,000 assets by rating: 9.6 s on
   * SQLite, 9.9 s on PostgreSQL).
   */
  private async pageByField(
    store: SearchStore,
    where: Record<'walk' | 'collect', RawBuilder<unknown>>,
    orderBy: RawBuilder<unknown>,
    byField: SortField,
    tree: QueryNode,
    hits: number,
    start: number,
    num: number,
  ): Promise<Asset[]> {
    const wanted = Math.min(num, hits - start);
    if (wanted <= 0) return [];
    const walkRows = ((start + num) * (await store.assetCountBound())) / hits;
    const walk = this.options.pageForm ? this.options.pageForm === 'walk' : walkRows * COST.fieldWalkRow < hits * COST.collectHitByField;
    if (walk) {
      const range = requiredRange(tree, byField.field);
      // The walk stops after a few times the rows an even spread of the hits needs, since they may be bunched, or
      // be mostly assets without the field (PDFs sorted by ISO: it read the whole field, then collected anyway).
      const end = await store.fieldWalkEnd(byField.field, byField.descending, Math.ceil(WALK_BUDGET * walkRows) + 50, range);
      const page = await store.pageByFieldWalk(where.walk, byField.field, byField.descending, num, start, range, end);
      // Short: the walk ended, or reached the assets without the field, which the collecting plan puts last.
      if (page.length === wanted) return page;
    }
    return store.page(where.collect, orderBy, num, start);
  }

  private orderBy(sort: SortField[]): RawBuilder<unknown> {
    // Ties of a sort on one number or date go by id in the same direction, as the field walk reads them.
    const tieBreak = sql.raw(singleValueSort(sort)?.descending ? 'DESC' : 'ASC');
    const terms = sort
      .filter((entry) => entry.field !== 'relevance')
      .map((entry) => {
        const direction = sql.raw(entry.descending ? 'DESC' : 'ASC');
        const column = SORT_COLUMNS[entry.field];
        if (column) return sql`${sql.raw(column)} ${direction}`;
        const definition = searchableField(entry.field)!;
        // On SQLite, MIN(column) lures the planner into walking the field's value index for every asset (20,000
        // assets sorted by rating: 21 s); the unary + makes it seek the asset's own rows instead (87 ms).
        const value = sql.raw(`${this.database.dialect === 'sqlite' ? '+' : ''}v.${definition.type === 'text' ? 'value_key' : 'value_num'}`);
        // Assets without the field sort last either way.
        return sql`(SELECT MIN(${value}) FROM asset_values v WHERE v.asset_id = a.id AND v.field = ${entry.field} AND v.is_token = 0) ${direction} NULLS LAST`;
      });
    // Ties of relevance, and relevance without words to score, go by recency; the id makes paging stable.
    if (terms.length === 0) terms.push(sql`a.created_at DESC`);
    return sql.join([...terms, sql`a.id ${tieBreak}`]);
  }
}
