import type { RawBuilder } from 'kysely';
import type { Lookup, LookupForm } from './compile-query.js';
import { singleLookup } from './compile-query.js';
import { type FacetIndex, rowidsInAll } from './facet-index.js';
import type { FacetIndexStore } from './facet-index-store.js';
import type { QueryNode } from './query.js';
import type { NumberColumn } from './number-column.js';
import { type FacetCount, type FacetKey, type FacetKind, facetKind, type NumericRange } from './search-store.js';

/** A facet selection: a hit needs one of the selected values (`keys`: as the index holds them). */
export interface Selection {
  field: string;
  lookup: Lookup;
  keys: FacetKey[];
}

/** The SQL condition on `assets a` for a query and some selections. */
export type ConditionOf = (form: LookupForm, query: QueryNode, selections: readonly Selection[]) => RawBuilder<unknown>;

/**
 * What the index can find: exact values (a selection, or a `field:value` term ANDed into the query), or a range on a
 * number or date field ANDed into it.
 */
type HeldCondition = { field: string; keys: readonly FacetKey[] } | { field: string; range: NumericRange };

/**
 * Below this share of the library, a selection or exact value is left to SQL even on a field held: its mask costs
 * a pass over the field's whole table (6–25 ms at 1,000,000 assets), and SQL finds 10,000 hits in about as long.
 */
const MIN_MASK_SHARE = 0.01;

/**
 * What one search on SQLite's search threads takes from the FacetIndex: facet counts, and the hits of the
 * selections, exact values and number ranges on fields it holds. At 1,000,000 assets, reading the 332,100 hits of
 * a selection `status=Final` from the index took about 0.3 s in SQL (one seek per hit to find its rowid), and
 * narrowing the whole library by two selections over a second; from memory, one pass over the fields' tables.
 * The index is brought up to date once per search, and each set of hits is found once.
 */
export class InMemorySearch {
  private refreshed: Promise<void> | undefined;
  private readonly hitSets = new Map<string | undefined, Promise<ArrayLike<number>>>();
  /** Within one search the facets' hit sets share their parts: the masks, and the hits SQL finds. */
  private readonly masks = new Map<string, Uint8Array>();
  private readonly sqlHitSets = new Map<string, Promise<number[]>>();

  constructor(
    private readonly index: FacetIndex,
    private readonly store: FacetIndexStore,
    private readonly tree: QueryNode,
    private readonly selections: readonly Selection[],
    private readonly conditionOf: ConditionOf,
    private readonly limit: number,
  ) {}

  /** Whether the index holds all these fields, up to date (a thread behind the log lets them go). */
  async holds(fields: string[]): Promise<boolean> {
    if (fields.length === 0 || !fields.every((field) => this.index.has(field))) return false;
    await this.current();
    return fields.every((field) => this.index.has(field));
  }

  /**
   * Whether the hits are narrowed and found without SQL joining hit lists: every selection is on a field held, and
   * so is the rest of the query, or it is one lookup, whose hits SQL finds alone. SQLite has no statistics to tell
   * which of two lookups has fewer hits; joining them it started from status:Final's 332,100 rather than
   * tags:"Sailing Portrait"'s 975 (0.7 s).
   */
  async findsHitsCheaply(): Promise<boolean> {
    if (this.tree.kind === 'all' && this.selections.length === 0) return false;
    await this.current();
    const { held, rest, inSql } = this.split(undefined);
    return held.length > 0 && inSql.length === 0 && (rest.kind === 'all' || singleLookup(rest, 'sqlite') !== undefined);
  }

  /**
   * Reads whole the fields of the query's ranges and exact values (ANDed into it) that have many hits on their own
   * (`enough`, as `count` counts such a clause in SQL), as a facet's field is read: SQL seeks each hit's asset by
   * id to find it, and joins two such conditions slowly (`assetDomain:image created:[2020-01-01 TO 2020-12-31]` at
   * 1,000,000 assets: 2.1 s).
   */
  async holdFields(count: (clause: QueryNode) => Promise<number>, enough: number): Promise<void> {
    await this.current();
    for (const clause of andedClauses(this.tree)) {
      const condition = heldCondition(clause);
      if (!condition) continue;
      const range = 'range' in condition;
      if (range ? this.index.holdsNumbers(condition.field) : this.index.has(condition.field) || !this.index.suitable(condition.field)) continue;
      if ((await count(clause)) < enough) continue;
      if (range) await this.index.numbersOf(this.store, condition.field);
      else await this.index.hold(this.store, condition.field, facetKind(condition.field));
    }
  }

