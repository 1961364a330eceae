import assert from 'node:assert/strict';
import { it } from 'node:test';
import { expandFuzzyTerms, type FuzzyCandidates } from '../../src/search/fuzzy.js';
import type { QueryNode } from '../../src/search/query.js';

/** What SearchStore.valuesStartingWith answers, over a list of indexed words: in index order, at most `limit`. */
const storeOf = (indexed: string[]): FuzzyCandidates => async (prefix, _field, limit, lengths) =>
  [...indexed].sort().filter((word) => word.startsWith(prefix) && word.length >= lengths.min && word.length <= lengths.max).slice(0, limit);

const fuzzy = (value: string): QueryNode => ({ kind: 'term', field: null, value, phrase: false, pattern: false, fuzzy: true });

it('finds the close word among more words with the same first letter than it reads', async () => {
  // 6,000 longer words that sort before "world": read 5,000 at a time by first letter alone, "world" was never seen.
  const indexed = [...Array.from({ length: 6000 }, (_, i) => `wa${String(i).padStart(6, '0')}`), 'world'];
  const expanded = await expandFuzzyTerms(fuzzy('worle'), storeOf(indexed));
  assert.deepEqual(expanded, { kind: 'or', children: [{ kind: 'term', field: null, value: 'world', phrase: false, pattern: false, fuzzy: false }] });
});

it('folds the term as indexed words are folded', async () => {
  // Unfolded, `crème` is two edits from `cremes` (è→e, +s), beyond the one edit five letters allow.
  const expanded = await expandFuzzyTerms(fuzzy('Crème'), storeOf(['creme', 'cremes', 'crime', 'cream']));
  assert.deepEqual((expanded as { children: Array<{ value: string }> }).children.map((child) => child.value).sort(), ['creme', 'cremes', 'crime']);
});

it('counts two neighbouring letters swapped as one edit, as Elasticsearch does', async () => {
  const expanded = await expandFuzzyTerms(fuzzy('baots'), storeOf(['boats', 'bats', 'beats', 'blots', 'bonus']));
  // boats by the swap (two edits without it: beyond the one five letters allow); bats and blots by one edit each.
  assert.deepEqual((expanded as { children: Array<{ value: string }> }).children.map((child) => child.value).sort(), ['bats', 'blots', 'boats']);
  assert.deepEqual(await expandFuzzyTerms(fuzzy('baost'), storeOf(['boats'])), { kind: 'not', child: { kind: 'all' } }, 'two swaps are two edits');
});
