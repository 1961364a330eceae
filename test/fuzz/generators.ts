import fc from 'fast-check';
import { STANDARD_FIELDS } from '../../src/assets/fields.js';
import type { AuthChoice, BodySpec, MultipartDefect, MultipartPart, Pair, PairStyle, RequestSpec } from './model.js';
import { ref } from './model.js';

/**
 * Generators of hostile requests: values that break parsers (encodings, NUL, surrogates, 100 KB strings), numbers
 * that are not numbers, query-language and JSON fragments, path traversal, near misses of real ids and signed
 * URLs, in every place a parameter can travel, with wrong or missing content types, odd methods and headers.
 */

// ---- strings -------------------------------------------------------------------------------------------------------

const EDGE_STRINGS = [
  '', ' ', '  ', '\t', '\n', '\r\n', 'null', 'undefined', 'true', 'false', 'NaN', '[object Object]',
  '\u0000', 'a\u0000b', '%00', '%', '%%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', '%u0041', '+', '&', '=', '&=&', '#', '?', ';', ',', ',,,', ' , ',
  '../', '..\\', '../../../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e/%2e%2e/', '%2e%2e%2f', '%252e%252e%252f', '....//', '/', '//', '///', '/./', '\\\\server\\share',
  'C:\\Windows\\win.ini', 'file:///etc/passwd', 'http://evil.example/', '//evil.example', 'javascript:alert(1)', '<script>alert(1)</script>',
  "'", '"', '`', "' OR '1'='1", "'; DROP TABLE assets; --", '" OR ""="', '1; SELECT pg_sleep(10)', '%\' OR 1=1 --', '\\', '\\"', '$1', '?1', ':name', '_', '%_%',
  '*', '*:*', '?', '~', '~2', '^2', ':', '::', 'a:', ':a', '(', ')', '((((', '))))', '[', ']', '{', '}', '[a TO b]', '{* TO *}', '[* TO', 'AND', 'OR', 'NOT', 'AND OR NOT', '&&', '||', '!', '+-', '-', '"unterminated', 'tags:"', '/regex/', '\\*',
  '{}', '[]', '{"a":', '{"a":1}', '[1,2', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"tags":"+x"}', '{"tags":["-"]}', 'nul', '0', '-0', '00', '-1', '1.5', '1e309', '-1e309', '1e-400',
  '9007199254740993', '99999999999999999999999999', '0x1F', '0b11', '1_000', '\u0661\u0662', 'Infinity', '-Infinity', '+5', ' 7 ', '07', '2147483648', '-2147483649', '18446744073709551616',
  '\ud800', '\udfff', 'a\ud83db', '\ufeff', '\ufffe', '\uffff', '\u202e', '\u200b', '\u00a0', 'e\u0301', 'İ', 'ß', 'ﬃ', 'Σ', 'ǅ', '／', '．．／', '🎉', '👩‍👩‍👧', '𝔘𝔫𝔦', 'Ünïcödé földer',
  'CON', 'nul.txt', 'a'.repeat(255), 'é'.repeat(128), 'x'.repeat(4097), 'name.', '.hidden', ' lead', 'trail ', 'a/b', 'a\\b', 'a*b', 'a|b', 'a<b>', 'a;b', 'a#b',
  'NOW', 'NOW-1YEAR/DAY', 'NOW+99999999999YEARS', 'NOW/FOO', '2021-06-01', '2021-02-30', '0000-00-00', '9999-12-31T23:59:59Z', '-271821-04-19', '275760-09-13', '1970-01-01T00:00:00+25:00',
  'maxWidth_100_maxHeight_100.jpg', 'maxWidth_0_maxHeight_0.jpg', 'maxWidth_99999_maxHeight_1.png', 'maxWidth_4096_maxHeight_4096_quality_100.webp', 'maxWidth_10_maxHeight_10_quality_0.jpg',
  'AUTO_RENAME', 'MERGE', 'THROW_EXCEPTION', 'OVERWRITE', 'OVERWRITE_IF_NEWER', 'REMOVE_SOURCE', 'DO_NOTHING', 'auto_rename', 'collection', 'all', 'bytes=0-1',
];

const edgeString = fc.constantFrom(...EDGE_STRINGS);

/** A string of `bytes` or so, repeating a unit (generated strings that long would make generation the bottleneck). */
const longString = fc
  .tuple(fc.constantFrom('a', 'é', '🎉', '../', '%', '\u0000', '(', '"', 'AND ', '*', '%2e', ',', 'x '), fc.integer({ min: 1000, max: 100_000 }))
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));

const numberString = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: -5, max: 20 }).map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom('1e309', '-1e309', 'NaN', 'Infinity', '-0', '0x10', '1e3', '1.0', '01', ' 5', '5 ', '١٢', '9007199254740992', '9007199254740993', '-9007199254740993'),
);

const boolString = fc.constantFrom('true', 'false', 'TRUE', 'True', 'yes', 'no', 'on', 'off', '1', '0', '', 'maybe', 'tru\u0000e', ' true ', 'null');

/** A live value (asset id, path, …), as it is or damaged. */
const refString = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('id', 'path', 'folder', 'name', 'etag', 'process', 'url') as fc.Arbitrary<Parameters<typeof ref>[0]>, fc.nat(40)).map(([kind, index]) => ref(kind, index)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('id', 'path', 'folder', 'name', 'url') as fc.Arbitrary<Parameters<typeof ref>[0]>, fc.nat(40), fc.integer({ min: 1, max: 200 }))
      .map(([kind, index, mutation]) => ref(kind, index, mutation)),
  },
);

const piece = fc.oneof(edgeString, refString, fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }));
const compositeString = fc.array(piece, { minLength: 2, maxLength: 5 }).map((pieces) => pieces.join(''));

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: edgeString },
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 3, arbitrary: numberString },
  { weight: 1, arbitrary: longString },
  { weight: 3, arbitrary: compositeString },
  { weight: 4, arbitrary: refString },
);

