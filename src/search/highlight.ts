import type { Asset } from '../assets/asset-store.js';
import { WORD, words } from './index-entries.js';
import type { QueryNode } from './query.js';

const SNIPPET_LENGTH = 160;
const HIGHLIGHT_FIELDS = ['description', 'title', 'tags', 'copyright', 'creatorName', 'filename'];
const ASCII = /^[\x00-\x7f]*$/;

/** The words a query looks for (outside NOT), which a highlight marks. */
export function highlightWords(node: QueryNode): string[] {
  switch (node.kind) {
    case 'and':
    case 'or':
      return [...new Set(node.children.flatMap(highlightWords))];
    case 'term':
      return node.pattern || node.fuzzy ? [] : words(node.value);
    default:
      return [];
  }
}

/** The word a run of letters and digits stands for; ASCII needs no decomposing (most words, and the cheap case). */
const foldWord = (token: string) => (ASCII.test(token) ? token.toLowerCase() : (words(token)[0] ?? ''));

/**
 * Whether a text may hold one of the words, without splitting it into words: an ASCII text folds to its lower
 * case, so one that does not contain a word as a substring cannot hold it. Most fields of most hits fail this.
 */
const mayHold = (text: string, queryWords: readonly string[]) => {
  if (!ASCII.test(text)) return true;
  const lower = text.toLowerCase();
  return queryWords.some((word) => lower.includes(word));
};

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A snippet of the first text field that contains a query word, HTML-escaped, with the words in `<em>`.
 * Undefined when no field contains one.
 */
export function highlightedText(asset: Asset, queryWords: readonly string[]): string | undefined {
  if (queryWords.length === 0) return undefined;
  const wanted = new Set(queryWords);
  for (const field of HIGHLIGHT_FIELDS) {
    const raw = field === 'filename' ? asset.filename : asset.metadata[field];
    if (raw === undefined) continue;
    const text = Array.isArray(raw) ? raw.join(', ') : String(raw);
    if (!mayHold(text, queryWords)) continue;
    const matches = [...text.matchAll(WORD)].filter((match) => wanted.has(foldWord(match[0])));
    if (matches.length === 0) continue;
    const first = matches[0]!.index;
    let start = Math.max(0, first - SNIPPET_LENGTH / 4);
    let end = Math.min(text.length, start + SNIPPET_LENGTH);
    // Never half a character beyond the Basic Multilingual Plane (an emoji): a lone surrogate is not text.
    if (isLowSurrogate(text.charCodeAt(start))) start++;
    if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end--;
    let snippet = '';
    let cursor = start;
    for (const match of matches) {
      if (match.index < start || match.index + match[0].length > end) continue;
      snippet += `${escapeHtml(text.slice(cursor, match.index))}<em>${escapeHtml(match[0])}</em>`;
      cursor = match.index + match[0].length;
    }
    snippet += escapeHtml(text.slice(cursor, end));
    return `${start > 0 ? '…' : ''}${snippet}${end < text.length ? '…' : ''}`;
  }
  return undefined;
}
