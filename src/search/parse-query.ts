import lucene, { type BinaryNode, type Node, type RangeNode, type TermNode } from 'lucene';
import { type FieldDefinition, fieldDefinition, METADATA_COMPLETE, parseNumber } from '../assets/fields.js';
import { badRequest } from '../lib/errors.js';
import { type DateSpan, resolveQueryDate } from './date-math.js';
import { NOTHING, type QueryNode } from './query.js';

export const MAX_QUERY_LENGTH = 10_000;
const MAX_DEPTH = 32;
/** Terms in one query at most: each becomes a condition, and SQLite refuses expressions deeper than 1,000. */
const MAX_TERMS = 512;
const IMPLICIT = '<implicit>';

const searchOnly = (name: string): FieldDefinition => ({ name, type: 'text', multivalue: false, editable: false, group: 'system' });

/**
 * The relation terms of protocol §3.5 (`relatedTo:<id> relationTarget:child relationType:contains`, how clients
 * list a collection). Damson keeps no relations yet (§4.10), so they find what is true: nothing.
 */
const RELATION_FIELDS = new Set(['relatedTo', 'relationTarget', 'relationType']);

/** Fields that exist only for searching. */
const SEARCH_ONLY_FIELDS: Record<string, FieldDefinition> = Object.fromEntries(['id', ...RELATION_FIELDS].map((name) => [name, searchOnly(name)]));

export function searchableField(name: string): FieldDefinition | undefined {
  // Own properties only: `constructor` or `__proto__` (a sort or a query field) must not find Object's.
  return (Object.hasOwn(SEARCH_ONLY_FIELDS, name) ? SEARCH_ONLY_FIELDS[name] : undefined) ?? fieldDefinition(name);
}

/**
 * Parses the Assets (Lucene) query language into Damson's query tree. Field names are checked, values typed by
 * their field, dates resolved against `now`. Any problem is a 400 that says what and, for syntax, where.
 */
export function parseQuery(text: string, now: number): QueryNode {
  if (text.length > MAX_QUERY_LENGTH) throw badRequest(`The query is longer than ${MAX_QUERY_LENGTH} characters`);
  if (text.trim() === '') return { kind: 'all' };
  if (text.includes('\u0000')) throw badRequest('The query contains a NUL character');
  let tree: Node;
  const grammarText = forGrammar(text);
  try {
    tree = lucene.parse(grammarText.text);
  } catch (error) {
    const position = (error as { location?: { start?: { offset?: number } } }).location?.start?.offset;
    const found = (error as { found?: string | null }).found;
    throw badRequest(`Query syntax error at position ${position === undefined ? '?' : grammarText.originalOffset(position)}${found ? ` near ${JSON.stringify(found)}` : ''}`);
  }
  const query = simplify('left' in tree ? convertGroup(tree, undefined, 0, now) : excluding(convertClause(tree, undefined, 0, now)));
  if (countTerms(query) > MAX_TERMS) throw badRequest(`The query has more than ${MAX_TERMS} terms`);
  return query;
}

/**
 * The query rewritten into the forms the `lucene` grammar reads as Lucene does: it drops the NOT of `&& NOT` and
 * `|| NOT` (`sea && NOT boats` found the boats), cannot negate or require a bracket (`-(a b)`, `!(a b)`, `+(a b)`),
 * and reads the `/` of date math's rounding (`NOW/DAY`) as a regular expression. Quoted phrases and escaped
 * characters are left alone. `originalOffset` maps a position in the rewritten text back to the user's, for
 * syntax errors.
 */