// ---- domain-shaped values ------------------------------------------------------------------------------------------

const FIELD_NAMES = STANDARD_FIELDS.map((field) => field.name);
const fieldName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FIELD_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom('cf_region', 'cf_', 'cf_x'.padEnd(70, 'x'), 'cf_a-b', 'CF_REGION', 'cf_émoji', 'unknownField', 'id', '_all', '__proto__', 'constructor', 'prototype', 'hasOwnProperty') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

/** Lucene-ish queries: real syntax, broken syntax, deep nesting and very long inputs. */
const queryToken = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('harbour', 'sea', 'boats', 'red', 'dawn', 'Ice Cream', 'C++', 'ünïcödé', 'report', 'photo', 'x') },
  { weight: 3, arbitrary: fc.constantFrom('*', '*:*', 'AND', 'OR', 'NOT', '&&', '||', '!', '+', '-', '(', ')', '"', '~', '~2', '^3', ':', '\\', '?', 'TO', '[', ']', '{', '}', '/', '*a*', 'a?c', 'fuzzy~', '"a phrase"~4', '" "') },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fieldName, fc.oneof(edgeString, refString, numberString, fc.constantFrom('harbour', '*', '"Ice Cream"', '(a OR b)', '[1 TO 5]', '{* TO 2021-01-01}', '[NOW-1YEAR TO NOW]', '[a TO]', '[5 TO 1]', '"/Fuzz"', 'NOW/DAY+1MONTH')))
      .map(([field, value]) => `${field}:${value}`),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('id', 'ancestorPaths', 'folderPath', 'assetPath'), refString).map(([field, value]) => `${field}:"${value}"`) },
  { weight: 1, arbitrary: hostileString },
);