  /**
   * Whether a field of the selections or exact values could be held but is not: with many hits, reading it whole
   * pays better than finding them in SQL, which the count then must not do first.
   */
  lacksFields(): boolean {
    return this.conditionFields(undefined).some((field) => !this.index.has(field) && this.index.suitable(field));
  }

  /**
   * Rowids of the hits, but for the selection of field `except`. `readFields`: the hits are many, and the fields
   * of the selections and exact values are worth reading whole, as a facet's field is (a folder's 500,000 assets at
   * 1,000,000 took 1.8 s to find in SQL for four facets; reading ancestorPaths whole takes a few seconds, once).
   */
  hits(except: string | undefined, readFields = false): Promise<ArrayLike<number>> {
    let rowids = this.hitSets.get(except);
    if (!rowids) this.hitSets.set(except, (rowids = this.findHits(except, readFields)));
    return rowids;
  }

  /** Every asset's upload date, up to date for this search. */
  async uploadDates(): Promise<NumberColumn> {
    await this.current();
    return this.index.uploadDates(this.store);
  }

  /** A field's facet from memory, reading the field first if need be (see `hits` for `readFields`); undefined: count it in SQL. */
  async count(field: string, kind: FacetKind, narrowed: boolean, ownSelection: boolean, readFields: boolean): Promise<FacetCount[] | undefined> {
    if (!this.index.suitable(field)) return undefined;
    await this.current();
    const rowids = narrowed ? await this.hits(ownSelection ? field : undefined, readFields) : undefined;
    return this.index.facet(this.store, field, kind, rowids, this.limit);
  }

  private current(): Promise<void> {
    return (this.refreshed ??= this.index.refresh(this.store));
  }

  private async findHits(except: string | undefined, readFields: boolean): Promise<ArrayLike<number>> {
    await this.current();
    if (readFields) for (const field of this.conditionFields(except)) await this.index.hold(this.store, field, facetKind(field));
    const { held, rest, inSql, termsHeld } = this.split(except);
    if (held.length === 0) return this.sqlHits(rest, inSql, termsHeld);
    const masks = held.map((condition) => this.maskOf(condition));
    return rowidsInAll(masks, rest.kind === 'all' && inSql.length === 0 ? undefined : await this.sqlHits(rest, inSql, termsHeld));
  }

  /**
   * The hits SQL finds for what the index does not (`rest`: the query without the terms held, `termsHeld`), from the
   * text index alone when that is a full-text lookup.
   */
  private sqlHits(rest: QueryNode, inSql: Selection[], termsHeld: HeldCondition[]): Promise<number[]> {
    const key = JSON.stringify([termsHeld, inSql.map(({ field }) => field)]);
    let rowids = this.sqlHitSets.get(key);
    if (!rowids) {
      const text = inSql.length === 0 ? fullTextOnly(rest) : undefined;
      rowids = text !== undefined ? this.store.textRowids(text) : this.store.hitRowids(this.conditionOf('collect', rest, inSql));
      this.sqlHitSets.set(key, rowids);
    }
    return rowids;
  }

  private maskOf(condition: HeldCondition): Uint8Array {
    const key = JSON.stringify(condition);
    let mask = this.masks.get(key);
    if (!mask) {
      mask = 'range' in condition ? this.index.heldNumbers(condition.field)!.mask(condition.range) : this.index.assetsWith(condition.field, condition.keys)!;
      this.masks.set(key, mask);
    }
    return mask;
  }

