import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from '../db/database.js';
import { FULL_TEXT_FIELDS, isTokenized, words } from './index-entries.js';
import type { QueryNode } from './query.js';

type Condition = RawBuilder<unknown>;

const TRUE = sql`1 = 1`;
const FALSE = sql`1 = 0`;

/**
 * How the lookups in the search index join `assets a`. All three select exactly the same assets:
 * - `collect`: each lookup's whole hit set is collected and the assets are fetched from it (cheap when hits are few);
 * - `walk`: the assets are read in sort order and each is checked: an exact field value by one seek in the
 *   (field, value_key, asset_id) index, any other lookup against its hit list, collected once (cheap when hits are
 *   dense: the page fills after a few rows, however many hits there are);
 * - `probe`: like `walk`, but full-text lookups and lookups on one field (ranges, facet selections) seek each asset
 *   (in the text index, or in the asset's rows of that field) instead of collecting their list: this pays when a
 *   few rows fill the page out of a huge hit set.
 */
export type LookupForm = 'collect' | 'walk' | 'probe';

/** One lookup in the search index. */
export type Lookup =
  /** A full-text expression (FTS5 or tsquery syntax). */
  | { kind: 'text'; expression: string }
  /** A field's exact (lower-cased) value or word. */
  | { kind: 'value'; field: string; key: string }
  /**
   * Any other condition on `asset_values v`. `oneField` when it is on the rows of one field (a range, a facet
   * selection): a probe seeks them among the asset's own rows, and its hits may bunch along the sort order
   * (capture dates follow upload dates; a status is often set on a batch). `onePerAsset` when an asset has at most
   * one such row, so that its rows can be counted without DISTINCT.
   */
  | { kind: 'values'; where: Condition; oneField?: boolean; onePerAsset?: boolean }
  /** A condition on `assets a` alone. */
  | { kind: 'assets'; condition: Condition };

/**
 * Compiles a query tree (with fuzzy terms already expanded, see `expandFuzzyTerms`) into a SQL condition on `assets a`, for one dialect. Every value travels as a bound
 * parameter: no user input is ever spliced into the SQL text.
 */
export function compileQuery(node: QueryNode, dialect: DialectName, form: LookupForm = 'collect'): Condition {
  switch (node.kind) {
    case 'all':
      return TRUE;
    case 'and': {
      const { text, others } = splitTextTerms(node.children, dialect);
      const parts = [...(text ? [lookupCondition(text, dialect, form)] : []), ...others.map((child) => compileQuery(child, dialect, form))];
      return sql`(${sql.join(parts, sql` AND `)})`;
    }
    case 'or':
      return sql`(${sql.join(node.children.map((child) => compileQuery(child, dialect, form)), sql` OR `)})`;
    case 'not':
      return sql`NOT (${compileQuery(node.child, dialect, form)})`;
    case 'range':
    case 'term':
      return lookupCondition(leafLookup(node, dialect), dialect, form);
  }
}

/** The one lookup a whole query amounts to, if it does: such a query can be counted in the index alone. */
export function singleLookup(node: QueryNode, dialect: DialectName): Lookup | undefined {
  if (node.kind === 'term' || node.kind === 'range') return leafLookup(node, dialect);
  if (node.kind === 'and') {
    const { text, others } = splitTextTerms(node.children, dialect);
    if (text && others.length === 0) return text;
  }
  return undefined;
}

/** Every lookup a query makes (full-text terms under one AND count once): what a plan's cost depends on. */
export function queryLookups(node: QueryNode, dialect: DialectName): Lookup[] {
  switch (node.kind) {
    case 'all':
      return [];
    case 'and': {
      const { text, others } = splitTextTerms(node.children, dialect);
      return [...(text ? [text] : []), ...others.flatMap((child) => queryLookups(child, dialect))];
    }
    case 'or':
      return node.children.flatMap((child) => queryLookups(child, dialect));
    case 'not':
      return queryLookups(node.child, dialect);
    case 'range':
    case 'term':
      return [leafLookup(node, dialect)];
  }
}

/**
 * The full-text expression that scores hits for `sort=relevance`: the query's words and phrases, combined as the
 * query combines them, leaving out those under a NOT and the conditions that are not text (they filter, they do
 * not score). Undefined when the query looks for no text: nothing to score by.
 */