const queryString = fc.oneof(
  { weight: 6, arbitrary: fc.array(queryToken, { minLength: 1, maxLength: 8 }).chain((tokens) => fc.constantFrom(' ', '', '  ').map((sep) => tokens.join(sep))) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom('(', '((', '(NOT ', '+(', '-(')).map(([depth, open]) => `${open.repeat(depth)}a${')'.repeat(depth)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((depth) => `${'('.repeat(depth)}a`) },
  { weight: 1, arbitrary: fc.integer({ min: 9990, max: 20_000 }).map((length) => 'a OR '.repeat(Math.ceil(length / 5)).slice(0, length)) },
  { weight: 2, arbitrary: hostileString },
);

const pathSegment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('Fuzz', 'Docs', 'Photos', 'Deep', 'Deeper', 'Files', 'Empty', 'New', 'Ünïcödé földer', 'a b', 'x') },
  { weight: 2, arbitrary: fc.constantFrom('..', '.', '', '%2e%2e', '\\', 'a:b', 'a*b', 'a?b', 'a"b', '<x>', 'a|b', 'a#b', 'a;b', '\u0000', '\u0007', '\u202e', ' x', 'x ', 'é'.repeat(200), 'y'.repeat(300)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

/** Folder and asset paths: real ones, real ones extended, and every shape of wrong. */
const pathString = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.boolean(), fc.array(pathSegment, { maxLength: 6 }), fc.constantFrom('/', '//', '\\')).map(([rooted, segments, sep]) => `${rooted ? '/' : ''}${segments.join(sep)}`) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('folder', 'path') as fc.Arbitrary<'folder' | 'path'>, fc.nat(40)).map(([kind, index]) => ref(kind, index)) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(40), pathSegment, fc.constantFrom('/', '', '//')).map(([index, segment, sep]) => `${ref('folder', index)}${sep}${segment}`) },
  { weight: 1, arbitrary: fc.constantFrom('/', '', '//', '/..', '/../..', '/Fuzz/..', '/Fuzz/../Fuzz', '/Fuzz/Docs/report.txt', '/Fuzz/Docs/', 'Fuzz', '/FUZZ/docs', '/fuzz/./docs') },
  { weight: 2, arbitrary: hostileString },
);

/** A JSON value for metadata fields: the right types, the wrong types, modifications and nesting. */
const metadataValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom('+new', '-sea', '+', '-', '', '2021-06-01', 'NOW', 5, -1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, true, false, null, [], {}, [''], ['+a', '-b'], [1, 2], [null], [[['deep']]], { value: 1 }),
  fc.array(hostileString, { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);

const metadataJson = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fieldName, metadataValue, { maxKeys: 4 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom('{', '[]', '"text"', '5', 'null', '{"tags":', '{"description":"\\ud800"}', '{"__proto__":{"x":1}}', '{"tags":"a","tags":"b"}', ' {} ', '\ufeff{}') },
  { weight: 1, arbitrary: hostileString },
);

const previewSpec = fc.oneof(
  fc
    .tuple(fc.oneof(numberString, fc.integer({ min: 1, max: 5000 }).map(String)), fc.oneof(numberString, fc.integer({ min: 1, max: 5000 }).map(String)), fc.option(fc.oneof(numberString, fc.integer({ min: 0, max: 120 }).map(String))), fc.constantFrom('jpg', 'jpeg', 'png', 'webp', 'gif', 'JPG', '', 'mp4', 'jpg/'))
    .map(([width, height, quality, extension]) => `maxWidth_${width}_maxHeight_${height}${quality === null ? '' : `_quality_${quality}`}.${extension}`),
  hostileString,
);

// ---- plausible values: what a real client would send, so that requests get past validation -------------------------

const word = fc.constantFrom('harbour', 'sea', 'boats', 'red', 'dawn', 'Ice Cream', 'C++', 'ünïcödé', 'report', 'photo', 'north', 'Draft', 'émoji ✓');
const plainName = fc
  .tuple(fc.constantFrom('photo', 'report', 'ünï', 'a b', 'x', 'New file', 'Board', '🎉'), fc.nat(999), fc.constantFrom('.jpg', '.txt', '.pdf', '.collection', '.png', '', '.html', '.mp4', '.JPG'))
  .map(([base, n, extension]) => `${base}-${n}${extension}`);
const plainFolder = fc.oneof(
  fc.nat(40).map((index) => ref('folder', index)),
  fc.tuple(fc.nat(40), fc.constantFrom('New', 'Sub folder', 'ü', 'x')).map(([index, name]) => `${ref('folder', index)}/${name}`),
  fc.constantFrom('/Fuzz/New', '/Fuzz', '/', '/Other/Place'),
);
const plainDate = fc.oneof(
  fc.constantFrom('2021-06-01', '2021-06-01T10:00:00Z', '2030-12-31T23:59:59.999Z', '1999-01-01'),
  fc.integer({ min: 0, max: 4_102_444_800_000 }).map(String),
);
const plainFieldValue: Record<string, fc.Arbitrary<unknown>> = {
  description: fc.oneof(word, fc.string({ maxLength: 40 })),
  title: word,
  status: fc.constantFrom('Draft', 'Production', 'Final'),
  copyright: word,
  creatorName: word,
  usageRights: word,
  rating: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.integer({ min: -1, max: 5 }).map(String)),
  tags: fc.oneof(fc.array(word, { maxLength: 3 }), fc.array(fc.tuple(fc.constantFrom('+', '-', ''), word).map(([sign, tag]) => sign + tag), { maxLength: 3 }), word),
  created: plainDate,
  licenseStartDate: plainDate,
  licenseEndDate: plainDate,
  cf_region: fc.oneof(word, fc.array(word, { maxLength: 2 })),
  cf_notes: fc.string({ maxLength: 20 }),
};
const plainMetadata = fc
  .subarray(Object.keys(plainFieldValue), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((name) => plainFieldValue[name]!)).map((values) => Object.fromEntries(names.map((name, index) => [name, values[index]]))));
const plainMetadataJson = plainMetadata.map((value) => JSON.stringify(value));
const asParam = (value: unknown) => (Array.isArray(value) ? value.join(',') : String(value));
const plainFieldParams = Object.fromEntries(Object.entries(plainFieldValue).map(([name, value]) => [name, value.map(asParam)])) as Record<string, fc.Arbitrary<string>>;
const plainQuery = fc
  .array(
    fc.oneof(
      word.map((text) => (text.includes(' ') ? `"${text}"` : text)),
      fc.constantFrom('*:*', 'sea OR boats', 'NOT red', 'tags:sea', 'rating:[1 TO 5]', 'created:[2020-01-01 TO NOW]', 'assetDomain:image', 'extension:txt', 'repo*', 'harbor~', 'cf_region:north', 'status:Draft', 'assetCreated:[NOW-1YEAR TO *]'),
      fc.nat(40).map((index) => `id:${ref('id', index)}`),
      fc.nat(40).map((index) => `ancestorPaths:"${ref('folder', index)}"`),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((terms) => terms.join(' '));

// ---- routes --------------------------------------------------------------------------------------------------------

interface Target {
  name: string;
  weight: number;
  path: fc.Arbitrary<string>;
  methods: readonly string[];
  /** Every parameter the route reads, with hostile values (some plausible). */
  params: Record<string, fc.Arbitrary<string>>;
  /** Plausible values for the parameters a real client sends; `required` ones are always sent in plausible requests. */
  plain?: Record<string, fc.Arbitrary<string>>;
  required?: string[];
  /** A structured JSON body the route understands (the search `AssetSearch` form). */
  json?: fc.Arbitrary<unknown>;
  /** The route reads a file part. */
  file?: boolean;
}

const any = hostileString;
const mixed = (specific: fc.Arbitrary<string>) => fc.oneof({ weight: 3, arbitrary: specific }, { weight: 1, arbitrary: any });

/** `/services/x` and its mangled spellings. */
const servicePath = (service: string) =>
  fc.oneof(
    { weight: 14, arbitrary: fc.constant(`/services/${service}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `/services/${service}/`,
        `/services/${service};jsessionid=ABC123`,
        `/services/${service};JSESSIONID=%00`,
        `/services/${service};jsessionid=a/b`,
        `/Services/${service.toUpperCase()}`,
        `//services//${service}`,
        `/services/${service}%00`,
        `/services/${service}%2F`,
        `/services/${service}/..`,
        `/services/%2e%2e/services/${service}`,
        `/services/${service}.json`,
        `/services/${service}/extra/segments`,
        `/services/${service}%20`,
        `/services/${service}\u0000`,
      ),
    },
  );

const idSegment = fc.oneof(
  { weight: 4, arbitrary: fc.nat(40).map((index) => ref('id', index)) },
  { weight: 3, arbitrary: fc.nat(10).map((index) => ref('image', index)) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 200 })).map(([index, mutation]) => ref('id', index, mutation)) },
  { weight: 2, arbitrary: hostileString.map((text) => encodeSegment(text)) },
);

/** Most segments percent-encoded as a client would; some raw (the URL parser then does what it does). */
function encodeSegment(text: string): string {
  return text.length % 3 === 0 ? text : encodeURIComponentSafe(text);
}

function encodeURIComponentSafe(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}

const downloadName = fc.oneof(fc.constantFrom('photo.jpg', 'x', '', '..', '../../etc/passwd', '%2e%2e%2f%2e%2e%2fetc', 'a%00b.jpg', 'ünï.txt', '*'), hostileString.map(encodeSegment));