function forGrammar(query: string): { text: string; originalOffset: (offset: number) => number } {
  let text = '';
  /** [offset in the rewritten text, characters added there]. */
  const shifts: Array<[number, number]> = [];
  const emit = (original: string, written: string) => {
    if (written.length !== original.length) shifts.push([text.length + written.length, written.length - original.length]);
    text += written;
  };
  const rewrites: Array<{ pattern: RegExp; atClauseStart?: true; write: (match: RegExpExecArray) => string }> = [
    { pattern: /(&&|\|\|)(\s+)NOT(?=[\s(])/y, write: ([, operator, space]) => `${operator === '&&' ? 'AND' : 'OR'}${space}NOT` },
    { pattern: /[-!](?=\()/y, atClauseStart: true, write: () => 'NOT ' },
    // A required group (`+(a OR b)`), which the grammar has no prefix for: the `+` goes, and its group is followed
    // by `AND *:*` (below), which makes it required as a `+` does, also beside optional clauses: `x OR +(a b)` is
    // `a b`, and `+(a) OR b` is `a`.
    { pattern: /\+(?=\()/y, atClauseStart: true, write: () => ((requireNextGroup = true), '') },
    { pattern: /NOW(?:[+-]\d+[A-Z]+)*(?=\/[A-Z])/iy, write: ([found]) => `${found}\\` },
  ];
  let inPhrase = false;
  let requireNextGroup = false;
  let depth = 0;
  /** Bracket depths of the open required groups. */
  const required = new Set<number>();
  for (let index = 0; index < query.length; ) {
    const char = query[index]!;
    if (char === '\\') {
      emit(query.slice(index, index + 2), query.slice(index, index + 2));
      index += 2;
      continue;
    }
    if (char === '"') inPhrase = !inPhrase;
    if (!inPhrase && char === '(') {
      depth++;
      if (requireNextGroup) required.add(depth);
      requireNextGroup = false;
    } else if (!inPhrase && char === ')') {
      const closesRequired = required.delete(depth);
      depth = Math.max(0, depth - 1);
      if (closesRequired) {
        emit(char, ') AND *:*');
        index += 1;
        continue;
      }
    }
    const atClauseStart = index === 0 || /[\s(]/.test(query[index - 1]!);
    let match: RegExpExecArray | null = null;
    for (const rewrite of inPhrase ? [] : rewrites) {
      if (rewrite.atClauseStart && !atClauseStart) continue;
      rewrite.pattern.lastIndex = index;
      match = rewrite.pattern.exec(query);
      if (match) {
        emit(match[0], rewrite.write(match));
        index += match[0].length;
        break;
      }
    }
    if (match) continue;
    emit(char, char);
    index += 1;
  }
  const originalOffset = (offset: number) => shifts.reduce((position, [at, added]) => (offset >= at ? position - added : position), offset);
  return { text, originalOffset };
}

function countTerms(node: QueryNode): number {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.children.reduce((sum, child) => sum + countTerms(child), 0);
    case 'not':
      return countTerms(node.child);
    case 'all':
      return 0;
    default:
      return 1;
  }
}

/**
 * One bracket level of a query: a chain of clauses, combined as Lucene's classic query parser (behind the Assets
 * Server's Elasticsearch) combines them with AND as the default operator. AND makes the clauses on both sides of it
 * required, OR makes them optional, `-` and NOT exclude; optional clauses beside a required one select nothing
 * (in Lucene they only weigh in relevance). So `a OR b -c` is (a OR b) without c, and `a AND b OR c` is just a.
 */
function convertGroup(group: BinaryNode, inheritedField: string | undefined, depth: number, now: number): QueryNode {
  // Only brackets nest: the grammar chains `a OR b OR c` one level per term, and 40 ids or words are no nesting.
  if (depth > MAX_DEPTH) throw badRequest(`The query nests deeper than ${MAX_DEPTH} levels`);
  const field = group.field && group.field !== IMPLICIT ? group.field : inheritedField;
  // An asset has one id, so ids ANDed find nothing: `id:(a b)`, which the Assets metadata panel sends for the
  // assets selected, means any of them.
  const defaultConjunction = field === 'id' ? 'or' : null;
  const clauses: Array<{ node: QueryNode; occur: 'must' | 'should' | 'mustNot' }> = [];
  for (const item of chainItems(group)) {
    const { node, prohibited } = convertClause(item.clause, field, depth, now);
    const conjunction = item.conjunction ?? defaultConjunction;
    const previous = clauses[clauses.length - 1];
    if (previous && previous.occur !== 'mustNot' && conjunction) previous.occur = conjunction === 'and' ? 'must' : 'should';
    clauses.push({ node, occur: prohibited || item.not ? 'mustNot' : conjunction === 'or' ? 'should' : 'must' });
  }
  const of = (occur: string) => clauses.filter((clause) => clause.occur === occur).map((clause) => clause.node);
  const [must, should, mustNot] = [of('must'), of('should'), of('mustNot')];
  const positive: QueryNode = must.length > 0 ? { kind: 'and', children: must } : should.length > 0 ? { kind: 'or', children: should } : { kind: 'all' };
  return mustNot.length === 0 ? positive : { kind: 'and', children: [positive, ...mustNot.map((child): QueryNode => ({ kind: 'not', child }))] };
}

/** A clause of a bracket level, with the operator that joined it to the one before (none: the default, AND). */
interface ChainItem {
  conjunction: 'and' | 'or' | null;
  not: boolean;
  clause: Node;
}

/** A converted clause, and whether a `-` before it excludes it. */
interface Clause {
  node: QueryNode;
  prohibited: boolean;
}

/** The clauses of one bracket level, which the grammar nests to the right. */
function chainItems(group: BinaryNode): ChainItem[] {
  const items: ChainItem[] = [];
  let node = group;
  let conjunction: ChainItem['conjunction'] = null;
  let not = false;
  for (;;) {
    // The grammar accepts a lone operator (`AND`, `OR`, `&&`) as a node with nothing to operate on.
    if (!node.left) throw badRequest(`Query syntax error: ${JSON.stringify(node.operator ?? node.start ?? '')} has no term to apply to`);
    items.push({ conjunction, not: not || node.start === 'NOT', clause: node.left });
    if (!node.right) return items;
    const operator = (node.operator ?? IMPLICIT).toUpperCase();
    conjunction = operator.startsWith('AND') || operator === '&&' ? 'and' : operator.startsWith('OR') || operator === '||' ? 'or' : null;
    not = operator.endsWith('NOT');
    const next = node.right;
    if (!('left' in next) || (next as { parenthesized?: boolean }).parenthesized) {
      items.push({ conjunction, not, clause: next });
      return withFuzzyDistances(items);
    }
    node = next as BinaryNode;
  }
}

/** A fuzzy term with the edit distance written after its `~`, which the grammar does not read. */
type FuzzyTermNode = TermNode & { edits?: number };

/**
 * The grammar reads `harbour~1` as `harbour~` followed by a term `1`: such a number, written right after a fuzzy
 * term's `~`, is its edit distance (Lucene's limit is 2).
 */
function withFuzzyDistances(items: ChainItem[]): ChainItem[] {
  const merged: ChainItem[] = [];
  for (const item of items) {
    const previous = merged[merged.length - 1]?.clause as FuzzyTermNode | undefined;
    const clause = item.clause as Partial<TermNode>;
    const distance =
      previous && 'term' in previous && isFuzzy(previous) && previous.edits === undefined && item.conjunction === null && !item.not &&
      clause.term !== undefined && /^\d+$/.test(clause.term) && !clause.quoted && clause.prefix === null &&
      previous.termLocation !== undefined && clause.termLocation?.start.offset === previous.termLocation.start.offset + previous.term.length + 1;
    if (distance) merged[merged.length - 1]!.clause = { ...previous, edits: Math.min(2, Number(clause.term)) } as FuzzyTermNode;
    else merged.push(item);
  }
  return merged;
}

const excluding = ({ node, prohibited }: Clause): QueryNode => (prohibited ? { kind: 'not', child: node } : node);

function convertClause(clause: Node, field: string | undefined, depth: number, now: number): Clause {
  if ('term_min' in clause) return rangeNode(clause, field, now);
  if ('term' in clause) return termNode(clause, field, now);
  return { node: convertGroup(clause as BinaryNode, field, depth + 1, now), prohibited: false };
}

/** The lucene grammar folds a `-`/`+`/`!` before `field:` into the field name. */
function splitPrefix(field: string, prefix: string | null): { field: string; prefix: string | null } {
  const match = /^([+!-])(.*)$/.exec(field);
  return match ? { field: match[2]!, prefix: excludes(match[1]!) } : { field, prefix };
}

/** Lucene's `!` is NOT, as `-` is. */
const excludes = (prefix: string | null): string | null => (prefix === '!' ? '-' : prefix);

/** A term as written, with `\x` escapes resolved; `*` and `?` count as wildcards only when not escaped. */
function unescapeTerm(raw: string, quoted: boolean): { value: string; pattern: boolean } {
  const pattern = !quoted && /(^|[^\\])[*?]/.test(raw);
  return { value: raw.replace(/\\(.)/g, '$1'), pattern };
}

function termNode(original: TermNode, inheritedField: string | undefined, now: number): Clause {
  // A `-` before the field (`-rating:3`) excludes; one before the value (`rating:-1`) excludes too, unless the
  // field holds numbers or dates, where it is the value's sign.
  const { field: rawField, prefix: fieldPrefix } = splitPrefix(original.field, null);
  let prefix = excludes(original.prefix);
  const fieldName = rawField === IMPLICIT ? inheritedField : rawField;
  const { value: term, pattern } = unescapeTerm(original.term, original.quoted);
  let node = { ...original, term };
  const fieldType = fieldName ? searchableField(fieldName)?.type : undefined;
  if (prefix === '-' && fieldType && fieldType !== 'text' && /^\d/.test(term)) {
    node = { ...node, term: `-${term}` };
    prefix = null;
  }
  if (fieldPrefix === '-') prefix = prefix === '-' ? null : '-';
  if (node.regex) throw badRequest('Regular expressions are not supported in queries');
  let result: QueryNode;
  if (fieldName === '*' && node.term === '*') {
    result = { kind: 'all' };
  } else if (fieldName === undefined || fieldName === IMPLICIT) {
    result = { kind: 'term', field: null, value: node.term, phrase: node.quoted, pattern, ...fuzziness(original) };
  } else {
    result = fieldTerm(checkedField(fieldName), node, pattern, now);
  }
  return { node: result, prohibited: prefix === '-' };
}

function fieldTerm(definition: FieldDefinition, node: TermNode, pattern: boolean, now: number): QueryNode {
  const value = node.term;
  // Every asset's metadata is complete: `metadataComplete:true` (or `:*`) is every asset, any other value none.
  if (definition.name === METADATA_COMPLETE) return wildcardMatches(value, 'true', pattern) ? { kind: 'all' } : NOTHING;
  if (RELATION_FIELDS.has(definition.name)) return NOTHING;
  if (pattern && definition.type !== 'text') {
    // `rating:*`: has a value. Other wildcards only make sense on text.
    if (value !== '*') throw badRequest(`Wildcards apply to text; ${definition.name} holds ${definition.type === 'datetime' ? 'dates' : 'numbers'} (use a range)`);
    return { kind: 'range', field: definition.name, min: null, max: null, minInclusive: true, maxInclusive: true };
  }
  if (definition.type === 'text' || pattern) {
    return { kind: 'term', field: definition.name, value, phrase: node.quoted, pattern, ...fuzziness(node) };
  }
  // A date matches what it covers (2021-06-01: that whole day); a number, itself.
  if (definition.type === 'datetime') {
    const span = dateSpan(definition, value, now);
    return { kind: 'range', field: definition.name, min: span.start, max: span.end, minInclusive: true, maxInclusive: false };
  }
  const bound = typedBound(definition, value);
  return { kind: 'range', field: definition.name, min: bound, max: bound, minInclusive: true, maxInclusive: true };
}

/** Whether `text` is `value`, any case, where `pattern` makes `*` and `?` in `value` wildcards. */
function wildcardMatches(value: string, text: string, pattern: boolean): boolean {
  if (!pattern) return value.toLowerCase() === text;
  const expression = value.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${expression}$`).test(text);
}

/** `term~` (a similarity); a quoted phrase's `~n` is proximity, which Damson ignores. */
function isFuzzy(node: TermNode): boolean {
  return !node.quoted && typeof node.similarity === 'number';
}

/** A term's fuzziness: none, Lucene's automatic edit distance, or the one written (`harbour~1`). */
function fuzziness(node: FuzzyTermNode): { fuzzy: boolean; edits?: number } {
  return isFuzzy(node) && node.edits !== undefined ? { fuzzy: true, edits: node.edits } : { fuzzy: isFuzzy(node) };
}

function rangeNode(node: RangeNode, inheritedField: string | undefined, now: number): Clause {
  const { field: rawField, prefix } = splitPrefix(node.field, null);
  const fieldName = rawField === IMPLICIT ? inheritedField : rawField;
  if (!fieldName) throw badRequest('A range needs a field, as in fileSize:[0 TO 1000]');
  const definition = checkedField(fieldName);
  const minText = node.term_min === '*' ? null : unescapeTerm(node.term_min, true).value;
  const maxText = node.term_max === '*' ? null : unescapeTerm(node.term_max, true).value;
  const minInclusive = node.inclusive === 'both' || node.inclusive === 'left';
  const maxInclusive = node.inclusive === 'both' || node.inclusive === 'right';
  let range: QueryNode;
  if (definition.type === 'datetime') {
    // A bound covers what its date covers, as Elasticsearch (behind the Assets Server) reads it:
    // [2020-01-01 TO 2020-12-31] is all of 2020, {2020-01-01 TO *] starts on 2 January, [* TO NOW/DAY] takes in today.
    const min = minText === null ? null : dateSpan(definition, minText, now);
    const max = maxText === null ? null : dateSpan(definition, maxText, now);
    range = {
      kind: 'range',
      field: definition.name,
      min: min && (minInclusive ? min.start : min.end),
      max: max && (maxInclusive ? max.end : max.start),
      minInclusive: true,
      maxInclusive: false,
    };
  } else {
    const bound = (text: string | null) => (text === null ? null : typedBound(definition, text));
    range = { kind: 'range', field: definition.name, min: bound(minText), max: bound(maxText), minInclusive, maxInclusive };
  }
  return { node: range, prohibited: prefix === '-' };
}

function dateSpan(definition: FieldDefinition, text: string, now: number): DateSpan {
  const span = resolveQueryDate(text, now);
  if (span === undefined) throw badRequest(`"${text.slice(0, 50)}" is not a date for field ${definition.name} (use 2021-06-01, an ISO date, epoch ms or NOW-1YEAR)`);
  return span;
}

function typedBound(definition: FieldDefinition, text: string): number | string {
  if (definition.type === 'text') return text.toLowerCase();
  const value = parseNumber(text);
  if (value === undefined) throw badRequest(`"${text.slice(0, 50)}" is not a number for field ${definition.name}`);
  return value;
}

function checkedField(name: string): FieldDefinition {
  const definition = searchableField(name);
  if (!definition) throw badRequest(`Unknown field "${name.slice(0, 64)}" in the query`);
  return definition;
}

/** Flattens nested AND/OR and removes double negation, so the SQL stays shallow. */
function simplify(node: QueryNode): QueryNode {
  if (node.kind === 'and' || node.kind === 'or') {
    const children = node.children.map(simplify).flatMap((child) => (child.kind === node.kind ? (child as { children: QueryNode[] }).children : [child]));
    const meaningful = node.kind === 'and' ? children.filter((child) => child.kind !== 'all') : children;
    if (node.kind === 'or' && meaningful.some((child) => child.kind === 'all')) return { kind: 'all' };
    if (meaningful.length === 0) return { kind: 'all' };
    return meaningful.length === 1 ? meaningful[0]! : { kind: node.kind, children: meaningful };
  }
  if (node.kind === 'not') {
    const child = simplify(node.child);
    return child.kind === 'not' ? child.child : { kind: 'not', child };
  }
  return node;
}
