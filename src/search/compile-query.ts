import { type RawBuilder, sql } from 'kysely';
import type { DialectName } from '../db/database.js';
import { TOKENIZED_FIELDS, words } from './index-entries.js';
import type { QueryNode } from './query.js';

type Condition = RawBuilder<unknown>;

const TRUE = sql`1 = 1`;
const FALSE = sql`1 = 0`;

/**
 * Compiles a query tree (with fuzzy terms already expanded, see `expandFuzzyTerms`) into a SQL condition on `assets a`, for one dialect. Every value travels as a bound
 * parameter: no user input is ever spliced into the SQL text.
 */
export function compileQuery(node: QueryNode, dialect: DialectName): Condition {
  switch (node.kind) {
    case 'all':
      return TRUE;
    case 'and':
      return sql`(${sql.join(node.children.map((child) => compileQuery(child, dialect)), sql` AND `)})`;
    case 'or':
      return sql`(${sql.join(node.children.map((child) => compileQuery(child, dialect)), sql` OR `)})`;
    case 'not':
      return sql`NOT (${compileQuery(node.child, dialect)})`;
    case 'range':
      return rangeCondition(node);
    case 'term':
      return node.field === null ? fullTextCondition(node, dialect) : fieldCondition(node as typeof node & { field: string });
  }
}

type Term = Extract<QueryNode, { kind: 'term' }>;
type Range = Extract<QueryNode, { kind: 'range' }>;

const inValues = (where: Condition) => sql`a.id IN (SELECT v.asset_id FROM asset_values v WHERE ${where})`;

/** `*` → `%`, `?` → `_`, everything else literal (LIKE's own metacharacters escaped). */
export function likePattern(value: string, keepCase = false): string {
  return (keepCase ? value : value.toLowerCase()).replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}


function fieldCondition(term: Term & { field: string }): Condition {
  const value = term.value.toLowerCase();
  if (term.field === 'id') {
    return term.pattern ? sql`a.id LIKE ${likePattern(term.value, true)} ESCAPE '\\'` : sql`a.id = ${term.value}`;
  }
  const field = sql`v.field = ${term.field}`;
  if (term.pattern) return inValues(sql`${field} AND v.value_key LIKE ${likePattern(term.value)} ESCAPE '\\'`);
  const path = term.field === 'ancestorPaths' || term.field === 'folderPath' ? normalizePath(value) : value;
  const tokenized = TOKENIZED_FIELDS.has(term.field) || term.field.startsWith('cf_');
  if (tokenized && term.phrase && words(value).length > 1) {
    // A phrase: the whole value, or the words in order inside a tokenized field's value.
    return inValues(sql`${field} AND v.is_token = 0 AND (v.value_key = ${value} OR v.value_key LIKE ${`%${likePattern(value)}%`} ESCAPE '\\')`);
  }
  return inValues(sql`${field} AND v.value_key = ${path}`);
}

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function rangeCondition(range: Range): Condition {
  const numeric = typeof range.min === 'number' || typeof range.max === 'number';
  const column = numeric ? sql`v.value_num` : sql`v.value_key`;
  const parts: Condition[] = [sql`v.field = ${range.field}`, numeric ? sql`v.value_num IS NOT NULL` : sql`v.is_token = 0`];
  if (range.min !== null) parts.push(range.minInclusive ? sql`${column} >= ${range.min}` : sql`${column} > ${range.min}`);
  if (range.max !== null) parts.push(range.maxInclusive ? sql`${column} <= ${range.max}` : sql`${column} < ${range.max}`);
  return inValues(sql.join(parts, sql` AND `));
}

function fullTextCondition(term: Term, dialect: DialectName): Condition {
  if (term.pattern && !/^[^*?]+\*$/.test(term.value)) {
    // Wildcards other than a trailing `*`: matched against every indexed value and word.
    return inValues(sql`v.value_key LIKE ${likePattern(term.value)} ESCAPE '\\'`);
  }
  const prefix = term.pattern;
  const tokens = words(term.value.replace(/\*$/, ''));
  if (tokens.length === 0) return FALSE;
  if (dialect === 'sqlite') {
    // FTS5 syntax built from quoted words only: `"harbour" "dawn"`, `"at dawn"` or `"harb"*`.
    const quoted = tokens.map((token) => `"${token}"`);
    const expression = term.phrase ? `"${tokens.join(' ')}"` : quoted.map((token, index) => (prefix && index === quoted.length - 1 ? `${token}*` : token)).join(' ');
    return sql`a.rowid IN (SELECT rowid FROM asset_text WHERE asset_text MATCH ${expression})`;
  }
  const lexemes = tokens.map((token, index) => `'${token}'${prefix && index === tokens.length - 1 ? ':*' : ''}`);
  const expression = lexemes.join(term.phrase ? ' <-> ' : ' & ');
  return sql`a.id IN (SELECT t.asset_id FROM asset_text t WHERE t.document @@ to_tsquery('simple', ${expression}))`;
}