const fileSuffix = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: downloadName.map((name) => `/*/${name}`) },
  { weight: 1, arbitrary: downloadName.map((name) => `////${name}`) },
  { weight: 1, arbitrary: fc.constantFrom('/', '/*', '/*/', '//', '/*/a/b/c', '/%2e%2e/%2e%2e', '/../../', '/*/..%2f..%2f') },
);

const fileParams = { version: mixed(numberString), forceDownload: boolString, _: mixed(fc.nat(40).map((index) => ref('etag', index))), requestSecret: any };
const plainFileParams = { version: fc.constantFrom('1', '2'), forceDownload: boolString, _: fc.nat(40).map((index) => ref('etag', index)) };

const searchJson: fc.Arbitrary<unknown> = fc.record(
  {
    query: fc.oneof(
      fc.record({ QueryStringQuery: fc.record({ queryString: fc.oneof(plainQuery, queryString, fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    firstResult: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double(), fc.constantFrom(1e21, -0, Number.MAX_SAFE_INTEGER, '5', null, [], {})),
    maxResultHits: fc.oneof(fc.integer({ min: -5, max: 20000 }), fc.double(), fc.constantFrom('5', null, 10_001, 0)),
    sorting: fc.oneof(
      fc.array(fc.oneof(fc.record({ field: fc.oneof(fieldName, fc.jsonValue({ maxDepth: 1 })), descending: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    metadataToReturn: fc.oneof(fc.array(fc.oneof(fieldName, fc.jsonValue({ maxDepth: 1 })), { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    facets: fc.oneof(
      fc.dictionary(fieldName, fc.oneof(fc.record({ field: fc.oneof(fieldName, fc.jsonValue({ maxDepth: 1 })), selection: fc.oneof(fc.record({ values: fc.jsonValue({ maxDepth: 2 }) }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })), { maxKeys: 3 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);

const metadataParams = Object.fromEntries(FIELD_NAMES.filter((_name, index) => index % 3 === 0).map((name) => [name, any])) as Record<string, fc.Arbitrary<string>>;
const policies = (values: string[]) => mixed(fc.constantFrom(...values));
const idRef = fc.nat(40).map((index) => ref('id', index));
const pathRef = fc.nat(40).map((index) => ref('path', index));

const TARGETS: Target[] = [
  {
    name: 'search',
    weight: 12,
    path: servicePath('search'),
    methods: ['GET', 'POST'],
    params: {
      q: mixed(queryString),
      start: mixed(numberString),
      num: mixed(numberString),
      sort: mixed(fc.tuple(fieldName, fc.constantFrom('', '-asc', '-desc', '-ASC', '-', '-sideways', ',assetCreated')).map(([field, suffix]) => field + suffix)),
      metadataToReturn: mixed(fc.array(fieldName, { maxLength: 4 }).map((fields) => fields.join(','))),
      facets: mixed(fc.array(fieldName, { maxLength: 4 }).map((fields) => fields.join(','))),
      'facet.tags.selection': any,
      'facet.status.selection': any,
      returnHighlightedText: boolString,
      appendRequestSecret: boolString,
    },
    plain: {
      q: plainQuery,
      start: fc.nat(5).map(String),
      num: fc.nat(30).map(String),
      sort: fc.constantFrom('name', 'assetCreated-desc', 'rating-asc', 'tags', 'fileSize,name-desc', 'relevance', 'cf_region'),
      metadataToReturn: fc.constantFrom('all', '', 'name,tags', 'description,cf_region,fileSize'),
      facets: fc.constantFrom('tags', 'status,assetDomain', 'cf_region', 'rating,extension'),
      'facet.tags.selection': word,
      returnHighlightedText: boolString,
      appendRequestSecret: boolString,
    },
    required: ['q'],
    json: searchJson,
  },
  {
    name: 'browse',
    weight: 5,
    path: servicePath('browse'),
    methods: ['GET', 'POST'],
    params: { path: mixed(pathString), fromRoot: mixed(pathString), includeFolders: boolString, includeAssets: boolString, includeAsset: boolString, includeExtensions: mixed(fc.constantFrom('all', 'jpg,txt', '.collection', ',', 'ALL ', '*')) },
    plain: { path: plainFolder, fromRoot: fc.constantFrom('/', '/Fuzz'), includeFolders: boolString, includeAssets: boolString, includeExtensions: fc.constantFrom('all', 'jpg,txt', '.collection') },
    required: ['path'],
  },
  {
    name: 'create',
    weight: 8,
    path: servicePath('create'),
    methods: ['POST'],
    params: {
      folderPath: mixed(pathString),
      name: any,
      filename: any,
      assetPath: mixed(pathString),
      assetType: mixed(fc.constantFrom('collection', 'jpg', 'dossier', 'COLLECTION')),
      metadata: metadataJson,
      autoRename: boolString,
      parseMetadataModifications: boolString,
      metadataToReturn: any,
      appendRequestSecret: boolString,
      ...metadataParams,
    },
    plain: {
      folderPath: plainFolder,
      name: plainName,
      metadata: plainMetadataJson,
      autoRename: boolString,
      metadataToReturn: fc.constantFrom('all', '', 'name,tags'),
      appendRequestSecret: boolString,
      ...plainFieldParams,
    },
    required: ['folderPath', 'name'],
    file: true,
  },
  {
    name: 'update',
    weight: 7,
    path: servicePath('update'),
    methods: ['POST'],
    params: {
      id: mixed(idRef),
      metadata: metadataJson,
      parseMetadataModifications: boolString,
      createVersion: boolString,
      keepMetadata: boolString,
      clearCheckoutState: boolString,
      folderPath: mixed(pathString),
      name: any,
      ...metadataParams,
    },
    plain: { id: idRef, metadata: plainMetadataJson, parseMetadataModifications: boolString, createVersion: boolString, keepMetadata: boolString, ...plainFieldParams },
    required: ['id'],
    file: true,
  },
  {
    name: 'updatebulk',
    weight: 5,
    path: servicePath('updatebulk'),
    methods: ['POST'],
    params: { q: mixed(queryString), metadata: metadataJson, async: boolString, parseMetadataModifications: boolString, ...metadataParams },
    plain: { q: plainQuery, metadata: plainMetadataJson, async: boolString, ...plainFieldParams },
    required: ['q'],
  },
  ...(['move', 'copy'] as const).map((service) => ({
    name: service,
    weight: 4,
    path: servicePath(service),
    methods: ['POST'],
    params: {
      source: mixed(pathString),
      target: mixed(pathString),
      folderReplacePolicy: policies(['AUTO_RENAME', 'MERGE', 'THROW_EXCEPTION', 'merge']),
      fileReplacePolicy: policies(['AUTO_RENAME', 'OVERWRITE', 'OVERWRITE_IF_NEWER', 'REMOVE_SOURCE', 'THROW_EXCEPTION', 'DO_NOTHING']),
      filterQuery: mixed(queryString),
      flattenFolders: boolString,
      async: boolString,
    },
    plain: {
      source: fc.oneof(pathRef, plainFolder),
      target: fc.oneof(plainFolder, fc.tuple(plainFolder, plainName).map(([folder, name]) => `${folder}/${name}`)),
      folderReplacePolicy: fc.constantFrom('AUTO_RENAME', 'MERGE', 'THROW_EXCEPTION'),
      fileReplacePolicy: fc.constantFrom('AUTO_RENAME', 'OVERWRITE', 'OVERWRITE_IF_NEWER', 'REMOVE_SOURCE', 'THROW_EXCEPTION', 'DO_NOTHING'),
      filterQuery: plainQuery,
      flattenFolders: boolString,
      async: boolString,
    },
    required: ['source', 'target'],
  })),
  { name: 'process/info', weight: 2, path: servicePath('process/info'), methods: ['GET', 'POST'], params: { processId: mixed(fc.nat(10).map((index) => ref('process', index))) }, plain: { processId: fc.nat(10).map((index) => ref('process', index)) }, required: ['processId'] },
  { name: 'process/cancel', weight: 2, path: servicePath('process/cancel'), methods: ['POST'], params: { processId: mixed(fc.nat(10).map((index) => ref('process', index))) }, plain: { processId: fc.nat(10).map((index) => ref('process', index)) }, required: ['processId'] },
  { name: 'createFolder', weight: 4, path: servicePath('createFolder'), methods: ['POST'], params: { path: mixed(pathString) }, plain: { path: plainFolder }, required: ['path'] },
  {
    name: 'remove',
    weight: 3,
    path: servicePath('remove'),
    methods: ['POST'],
    params: { q: mixed(queryString), ids: mixed(fc.array(fc.oneof(refString, any), { maxLength: 4 }).map((ids) => ids.join(','))), folderPath: mixed(pathString) },
    // Plausible removals take one asset at a time, or nothing, so the library lasts.
    plain: { ids: fc.oneof(idRef, fc.constantFrom('nope', ',')), q: fc.nat(40).map((index) => `id:${ref('id', index)} AND NOT id:${ref('id', index)}`) },
  },
  {
    name: 'history',
    weight: 4,
    path: servicePath('asset/history'),
    methods: ['GET', 'POST'],
    params: { id: mixed(idRef), start: mixed(numberString), num: mixed(numberString), detailLevel: mixed(numberString), actions: mixed(fc.constantFrom('CREATE', 'CHECKIN', 'create,checkin', ',', 'ALL', 'DOWNLOAD')) },
    plain: { id: idRef, start: fc.nat(3).map(String), num: fc.nat(3).map(String), detailLevel: fc.nat(5).map(String), actions: fc.constantFrom('CREATE', 'CHECKIN', 'create,checkin') },
    required: ['id'],
  },
  { name: 'fieldinfo', weight: 1, path: servicePath('fieldinfo'), methods: ['GET', 'POST'], params: {} },
  { name: 'profile', weight: 1, path: servicePath('profile'), methods: ['GET', 'POST'], params: {} },
  { name: 'ping', weight: 1, path: servicePath('ping'), methods: ['GET', 'POST'], params: { uid: any } },
  // Every login hashes a password (argon2, tens of milliseconds), and so does replacing a session a logout ended.
  ...(['login', 'apilogin'] as const).map((service) => ({
    name: service,
    weight: 0.5,
    path: servicePath(service),
    methods: ['POST'],
    params: {
      username: mixed(fc.constant(ref('user', 0))),
      password: mixed(fc.constant(ref('password', 0))),
      cred: mixed(fc.string({ maxLength: 40 }).map((text) => Buffer.from(text).toString('base64'))),
      clientType: any,
      clientId: any,
      returnProfile: boolString,
      returnPreferences: boolString,
    },
    plain: { username: fc.constant(ref('user', 0)), password: fc.constant(ref('password', 0)), clientType: fc.constantFrom('fuzz', 'web'), returnProfile: boolString, returnPreferences: boolString },
    required: ['username', 'password'],
  })),
  { name: 'services/logout', weight: 0.5, path: servicePath('logout'), methods: ['POST'], params: {} },
  {
    name: 'logout',
    weight: 0.5,
    path: fc.constantFrom('/logout', '/logout/', '/logout;jsessionid=x', '/LOGOUT'),
    methods: ['GET', 'POST'],
    params: { logoutSuccessUrl: mixed(fc.constantFrom('/', '/services/ping', 'http://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)', 'https://user:pw@localhost/', '/%2F%2Fevil', 'http://localhost:80/x', '\u0000/')) },
  },
  { name: 'metrics', weight: 1, path: servicePath('system/metrics'), methods: ['GET'], params: {} },
  { name: 'file', weight: 7, path: fc.tuple(idSegment, fileSuffix).map(([id, suffix]) => `/file/${id}${suffix}`), methods: ['GET'], params: fileParams, plain: plainFileParams },
  {
    name: 'preview',
    weight: 5,
    path: fc
      .tuple(
        idSegment,
        fc.oneof(fc.constant(''), previewSpec.map((spec) => `/previews/${encodeSegment(spec)}`), fc.constantFrom('/previews', '/previews/', '/other/maxWidth_10_maxHeight_10.jpg', '/previews/maxWidth_1600_maxHeight_1600.jpg')),
        fc.oneof(fc.constant(''), fileSuffix),
      )
      .map(([id, spec, suffix]) => `/preview/${id}${spec}${suffix}`),
    methods: ['GET'],
    params: fileParams,
    plain: plainFileParams,
  },
  { name: 'thumbnail', weight: 3, path: fc.tuple(idSegment, fileSuffix).map(([id, suffix]) => `/thumbnail/${id}${suffix}`), methods: ['GET'], params: fileParams, plain: plainFileParams },
  {
    name: 'signed-url',
    weight: 3,
    path: fc.tuple(fc.nat(40), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }))).map(([index, mutation]) => ref('url', index, mutation)),
    methods: ['GET', 'HEAD'],
    params: { requestSecret: any, version: numberString },
  },
  { name: 'health', weight: 1, path: fc.constantFrom('/healthz', '/readyz', '/healthz/', '/readyz?x', '/', '/static/nope.js', '/static/..%2F..%2Fpackage.json', '/static/%00'), methods: ['GET'], params: {} },
  {
    name: 'unknown',
    weight: 3,
    path: fc.oneof(
      hostileString.map((text) => `/services/${encodeSegment(text)}`),
      hostileString.map((text) => `/${encodeSegment(text)}`),
      fc.constantFrom('/api', '/api/v1/assets', '/services', '/services/', '/file', '/file/', '/preview', '/thumbnail/', '/%2e%2e/%2e%2e/etc/passwd', '/static', '/static/', '/%', '/%zz', '/%E0%A4%A', '/services/%C0%AE%C0%AE'),
    ),
    methods: ['GET', 'POST'],
    params: { q: any },
  },
];

// ---- requests ------------------------------------------------------------------------------------------------------

const ODD_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'MKCOL', 'SEARCH', 'PURGE', 'LINK', 'QUERY'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=latin1',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=nope',
  'multipart/mixed; boundary=x',
  'text/plain',
  'text/x-unknown',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/xml',
  '*/*',
  '',
  ';;;',
  'application/json;;charset=',
  'image/jpeg',
];

const weighted = <T>(entries: Array<[T, number]>): fc.Arbitrary<T> => fc.oneof(...entries.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));

const authChoice: fc.Arbitrary<AuthChoice> = weighted<AuthChoice>([
  ['session', 34],
  ['api', 20],
  ['none', 4],
  ['session-no-csrf', 4],
  ['session-bad-csrf', 2],
  ['session-as-bearer', 3],
  ['api-cookie', 3],
  ['plain-session', 4],
  ['plain-api', 4],
  ['bad-bearer-with-session', 2],
  ['garbage-cookie', 2],
]);

/** Header values as Node's HTTP parser would let them through: tab, printable ASCII and latin-1 bytes. */
const headerText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 8 }),
  fc.constantFrom('', ' ', '\t', '"', ',', ';', '=', '\\', '%00', '%FF'),
  fc.tuple(fc.constantFrom('a', ',', '"', 'x=1; '), fc.integer({ min: 1000, max: 20_000 })).map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length))),
);

const credentialHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('authorization'), fc.oneof(fc.constantFrom('Bearer', 'Bearer ', 'bearer  x', 'Basic YTpi', 'Bearer\tx', 'BEARER x', 'Bearernotoken', 'Digest x'), headerText.map((text) => `Bearer ${text}`))),
  fc.tuple(fc.constant('x-csrf-token'), fc.oneof(fc.constantFrom('', 'x', 'null'), headerText)),
  fc.tuple(fc.constant('cookie'), fc.oneof(fc.constantFrom('authToken=', 'authToken="x"', 'authToken=%E0', '=;;=', 'authToken', 'a=b; authToken=junk', '; ;'), headerText)),
);

const otherHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('range'), fc.oneof(fc.constantFrom('bytes=0-10', 'bytes=-5', 'bytes=5-', 'bytes=0-0,2-3', 'bytes=-0', 'bytes=abc', 'bytes=9-1', 'items=0-1', 'bytes=99999999999999999999-', 'bytes=0-99999999999999999999', 'bytes= 1-2', 'bytes=1-2 ', 'bytes=-99999999'), headerText)),
  fc.tuple(fc.constantFrom('if-none-match', 'if-range'), fc.oneof(fc.constantFrom('*', '""', 'W/"x"', '"a", "b"', ','), headerText)),
  fc.tuple(fc.constant('if-modified-since'), fc.oneof(fc.constantFrom('Thu, 01 Jan 1970 00:00:00 GMT', 'garbage'), headerText)),
  fc.tuple(fc.constant('origin'), fc.oneof(fc.constantFrom('http://localhost:80', 'http://evil.example', 'null', '', 'http://localhost'), headerText)),
  fc.tuple(fc.constant('sec-fetch-site'), fc.constantFrom('cross-site', 'same-origin', 'none', 'CROSS-SITE')),
  fc.tuple(fc.constant('host'), fc.oneof(fc.constantFrom('evil.example', 'localhost:99999', '[::1]:80', '', 'a b', 'localhost:80/../x', '@evil', 'xn--80ak6aa92e.com', 'LOCALHOST', 'h\u00e9st'), headerText)),
  fc.tuple(fc.constantFrom('x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'), fc.oneof(fc.constantFrom('https', '1.2.3.4, 5.6.7.8', 'evil.example', 'for=1.2.3.4;proto=https', 'javascript'), headerText)),
  fc.tuple(fc.constantFrom('accept', 'accept-encoding', 'accept-language', 'user-agent', 'x-requested-with', 'expect', 'x-custom'), headerText),
);

/** Headers of every kind; the ones that carry credentials less often, or few requests would get past the login. */
const extraHeader = fc.oneof({ weight: 1, arbitrary: credentialHeader }, { weight: 5, arbitrary: otherHeader });

const remoteAddress = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '192.0.2.1') }, { weight: 1, arbitrary: fc.ipV4() });

const pairStyle: fc.Arbitrary<PairStyle> = weighted<PairStyle>([
  ['strict', 8],
  ['plus', 2],
  ['raw', 2],
  ['broken', 1],
]);

/** Hostile pairs: any of the route's parameters (or others) with hostile values, repeated, without values. */
function hostilePairs(target: Target): fc.Arbitrary<Pair[]> {
  const names = Object.keys(target.params);
  const known = names.length === 0 ? [] : [{ weight: 8, arbitrary: fc.constantFrom(...names).chain((name) => target.params[name]!.map((value): Pair => [name, value])) }];
  const pair = fc.oneof(
    ...known,
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('metadata', 'q', 'id', 'path', '__proto__', 'constructor', 'toString', '', 'a[b]', 'a.b', 'q[]', 'facet..selection', 'facet.__proto__.selection'), any).map((p): Pair => p) },
    { weight: 1, arbitrary: fc.tuple(any, any).map((p): Pair => p) },
    { weight: 1, arbitrary: fc.constantFrom(...(names.length > 0 ? names : ['q'])).map((name): Pair => [name, null]) },
  );
  const required = target.required ?? [];
  // Usually with the required parameters, so that the other values are looked at.
  const requiredPairs = required.length === 0 ? fc.constant<Pair[]>([]) : fc.tuple(...required.map((name) => target.params[name]!.map((value): Pair => [name, value])));
  return fc.tuple(fc.oneof({ weight: 2, arbitrary: requiredPairs }, { weight: 1, arbitrary: fc.constant<Pair[]>([]) }), fc.array(pair, { maxLength: 6 })).map(([first, rest]) => [...first, ...rest]);
}

