import type { Asset } from '../assets/asset-store.js';
import { type FieldDefinition, fieldDefinition, METADATA_COMPLETE, STANDARD_FIELDS } from '../assets/fields.js';
import { folderChain } from '../assets/paths.js';
import { assetFields } from '../assets/asset-fields.js';

export interface IndexValue {
  field: string;
  key: string | null;
  text: string | null;
  num: number | null;
  isToken: boolean;
}

/** Text fields searched word by word (`description:harbour`); other text fields match whole values. */
const TOKENIZED_FIELDS = new Set(['description', 'title', 'copyright', 'usageRights', 'creatorName', 'filename', 'name', 'baseName']);

/** Whether a field's index rows include one per word (is_token = 1) besides its whole values: the tokenized and custom fields. */
export function isTokenized(field: string): boolean {
  return TOKENIZED_FIELDS.has(field) || fieldDefinition(field)?.group === 'custom';
}
/** Whether a text field's values are in the full text that bare words search: editorial and tokenized fields, and tags. */
function isFullText(definition: FieldDefinition): boolean {
  return isTokenized(definition.name) || definition.name === 'tags' || definition.group === 'editorial';
}

/** The standard fields whose text is in the full text (custom fields are too). */
export const FULL_TEXT_FIELDS: readonly string[] = STANDARD_FIELDS.filter((definition) => definition.type === 'text' && isFullText(definition)).map(
  (definition) => definition.name,
);

const MAX_INDEXED_TEXT = 4096;
/**
 * Fields the index leaves out: those that change outside an asset write (rendition progress; not searchable, so
 * never stale), and metadataComplete, which is the same for every asset and which the query answers by itself.
 */
const UNINDEXED_FIELDS = new Set(['previewState', 'thumbnailState', 'previewETag', METADATA_COMPLETE]);

/** A word: a letter or digit, then letters, digits and combining marks (Indic vowel signs, accents written apart). */
export const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;
const ASCII_WORD = /[a-z0-9]+/g;
const ASCII = /^[\x00-\x7f]*$/;
/**
 * Letters whose marks are letters of the word, kept: the Brahmic scripts of South and South-East Asia, where a
 * vowel sign tells किताब (book) from कतब. Every other mark is dropped, as accents are (`café` is `cafe`), and so
 * are Arabic and Hebrew vowel points, Japanese voicing marks, variation selectors and keycaps, as they always
 * were: only text in these scripts is indexed differently than before migration 0008.
 */
const LETTER_MARKS_SCRIPT =
  /[\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}\p{Script=Thai}\p{Script=Lao}\p{Script=Tibetan}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Balinese}\p{Script=Javanese}\p{Script=Sundanese}]/u;
/** A character and the marks after it, taken in one pass (a lookbehind per mark took 1.9 s for 10,000 marks). */
const MARKED = /(\P{M})(\p{M}+)/gu;

/** Lower-cased, folded words of a text: the unit of full-text and tokenized-field matching, on both stores. */
export function words(text: string): string[] {
  if (ASCII.test(text)) return text.toLowerCase().match(ASCII_WORD) ?? [];
  const folded = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(MARKED, (marked, base: string) => (LETTER_MARKS_SCRIPT.test(base) ? marked : base));
  return folded.match(WORD) ?? [];
}

/** Every row the search index holds for an asset, and its full text. */
export function indexEntries(asset: Asset): { values: IndexValue[]; text: string } {
  const values: IndexValue[] = [];
  const text: string[] = [];
  for (const [field, value] of Object.entries(assetFields(asset))) {
    const definition = fieldDefinition(field);
    if (!definition || UNINDEXED_FIELDS.has(field)) continue;
    if (definition.type !== 'text') {
      // Exactly one row per asset for a number or date field: counting a range relies on it.
      values.push({ field, key: null, text: String(value), num: Number(value), isToken: false });
      continue;
    }
    const tokenized = isTokenized(field);
    // The definition in hand, not looked up again: this runs for every field of every asset written.
    const fullText = isFullText(definition);
    for (const item of Array.isArray(value) ? value : [String(value)]) {
      const bounded = item.slice(0, MAX_INDEXED_TEXT);
      values.push({ field, key: bounded.toLowerCase(), text: bounded, num: null, isToken: false });
      if (tokenized) {
        for (const word of new Set(words(bounded))) values.push({ field, key: word, text: null, num: null, isToken: true });
      }
      if (fullText) text.push(bounded);
    }
  }
  // ancestorPaths: every folder above the asset, so `ancestorPaths:"/A"` finds everything below /A.
  for (const path of ['/', ...folderChain(asset.folderPath)]) {
    values.push({ field: 'ancestorPaths', key: path.toLowerCase(), text: path, num: null, isToken: false });
  }
  return { values, text: text.join('\n') };
}