export function relevanceExpression(node: QueryNode, dialect: DialectName): string | undefined {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const parts = node.children.map((child) => relevanceExpression(child, dialect)).filter((part) => part !== undefined);
      if (parts.length <= 1) return parts[0];
      const operator = node.kind === 'and' ? (dialect === 'sqlite' ? ' AND ' : ' & ') : dialect === 'sqlite' ? ' OR ' : ' | ';
      return parts.map((part) => `(${part})`).join(operator);
    }
    case 'term':
    case 'range': {
      const lookup = leafLookup(node, dialect);
      return lookup.kind === 'text' ? lookup.expression : undefined;
    }
    default:
      return undefined;
  }
}

/** A prefix search (`harb*`): a seek by rowid has to visit every word with that prefix, so it is never probed. */
export const isPrefixSearch = (lookup: Lookup): boolean => lookup.kind === 'text' && lookup.expression.includes('*');

/** The condition on `assets a` that a lookup stands for, in the given form. */
export function lookupCondition(lookup: Lookup, dialect: DialectName, form: LookupForm): Condition {
  // SQLite: the unary + keeps the planner from starting at a hit list, so that it walks the sort order instead.
  const filter = form !== 'collect' && dialect === 'sqlite' ? sql`+` : sql``;
  switch (lookup.kind) {
    case 'assets':
      return lookup.condition;
    case 'value':
      return form === 'collect'
        ? sql`a.id IN (SELECT v.asset_id FROM asset_values v WHERE ${valueWhere(lookup)})`
        : sql`EXISTS (SELECT 1 FROM asset_values v WHERE ${valueWhere(lookup)} AND v.asset_id = a.id)`;
    case 'values': {
      if (lookup.oneField && form === 'probe') {
        // One field, so a seek reads only that asset's rows of it, through the (asset_id, field) index: SQLite
        // would otherwise take the (field, value) index and scan the whole range or selection for every asset it checks.
        const rows = dialect === 'sqlite' ? sql`asset_values v INDEXED BY asset_values_asset` : sql`asset_values v`;
        return sql`EXISTS (SELECT 1 FROM ${rows} WHERE v.asset_id = a.id AND ${lookup.where})`;
      }
      // Not probed otherwise: without one field and an exact key a seek would read many of the asset's rows.
      return sql`${filter}a.id IN (SELECT v.asset_id FROM asset_values v WHERE ${lookup.where})`;
    }
    case 'text': {
      const probe = form === 'probe' && !isPrefixSearch(lookup);
      if (dialect === 'sqlite') {
        return probe
          ? sql`EXISTS (SELECT 1 FROM asset_text WHERE asset_text MATCH ${lookup.expression} AND rowid = a.rowid)`
          : sql`${filter}a.rowid IN (SELECT rowid FROM asset_text WHERE asset_text MATCH ${lookup.expression})`;
      }
      return probe
        ? sql`EXISTS (SELECT 1 FROM asset_text t WHERE t.asset_id = a.id AND t.document @@ to_tsquery('simple', ${lookup.expression}))`
        : sql`a.id IN (SELECT t.asset_id FROM asset_text t WHERE t.document @@ to_tsquery('simple', ${lookup.expression}))`;
    }
  }
}

/** The asset_values rows of a `value` lookup. */
export const valueWhere = (lookup: Extract<Lookup, { kind: 'value' }>): Condition => sql`v.field = ${lookup.field} AND v.value_key = ${lookup.key}`;

/**
 * Full-text terms under one AND become one expression: the text index intersects its own lists far faster than
 * the hit sets of separate lookups can be joined.
 */
function splitTextTerms(children: QueryNode[], dialect: DialectName): { text: Lookup | undefined; others: QueryNode[] } {
  const expressions: string[] = [];
  const others: QueryNode[] = [];
  for (const child of children) {
    const lookup = child.kind === 'term' && child.field === null ? fullTextLookup(child, dialect) : undefined;
    if (lookup?.kind === 'text') expressions.push(lookup.expression);
    else others.push(child);
  }
  if (expressions.length === 0) return { text: undefined, others };
  const expression = dialect === 'sqlite' || expressions.length === 1 ? expressions.join(' ') : expressions.map((part) => `(${part})`).join(' & ');
  return { text: { kind: 'text', expression }, others };
}

type Term = Extract<QueryNode, { kind: 'term' }>;
type Range = Extract<QueryNode, { kind: 'range' }>;

function leafLookup(node: Term | Range, dialect: DialectName): Lookup {
  if (node.kind === 'range') return rangeLookup(node);
  return node.field === null ? fullTextLookup(node, dialect) : fieldLookup(node as Term & { field: string }, dialect);
}