/** Plausible pairs: the required parameters and some optional ones with values a client would send, and sometimes one hostile pair. */
function plausiblePairs(target: Target): fc.Arbitrary<Pair[]> {
  const plain = target.plain ?? {};
  const required = (target.required ?? []).filter((name) => plain[name]);
  const optional = Object.keys(plain).filter((name) => !required.includes(name));
  return fc
    .tuple(fc.subarray(optional, { maxLength: Math.min(3, optional.length) }), fc.oneof({ weight: 2, arbitrary: fc.constant<Pair[]>([]) }, { weight: 1, arbitrary: hostilePairs(target).map((pairs) => pairs.slice(-1)) }))
    .chain(([chosen, hostile]) => {
      const names = [...required, ...chosen];
      if (names.length === 0) return fc.constant(hostile);
      return fc.tuple(...names.map((name) => plain[name]!)).map((values) => [...names.map((name, index): Pair => [name, values[index]!]), ...hostile]);
    });
}

const multipartDefect: fc.Arbitrary<MultipartDefect> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<MultipartDefect>('none') },
  { weight: 1, arbitrary: fc.constantFrom<MultipartDefect>('no-final-boundary', 'truncated', 'lf-only', 'garbage-prefix', 'no-disposition', 'no-boundary', 'wrong-boundary') },
);

