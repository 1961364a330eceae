import { words } from './index-entries.js';
import { NOTHING, type QueryNode } from './query.js';

/** Indexed words (of one field, or any) that start with `prefix` and are `lengths.min`–`lengths.max` characters long. */
export type FuzzyCandidates = (prefix: string, field: string | null, limit: number, lengths: { min: number; max: number }) => Promise<string[]>;

const MAX_CANDIDATES = 5000;
const MAX_EXPANSIONS = 64;

/** Lucene's "auto" fuzziness: exact for 1-2 characters, one edit up to 5, two beyond. */
export function allowedEdits(length: number): number {
  return length <= 2 ? 0 : length <= 5 ? 1 : 2;
}

/**
 * Edit distance with transpositions, as Elasticsearch's fuzzy queries count by default (`baots` is one edit from
 * `boats`): insertions, deletions, substitutions and swaps of two neighbouring letters (the optimal string
 * alignment distance). Stops early once it exceeds `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j++) {
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, beforePrevious[j - 2]! + 1);
      current.push(value);
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Replaces each fuzzy term (`harbor~`) with the indexed words within Lucene's edit distance of it. Candidates share
 * the term's first character, which keeps the look-up on the index; a term with no close word matches nothing.
 */
export async function expandFuzzyTerms(
  node: QueryNode,
  candidates: FuzzyCandidates,
): Promise<QueryNode> {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, children: await Promise.all(node.children.map((child) => expandFuzzyTerms(child, candidates))) };
    case 'not':
      return { kind: 'not', child: await expandFuzzyTerms(node.child, candidates) };
    case 'term': {
      if (!node.fuzzy) return node;
      // Folded as indexed words are (`café~` looks for words near `cafe`).
      const target = words(node.value)[0] ?? node.value.toLowerCase();
      const limit = node.edits ?? allowedEdits(target.length);
      // Only words whose length is within reach: among all words with the first letter, the 5,000 read could
      // leave out the close ones in a large library.
      const lengths = { min: Math.max(1, target.length - limit), max: target.length + limit };
      const close = (await candidates(target.slice(0, 1), node.field, MAX_CANDIDATES, lengths))
        .filter((word) => editDistance(word, target, limit) <= limit)
        .slice(0, MAX_EXPANSIONS);
      if (close.length === 0) return NOTHING;
      return { kind: 'or', children: close.map((word) => ({ kind: 'term', field: node.field, value: word, fuzzy: false, phrase: false, pattern: false })) };
    }
    default:
      return node;
  }
}