  /** The fields of the selections (but `except`'s) and of the query's exact values that the index could hold. */
  private conditionFields(except: string | undefined): string[] {
    const terms = heldTerms(this.tree, () => true)
      .held.filter((term) => 'keys' in term)
      .map((term) => term.field);
    return [...new Set([...terms, ...this.selections.filter(({ field }) => field !== except).map(({ field }) => field)])];
  }

  /**
   * The conditions the index finds (on fields it holds now, with hits enough to be worth a mask), and the rest of
   * the query and selections for SQL.
   */
  private split(except: string | undefined): { held: HeldCondition[]; rest: QueryNode; inSql: Selection[]; termsHeld: HeldCondition[] } {
    // A range's mask is one pass over an array of numbers: worth it for any number of hits.
    const isHeld = (condition: HeldCondition) =>
      'range' in condition ? this.index.holdsNumbers(condition.field) : this.index.has(condition.field) && this.index.shareWith(condition.field, condition.keys)! >= MIN_MASK_SHARE;
    const { held, rest } = heldTerms(this.tree, isHeld);
    const termsHeld = [...held];
    const inSql: Selection[] = [];
    for (const selection of this.selections) {
      if (selection.field === except) continue;
      if (isHeld(selection)) held.push(selection);
      else inSql.push(selection);
    }
    return { held, rest, inSql, termsHeld };
  }
}

/** The expression of a query that is one full-text lookup (words ANDed), whose hits the text index gives alone. */
function fullTextOnly(query: QueryNode): string | undefined {
  const lookup = singleLookup(query, 'sqlite');
  return lookup?.kind === 'text' ? lookup.expression : undefined;
}

/** The clauses ANDed into a query: its children, or the query itself when it is not an AND. */
export const andedClauses = (tree: QueryNode): QueryNode[] => (tree.kind === 'and' ? tree.children : [tree]);

/**
 * What the index could find of a clause: a `field:value` term matching whole values as the index holds them
 * (text fields without word rows, whose lookup is the lower-cased value), or a range on a number or date field.
 */
function heldCondition(clause: QueryNode): HeldCondition | undefined {
  const lookup = clause.kind === 'term' && clause.field !== null ? singleLookup(clause, 'sqlite') : undefined;
  const kind = lookup?.kind === 'value' ? facetKind(lookup.field) : undefined;
  return lookup?.kind === 'value' && kind && !kind.numeric && !kind.tokenized ? { field: lookup.field, keys: [lookup.key] } : numberRange(clause);
}

/**
 * Whether the index may find hits of the query without facets: it ANDs in a range on a number or date field, or an
 * exact value and more (SQL finds a lone exact value's hits in its index as fast as a mask would).
 */
export function mayFindInMemory(tree: QueryNode): boolean {
  const clauses = andedClauses(tree);
  return clauses.some((clause) => numberRange(clause) !== undefined) || (clauses.length > 1 && clauses.some((clause) => heldCondition(clause) !== undefined));
}

/** The query's conditions the index finds (alone, or ANDed into the query); the rest of the query is left for SQL. */
function heldTerms(tree: QueryNode, isHeld: (condition: HeldCondition) => boolean): { held: HeldCondition[]; rest: QueryNode } {
  const held: HeldCondition[] = [];
  const rest: QueryNode[] = [];
  for (const clause of andedClauses(tree)) {
    const condition = heldCondition(clause);
    if (condition && isHeld(condition)) held.push(condition);
    else rest.push(clause);
  }
  if (held.length === 0) return { held, rest: tree };
  return { held, rest: rest.length === 0 ? { kind: 'all' } : rest.length === 1 ? rest[0]! : { kind: 'and', children: rest } };
}

/** A range clause with number or date bounds (dates are epoch ms by then); both ends open is not one. */
export function numberRange(clause: QueryNode): { field: string; range: NumericRange } | undefined {
  if (clause.kind !== 'range') return undefined;
  const { min, max, minInclusive, maxInclusive } = clause;
  if (typeof min === 'string' || typeof max === 'string' || (min === null && max === null)) return undefined;
  return { field: clause.field, range: { min, max, minInclusive, maxInclusive } };
}