function fileParts(jpeg: Buffer): fc.Arbitrary<MultipartPart[]> {
  const part = fc.record({
    name: fc.oneof({ weight: 8, arbitrary: fc.constant('Filedata') }, { weight: 1, arbitrary: fc.constantFrom('file', 'filedata', 'Filedata ', 'other', '', 'metadata') }),
    filename: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('photo.jpg', 'x.txt', 'page.html', 'clip.mp4', 'doc.pdf', 'Board.collection', 'noext', '', '../../escape.jpg', '..\\..\\escape.jpg', 'a/b.jpg', 'con.txt', 'é.jpg', '.jpg', 'x'.repeat(300) + '.jpg') },
      { weight: 3, arbitrary: plainName },
      { weight: 1, arbitrary: any },
    ),
    contentType: fc.option(fc.constantFrom('image/jpeg', 'text/plain', 'text/html', 'application/octet-stream', 'video/mp4', '', 'garbage'), { nil: undefined }),
    content: fc.oneof(
      { weight: 2, arbitrary: fc.constant(jpeg) },
      { weight: 1, arbitrary: fc.constant(jpeg.subarray(0, 100)) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
      { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
      { weight: 1, arbitrary: fc.constant(Buffer.from('%PDF-1.4 not really')) },
    ),
  });
  return fc.oneof({ weight: 6, arbitrary: part.map((p) => [p]) }, { weight: 1, arbitrary: fc.tuple(part, part) }).map((parts) => parts.map((p): MultipartPart => ({ ...p })));
}