/** `*` → `%`, `?` → `_`, everything else literal (LIKE's own metacharacters escaped). */
export function likePattern(value: string, keepCase = false): string {
  return (keepCase ? value : value.toLowerCase()).replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

const values = (where: Condition): Lookup => ({ kind: 'values', where });

function fieldLookup(term: Term & { field: string }, dialect: DialectName): Lookup {
  const value = term.value.toLowerCase();
  if (term.field === 'id') {
    if (!term.pattern) return { kind: 'assets', condition: sql`a.id = ${term.value}` };
    // Ids are case-sensitive. SQLite's LIKE ignores ASCII case, its GLOB does not (`[` and `]` taken literally).
    if (dialect === 'sqlite') return { kind: 'assets', condition: sql`a.id GLOB ${term.value.replace(/[[\]]/g, (c) => `[${c}]`)}` };
    return { kind: 'assets', condition: sql`a.id LIKE ${likePattern(term.value, true)} ESCAPE '\\'` };
  }
  const field = sql`v.field = ${term.field}`;
  if (term.pattern) return values(sql`${field} AND v.value_key LIKE ${likePattern(term.value)} ESCAPE '\\'`);
  const path = exactKey(term.field, term.value);
  if (isTokenized(term.field)) {
    const termWords = words(value);
    if (term.phrase && termWords.length > 1) {
      // A phrase: the whole value, or the words in order inside a tokenized field's value.
      return values(sql`${field} AND v.is_token = 0 AND (v.value_key = ${value} OR v.value_key LIKE ${`%${likePattern(value)}%`} ESCAPE '\\')`);
    }
    // One word matches the field's word rows, folded as they were indexed (`café` is `cafe`).
    if (termWords.length === 1 && termWords[0] !== value) return { kind: 'value', field: term.field, key: termWords[0]! };
  }
  return { kind: 'value', field: term.field, key: path };
}

/** The key an exact value of a field is looked up by: lower-cased, and a folder path without a trailing slash. */
export function exactKey(field: string, value: string): string {
  const key = value.toLowerCase();
  if (field !== 'ancestorPaths' && field !== 'folderPath') return key;
  const trimmed = key.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function rangeLookup(range: Range): Lookup {
  const numeric = typeof range.min === 'number' || typeof range.max === 'number';
  const column = numeric ? sql`v.value_num` : sql`v.value_key`;
  const parts: Condition[] = [sql`v.field = ${range.field}`, numeric ? sql`v.value_num IS NOT NULL` : sql`v.is_token = 0`, ...rangeBounds(column, range)];
  // A number or date field has one index row per asset (see indexEntries); text may have several.
  return { kind: 'values', where: sql.join(parts, sql` AND `), oneField: true, onePerAsset: numeric };
}

/** The comparisons of a range's bounds with `column` (none for an open end). */
export function rangeBounds(column: Condition, range: Pick<Range, 'min' | 'max' | 'minInclusive' | 'maxInclusive'>): Condition[] {
  const bounds: Condition[] = [];
  if (range.min !== null) bounds.push(range.minInclusive ? sql`${column} >= ${range.min}` : sql`${column} > ${range.min}`);
  if (range.max !== null) bounds.push(range.maxInclusive ? sql`${column} <= ${range.max}` : sql`${column} < ${range.max}`);
  return bounds;
}

function fullTextLookup(term: Term, dialect: DialectName): Lookup {
  if (term.pattern && !/^[^*?]+\*$/.test(term.value)) {
    // Wildcards other than a trailing `*`: matched against the values and words of the fields bare words search,
    // not against paths, types or domains (`*mage` must not find every image).
    const fullText = sql`(v.field IN (${sql.join(FULL_TEXT_FIELDS)}) OR v.field LIKE 'cf\\_%' ESCAPE '\\')`;
    return values(sql`${fullText} AND v.value_key LIKE ${likePattern(term.value)} ESCAPE '\\'`);
  }
  const prefix = term.pattern;
  const tokens = words(term.value.replace(/\*$/, ''));
  if (tokens.length === 0) return { kind: 'assets', condition: FALSE };
  if (dialect === 'sqlite') {
    // FTS5 syntax built from quoted words only: `"harbour" "dawn"`, `"at dawn"` or `"harb"*`.
    const quoted = tokens.map((token) => `"${token}"`);
    const expression = term.phrase ? `"${tokens.join(' ')}"` : quoted.map((token, index) => (prefix && index === quoted.length - 1 ? `${token}*` : token)).join(' ');
    return { kind: 'text', expression };
  }
  const lexemes = tokens.map((token, index) => `'${token}'${prefix && index === tokens.length - 1 ? ':*' : ''}`);
  return { kind: 'text', expression: lexemes.join(term.phrase ? ' <-> ' : ' & ') };
}