function bodyFor(target: Target, bodyPairs: Pair[], jpeg: Buffer, plausible: boolean): fc.Arbitrary<BodySpec> {
  const fieldParts = bodyPairs.map(([name, value]): MultipartPart => ({ name, content: value ?? '' }));
  const broken = plausible ? 0 : 1;
  const choices: Array<fc.WeightedArbitrary<BodySpec>> = [
    { weight: 8, arbitrary: (plausible ? fc.constant<PairStyle>('strict') : pairStyle).map((style): BodySpec => ({ kind: 'urlencoded', pairs: bodyPairs, style })) },
    {
      weight: target.file ? 10 : 4,
      arbitrary: fc
        .tuple(
          target.file ? fc.option(fileParts(jpeg), { freq: 3 }) : fc.constant(null),
          plausible ? fc.constant<MultipartDefect>('none') : multipartDefect,
          plausible ? fc.constantFrom('----b', 'x', 'a'.repeat(70)) : fc.constantFrom('----b', 'x', 'a'.repeat(70), 'b o u n d', '"quoted"', 'é', '-'),
        )
        .map(([files, defect, boundary]): BodySpec => ({ kind: 'multipart', parts: [...fieldParts, ...(files ?? [])], boundary, defect })),
    },
    {
      weight: 6,
      arbitrary: fc
        .array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString), { minLength: bodyPairs.length, maxLength: bodyPairs.length })
        .map((jsonValues): BodySpec => ({ kind: 'json', value: Object.fromEntries(bodyPairs.map(([name, value], index) => [name, plausible || index % 2 === 0 ? value : jsonValues[index]])) })),
    },
    { weight: broken, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): BodySpec => ({ kind: 'json', value })) },
    {
      weight: 2 * broken,
      arbitrary: fc
        .oneof(
          fc.constantFrom('{"broken', '{', '[', '', ' ', 'null', '""', '1e999', '{"a":1}garbage', '\ufeff{}', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '{"q":"a","q":"b"}', '{"q":"\\ud800"}', '{"q":"\\u0000"}'),
          fc.tuple(fc.integer({ min: 100, max: 200_000 }), fc.constantFrom('[', '{"q":')).map(([depth, open]) => (open === '[' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"q":'.repeat(depth)}1${'}'.repeat(depth)}`)),
          fc.tuple(fc.integer({ min: 100, max: 200_000 }), fc.constantFrom('q', 'metadata')).map(([depth, name]) => `{"${name}":${'['.repeat(depth)}${']'.repeat(depth)}}`),
          fc.string({ maxLength: 50 }),
        )
        .map((text): BodySpec => ({ kind: 'json-text', text })),
    },
    { weight: 2 * broken, arbitrary: fc.tuple(hostileString, fc.constantFrom(...CONTENT_TYPES)).map(([text, contentType]): BodySpec => ({ kind: 'raw', text, contentType })) },
    { weight: broken, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...CONTENT_TYPES)).map(([bytes, contentType]): BodySpec => ({ kind: 'bytes', bytes, contentType })) },
    {
      weight: broken,
      arbitrary: fc
        .tuple(fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 4096 }), fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'))
        .map(([bytes, contentType]): BodySpec => ({ kind: 'oversized', bytes, contentType })),
    },
  ];
  if (target.json) choices.push({ weight: 8, arbitrary: target.json.map((value): BodySpec => ({ kind: 'json', value })) });
  return fc.oneof(...choices.filter((choice) => choice.weight > 0));
}

function requestFor(target: Target, jpeg: Buffer, plausible: boolean): fc.Arbitrary<RequestSpec> {
  const method = fc.oneof({ weight: plausible ? 40 : 12, arbitrary: fc.constantFrom(...target.methods) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_METHODS) });
  return fc
    .record({
      method,
      path: target.path,
      pairs: plausible ? plausiblePairs(target) : hostilePairs(target),
      placement: fc.constantFrom('query', 'body', 'body', 'both'),
      style: plausible ? fc.constant<PairStyle>('strict') : pairStyle,
      rawQuery: plausible
        ? fc.constant(null)
        : fc.oneof(
            { weight: 12, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('&&&', '=', '==', 'a=1&a=2&a=3', 'q=%', 'q=%E0%A4%A', '%=%', 'a[b]=1', '__proto__[x]=1', 'constructor[prototype][x]=1')) },
          ),
      auth: authChoice,
      headers: fc.array(extraHeader, { maxLength: plausible ? 1 : 3 }),
      contentType: fc.oneof(
        { weight: plausible ? 40 : 10, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      remoteAddress,
      noBody: fc.boolean(),
    })
    .chain((parts) => {
      const queryPairs = parts.placement === 'query' ? parts.pairs : parts.placement === 'both' ? parts.pairs.filter((_pair, index) => index % 2 === 0) : [];
      const bodyPairs = parts.placement === 'body' ? parts.pairs : parts.placement === 'both' ? parts.pairs : [];
      const bodiless = parts.method === 'GET' || parts.method === 'HEAD';
      const wantsBody = bodiless ? !plausible && parts.noBody && bodyPairs.length > 0 : !(parts.noBody && bodyPairs.length === 0);
      // A GET's parameters travel in the query string.
      const inQuery = bodiless && !wantsBody ? parts.pairs : queryPairs;
      const body: fc.Arbitrary<BodySpec> = wantsBody ? bodyFor(target, bodyPairs, jpeg, plausible) : fc.constant<BodySpec>({ kind: 'none' });
      return body.map(
        (bodySpec): RequestSpec => ({
          target: target.name,
          method: parts.method,
          path: parts.path,
          query: parts.rawQuery === null ? { kind: 'pairs', pairs: inQuery, style: parts.style } : { kind: 'raw', text: parts.rawQuery },
          body: bodySpec,
          auth: parts.auth,
          headers: parts.headers,
          ...(parts.contentType === undefined ? {} : { contentType: parts.contentType }),
          remoteAddress: parts.remoteAddress,
        }),
      );
    });
}

/** One request, aimed at one of the routes with that route's weight: half of them plausible, half hostile throughout. */
export function requestArbitrary(jpeg: Buffer): fc.Arbitrary<RequestSpec> {
  return fc.oneof(
    ...TARGETS.map((target) => ({
      weight: Math.round(target.weight * 2),
      arbitrary: fc.oneof(requestFor(target, jpeg, false), requestFor(target, jpeg, true)),
    })),
  );
}
