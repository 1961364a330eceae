import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { parseSort, SearchService } from '../../src/search/search-service.js';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';
import { SEED_BASE_DATE, type SeedAsset, seedLibrary } from './seed-library.js';

const DAY = 86_400_000;
/** A day with seeded capture dates a few seconds after midnight: a bound on it shows whether it covers the whole day. */
const SEED_DAY_60 = new Date(SEED_BASE_DATE + 60 * DAY).toISOString().slice(0, 10);
const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
const baseName = (a: SeedAsset) => a.name.replace(/\.jpg$/, '');
/** What a bare term searches: names, descriptions, titles, tags, status and custom text. */
const fullText = (a: SeedAsset) => words([a.name, baseName(a), a.description, a.title ?? '', ...a.tags, a.status, a.cf_region ?? ''].join(' '));
const hasWord = (a: SeedAsset, word: string) => fullText(a).includes(word);
const inFolder = (a: SeedAsset, folder: string) => a.folderPath.toLowerCase() === folder.toLowerCase() || a.folderPath.toLowerCase().startsWith(`${folder.toLowerCase()}/`);
const tagged = (a: SeedAsset, tag: string) => a.tags.some((t) => t.toLowerCase() === tag.toLowerCase());

/** Query → which seeded assets it must find. Expectations are computed from the seed data, never hard-coded. */
const CASES: Array<[string, (a: SeedAsset) => boolean]> = [
  ['*:*', () => true],
  ['harbour', (a) => hasWord(a, 'harbour')],
  ['HARBOUR', (a) => hasWord(a, 'harbour')],
  ['harbour dawn', (a) => hasWord(a, 'harbour') && hasWord(a, 'dawn')],
  ['harbour AND dawn', (a) => hasWord(a, 'harbour') && hasWord(a, 'dawn')],
  ['harbour && dawn', (a) => hasWord(a, 'harbour') && hasWord(a, 'dawn')],
  ['harbour OR forest', (a) => hasWord(a, 'harbour') || hasWord(a, 'forest')],
  ['harbour || forest', (a) => hasWord(a, 'harbour') || hasWord(a, 'forest')],
  ['harbour NOT dawn', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dawn')],
  ['harbour AND NOT dawn', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dawn')],
  ['harbour -dawn', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dawn')],
  ['+harbour -dawn', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dawn')],
  ['NOT harbour', (a) => !hasWord(a, 'harbour')],
  // The grammar dropped the NOT after && and ||, and ignored `!`: these found the excluded assets.
  ['harbour && NOT tags:sea', (a) => hasWord(a, 'harbour') && !tagged(a, 'sea')],
  ['harbour || NOT tags:sea', (a) => hasWord(a, 'harbour') && !tagged(a, 'sea')],
  ['harbour && !tags:sea', (a) => hasWord(a, 'harbour') && !tagged(a, 'sea')],
  ['harbour && !dawn', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dawn')],
  ['!harbour', (a) => !hasWord(a, 'harbour')],
  ['harbour !tags:sea', (a) => hasWord(a, 'harbour') && !tagged(a, 'sea')],
  ['-(dusk OR night) harbour', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dusk') && !hasWord(a, 'night')],
  ['harbour !(dusk OR night)', (a) => hasWord(a, 'harbour') && !hasWord(a, 'dusk') && !hasWord(a, 'night')],
  // A `+` before brackets requires the group, as before a term.
  ['+(dusk OR night) harbour', (a) => hasWord(a, 'harbour') && (hasWord(a, 'dusk') || hasWord(a, 'night'))],
  ['+(tags:sea)', (a) => tagged(a, 'sea')],
  ['harbour OR +(dusk OR night)', (a) => hasWord(a, 'dusk') || hasWord(a, 'night')],
  ['+(dusk OR night) OR harbour', (a) => hasWord(a, 'dusk') || hasWord(a, 'night')],
  ['+(tags:sea AND (dusk OR night)) -harbour', (a) => tagged(a, 'sea') && (hasWord(a, 'dusk') || hasWord(a, 'night')) && !hasWord(a, 'harbour')],
  ['+harbour +(dusk OR night) -tags:sea', (a) => hasWord(a, 'harbour') && (hasWord(a, 'dusk') || hasWord(a, 'night')) && !tagged(a, 'sea')],
  ['(harbour OR forest) AND dusk', (a) => (hasWord(a, 'harbour') || hasWord(a, 'forest')) && hasWord(a, 'dusk')],
  ['(harbour OR forest) AND NOT (dusk OR night)', (a) => (hasWord(a, 'harbour') || hasWord(a, 'forest')) && !hasWord(a, 'dusk') && !hasWord(a, 'night')],
  // Without brackets, as Lucene (and so the Assets Server) reads them: AND and OR make clauses required or
  // optional, a `-` clause excludes from the whole level, and optional clauses beside a required one select nothing.
  ['tags:sea OR tags:snow -status:Draft', (a) => (tagged(a, 'sea') || tagged(a, 'snow')) && a.status !== 'Draft'],
  ['harbour AND dawn OR forest', (a) => hasWord(a, 'harbour')],
  ['harbour OR forest dusk', (a) => hasWord(a, 'dusk')],
  ['NOT harbour OR forest', (a) => hasWord(a, 'forest') && !hasWord(a, 'harbour')],
  ['((harbour))', (a) => hasWord(a, 'harbour')],
  ['"at dawn"', (a) => a.description.toLowerCase().includes('at dawn')],
  ['"with a rainbow"', (a) => a.description.includes('with a rainbow')],
  ['"rainbow with"', () => false],
  ['harb*', (a) => fullText(a).some((w) => w.startsWith('harb'))],
  ['gla*', (a) => fullText(a).some((w) => w.startsWith('gla'))],
  ['h?rbour', (a) => hasWord(a, 'harbour')],
  ['*cier', (a) => hasWord(a, 'glacier')],
  // File names split into words on both stores (PostgreSQL's parser kept `forest-001.jpg` whole).
  ['001', (a) => hasWord(a, '001')],
  ['jpg', () => true],
  // Wildcards look where bare words look, not at types, domains or paths (every asset here is an image in /).
  ['*mage', () => false],
  ['?mage', () => false],
  ['*otos*', () => false],
  ['harbor~', (a) => hasWord(a, 'harbour')],
  ['forrest~', (a) => hasWord(a, 'forest')],
  ['xyzzy~', () => false],
  // An edit distance written after the `~` (the grammar read `hrbour~1` as `hrbour~` AND a term `1`).
  ['hrbour~1', (a) => hasWord(a, 'harbour')],
  ['hrbour~0', () => false],
  ['description:hrbour~1', (a) => words(a.description).includes('harbour')],
  ['rainbow', (a) => a.description.includes('rainbow')],
  ['nothingmatchesthis', () => false],
  ['description:harbour', (a) => words(a.description).includes('harbour')],
  ['description:"a harbour at dawn"', (a) => a.description.toLowerCase().startsWith('a harbour at dawn')],
  ['description:rain*', (a) => a.description.includes('rain')],
  // Words are indexed without their accents, and so are the words asked for.
  ['description:rainbów', (a) => words(a.description).includes('rainbow')],
  ['title:study', (a) => words(a.title ?? '').includes('study')],
  ['title:*', (a) => a.title !== undefined],
  ['-title:*', (a) => a.title === undefined],
  ['tags:sea', (a) => tagged(a, 'sea')],
  ['tags:SEA', (a) => tagged(a, 'sea')],
  ['tags:"Ice Cream"', (a) => tagged(a, 'Ice Cream')],
  ['tags:"ice cream"', (a) => tagged(a, 'Ice Cream')],
  ['tags:C\\+\\+', (a) => tagged(a, 'C++')],
  ['tags:sea AND tags:boats', (a) => tagged(a, 'sea') && tagged(a, 'boats')],
  ['tags:sea OR tags:snow', (a) => tagged(a, 'sea') || tagged(a, 'snow')],
  ['tags:(sea OR snow)', (a) => tagged(a, 'sea') || tagged(a, 'snow')],
  ['tags:(sea AND boats)', (a) => tagged(a, 'sea') && tagged(a, 'boats')],
  ['tags:s*', (a) => a.tags.some((t) => t.toLowerCase().startsWith('s'))],
  ['tags:*', (a) => a.tags.length > 0],
  ['NOT tags:*', (a) => a.tags.length === 0],
  ['tags:sea -tags:boats', (a) => tagged(a, 'sea') && !tagged(a, 'boats')],
  ['status:Final', (a) => a.status === 'Final'],
  ['status:final', (a) => a.status === 'Final'],
  ['status:(Draft OR Final)', (a) => a.status !== 'Production'],
  ['status:Final AND tags:sea', (a) => a.status === 'Final' && tagged(a, 'sea')],
  ['Final', (a) => a.status === 'Final'],
  ['rating:3', (a) => a.rating === 3],
  ['rating:-1', (a) => a.rating === -1],
  ['rating:[2 TO 4]', (a) => a.rating >= 2 && a.rating <= 4],
  ['tags:sea AND rating:{0 TO 4]', (a) => a.tags.includes('sea') && a.rating > 0 && a.rating <= 4],
  ['rating:{2 TO 4}', (a) => a.rating > 2 && a.rating < 4],
  ['rating:[2 TO 4}', (a) => a.rating >= 2 && a.rating < 4],
  ['rating:{2 TO 4]', (a) => a.rating > 2 && a.rating <= 4],
  ['rating:[4 TO *]', (a) => a.rating >= 4],
  ['rating:[* TO 0]', (a) => a.rating <= 0],
  ['rating:[* TO *]', () => true],
  ['rating:[100 TO 200]', () => false],
  ['rating:[-1000000000 TO 1000000000]', () => true],
  // A `-` before the field excludes; before a number it is the sign.
  ['-rating:3', (a) => a.rating !== 3],
  ['*:* -rating:5', (a) => a.rating !== 5],
  ['-rating:-1', (a) => a.rating !== -1],
  ['rating:*', () => true],
  ['-rating:*', () => false],
  ['created:*', () => true],
  // Standard fields of protocol §3.6 that Damson does not fill (no checkout yet) are known, and hold nothing.
  ['checkedOut:*', () => false],
  ['-checkedOut:*', () => true],
  ['harbour -checkedOutBy:*', (a) => hasWord(a, 'harbour')],
  // Every asset's metadata is complete (no required fields): protocol §3.5's own example finds every Final or Draft.
  ['(status:Final OR status:Draft) -metadataComplete:false', (a) => a.status === 'Final' || a.status === 'Draft'],
  ['metadataComplete:true', () => true],
  ['metadataComplete:TRUE AND tags:sea', (a) => tagged(a, 'sea')],
  ['metadataComplete:t*', () => true],
  ['metadataComplete:false', () => false],
  ['tags:sea OR metadataComplete:false', (a) => tagged(a, 'sea')],
  // Relations (a collection's members) do not exist yet: a relation search finds nothing, and nothing is excluded.
  ['relatedTo:AbCdEf0123456789abcdef relationTarget:child relationType:contains', () => false],
  ['relatedTo:*', () => false],
  ['tags:sea -relatedTo:AbCdEf0123456789abcdef', (a) => tagged(a, 'sea')],
  // Forty terms chained by OR are no nesting (the grammar makes a level of each).
  [Array.from({ length: 40 }, (_, i) => `rating:${(i % 7) - 1}`).join(' OR '), () => true],
  // A date bound covers its whole day, as Elasticsearch reads it: this is all of 2021, 31 December included.
  ['created:[2021-01-01 TO 2021-12-31]', (a) => a.created >= Date.parse('2021-01-01') && a.created < Date.parse('2022-01-01')],
  [`created:[* TO ${SEED_DAY_60}]`, (a) => a.created < Date.parse(SEED_DAY_60) + DAY],
  [`created:[* TO ${SEED_DAY_60}}`, (a) => a.created < Date.parse(SEED_DAY_60)],
  [`created:{${SEED_DAY_60} TO *]`, (a) => a.created >= Date.parse(SEED_DAY_60) + DAY],
  [`created:[${SEED_DAY_60}T00:00 TO ${SEED_DAY_60}T00:00]`, (a) => a.created >= Date.parse(SEED_DAY_60) && a.created < Date.parse(SEED_DAY_60) + 60_000],
  ['created:[2021-01-01T00:00:00Z TO *]', (a) => a.created >= Date.parse('2021-01-01')],
  [`created:[* TO ${SEED_BASE_DATE + 100 * DAY}]`, (a) => a.created <= SEED_BASE_DATE + 100 * DAY],
  ['created:2020-01-31', (a) => a.created >= Date.parse('2020-01-31') && a.created < Date.parse('2020-02-01')],
  ['created:2021', (a) => a.created >= Date.parse('2021-01-01') && a.created < Date.parse('2022-01-01')],
  ['created:[2020-03 TO 2020-05]', (a) => a.created >= Date.parse('2020-03-01') && a.created < Date.parse('2020-06-01')],
  ['created:{2020-01-01 TO 2020-03-01}', (a) => a.created >= Date.parse('2020-01-02') && a.created < Date.parse('2020-03-01')],
  ['assetCreated:[NOW-1YEAR TO NOW+1DAY]', () => true],
  ['assetCreated:[NOW+1DAY TO *]', () => false],
  ['assetCreated:[NOW/DAY TO *]', () => true],
  ['assetCreated:[* TO NOW-10YEARS]', () => false],
  ['folderPath:"/Photos/2022"', (a) => a.folderPath === '/Photos/2022'],
  ['folderPath:"/photos/2022/"', (a) => a.folderPath === '/Photos/2022'],
  ['ancestorPaths:"/Photos"', (a) => inFolder(a, '/Photos')],
  ['ancestorPaths:"/Photos/2022"', (a) => inFolder(a, '/Photos/2022')],
  ['ancestorPaths:"/Archive/Old"', (a) => inFolder(a, '/Archive/Old')],
  ['ancestorPaths:"/Phot"', () => false],
  ['ancestorPaths:"/Docs" AND NOT folderPath:"/Docs"', (a) => inFolder(a, '/Docs') && a.folderPath !== '/Docs'],
  ['assetPath:"/Docs/river-003.jpg"', (a) => `${a.folderPath}/${a.name}` === '/Docs/river-003.jpg'],
  ['filename:forest-001.jpg', (a) => a.name === 'forest-001.jpg'],
  ['name:forest*', (a) => a.name.startsWith('forest')],
  ['name:*-01?.jpg', (a) => /-01\d\.jpg$/.test(a.name)],
  // The first hundred assets: the oldest, bunched at the end of the default sort order.
  ['name:*-0??.jpg', (a) => /-0\d\d\.jpg$/.test(a.name)],
  ['baseName:meadow-006', (a) => baseName(a) === 'meadow-006'],
  ['extension:jpg', () => true],
  ['assetType:jpg', () => true],
  ['assetDomain:image', () => true],
  ['assetDomain:video', () => false],
  ['cf_region:north', (a) => a.cf_region === 'north'],
  ['cf_region:*', (a) => a.cf_region !== undefined],
  ['north', (a) => a.cf_region === 'north'],
  ['versionNumber:1', () => true],
  ['fileSize:0', () => true],
  ['fileSize:[1 TO *]', () => false],
  // Quotes and SQL are just text: "1=1 --" holds no word that any asset has, so only the harbour side matches.
  ["harbour' OR 1=1 --", (a) => hasWord(a, 'harbour')],
  ['tags:"sea\\" OR \\"x"', () => false],
  ['description:"%"', () => false],
  ['description:_', () => false],
  ['name:%', () => false],
];

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  let library: SeedAsset[];
  before(async () => {
    library = await seedLibrary(suite.server, suite.session, 300);
  });

  const search = async (params: Record<string, string>) => {
    const response = await suite.server.app.inject({ method: 'GET', url: `/services/search?${new URLSearchParams(params)}`, headers: suite.session.cookieOnly });
    return { status: response.statusCode, body: response.json() };
  };

  it(`answers ${CASES.length} queries exactly as the seed data says`, async () => {
    assert.ok(CASES.length >= 80);
    const failures: string[] = [];
    for (const [query, expected] of CASES) {
      const { status, body } = await search({ q: query, num: '1000', metadataToReturn: 'filename' });
      const want = library.filter(expected).map((a) => a.name).sort();
      const got = status === 200 ? (body.hits as Array<{ metadata: { filename: string } }>).map((hit) => hit.metadata.filename).sort() : [`HTTP ${status}: ${body.message}`];
      if (status !== 200 || body.totalHits !== want.length || JSON.stringify(got) !== JSON.stringify(want)) {
        failures.push(`${query}: expected ${want.length}, got ${status === 200 ? body.totalHits : got[0]}`);
      }
    }
    assert.deepEqual(failures, []);
    // The table is not trivially satisfied: it has queries that match nothing, some and everything.
    const sizes = CASES.map(([, expected]) => library.filter(expected).length);
    assert.ok(sizes.includes(0) && sizes.includes(library.length) && sizes.some((size) => size > 0 && size < library.length));
  });

  it('finds any of the ids in id:(a b), as the Assets metadata panel asks for the assets selected', async () => {
    const [first, second] = [library[3]!, library[200]!];
    const names = async (q: string) => {
      const { body } = await search({ q, num: '10', metadataToReturn: 'filename' });
      return (body.hits as Array<{ metadata: { filename: string } }>).map((hit) => hit.metadata.filename).sort();
    };
    const both = [first.name, second.name].sort();
    assert.deepEqual(await names(`id:(${first.id} ${second.id})`), both);
    assert.deepEqual(await names(`id:(${first.id} OR ${second.id})`), both);
    assert.deepEqual(await names(`id:(${first.id} AND ${second.id})`), [], 'an explicit AND still means both');
    assert.deepEqual(await names(`id:(${first.id} -${second.id})`), [first.name]);
    assert.deepEqual(await names(`harbour id:${first.id}`), hasWord(first, 'harbour') ? [first.name] : [], 'outside an id group a space is AND');
  });

  it('keeps and searches the file-system and embedded dates of protocol §3.6 when a client gives them', async () => {
    const asset = library[9]!;
    const update = await postForm(suite, 'update', { id: asset.id, metadata: JSON.stringify({ fileModified: '2019-05-01T10:00:00Z', xmpCreated: '2018-02-03' }) });
    assert.equal(update.statusCode, 200, update.body);
    const names = async (q: string) => {
      const { status, body } = await search({ q, metadataToReturn: 'filename,fileModified' });
      assert.equal(status, 200, JSON.stringify(body));
      return (body.hits as Array<{ metadata: { filename: string } }>).map((hit) => hit.metadata.filename);
    };
    assert.deepEqual(await names('fileModified:2019-05-01'), [asset.name]);
    assert.deepEqual(await names('fileModified:[* TO NOW]'), [asset.name]);
    assert.deepEqual(await names('xmpCreated:[2018-01-01 TO 2018-12-31]'), [asset.name]);
    assert.deepEqual(await names('fileModified:2019-05-02'), []);
  });

  it('reads the same pages whichever plan the service picks (hit sets collected, assets walked or probed in sort order)', async () => {
    const plans = (['collect', 'walk', 'probe'] as const).map((pageForm) => new SearchService(suite.server.app.damson.database, suite.server.clock, { pageForm }));
    const differences: string[] = [];
    const selected: Record<string, string[]> = { status: ['Final', 'Draft'] };
    for (const [query] of CASES) {
      for (const sort of [undefined, 'name-desc', 'rating,name', 'rating', 'created-asc']) {
        for (const [start, num, selections] of [[0, 1000, {}], [0, 1000, selected], [7, 5, {}], [290, 20, selected]] as const) {
          const request = { query, start, num, sort: parseSort(sort), facets: [], selections };
          const [collected, ...others] = await Promise.all(plans.map(async (plan) => {
            const result = await plan.search(request);
            return JSON.stringify([result.totalHits, result.assets.map((asset) => asset.id)]);
          }));
          for (const other of others) {
            if (other !== collected) differences.push(`${query} sort=${sort} start=${start}: ${collected!.slice(0, 80)} vs ${other.slice(0, 80)}`);
          }
        }
      }
    }
    assert.deepEqual(differences, []);
  });

  it('refuses syntax errors with a 400 naming the position, and never answers hostile queries with a 500', async () => {
    const syntax = await search({ q: 'tags:sea AND (boats' });
    assert.equal(syntax.status, 400);
    assert.match(syntax.body.message, /position \d+/);
    assert.match((await search({ q: 'a:b:c' })).body.message, /position 3/);
    // Positions are the user's, also after operators the parser needs rewritten (`&& NOT` is read as `AND NOT`).
    assert.match((await search({ q: 'a && NOT b:c:d' })).body.message, /position 12/);
    assert.match((await search({ q: 'nosuchfield:x' })).body.message, /Unknown field "nosuchfield"/);
    assert.match((await search({ q: 'rating:[a TO b]' })).body.message, /not a number/);
    assert.match((await search({ q: 'created:[yesterday TO now]' })).body.message, /not a date/);
    // What Number() and Date.parse would read but a client does not mean: a hexadecimal rating, 30 February.
    assert.match((await search({ q: 'rating:0x3' })).body.message, /not a number/);
    assert.match((await search({ q: 'created:2026-02-30' })).body.message, /not a date/);
    assert.match((await search({ q: 'created:[2025-04-31 TO *]' })).body.message, /not a date/);
    const hostile = [
      '('.repeat(200) + 'x' + ')'.repeat(200),
      'x'.repeat(100 * 1024),
      Array.from({ length: 500 }, (_, i) => `w${i}`).join(' OR '),
      "'; DROP TABLE assets; --",
      'tags:"\'; DELETE FROM asset_values; --"',
      '"unterminated',
      '\\',
      '[1 TO 2]',
      'rating:[1 TO',
      '/regex/',
      '**',
      '?',
      'a'.repeat(5000),
      '\u0000',
      'NOT NOT NOT x',
      // A letter with thousands of marks: folding them once took time quadratic in their number.
      `a${'\u0301'.repeat(9000)}`,
      `क${'\u093f'.repeat(9000)}`,
    ];
    for (const q of hostile) {
      const { status, body } = await search({ q, num: '5' });
      assert.ok(status === 200 || status === 400, `${q.slice(0, 30)} → ${status}`);
      assert.equal(typeof (status === 200 ? body.totalHits : body.errorcode), 'number');
    }
    assert.equal((await search({ q: '*:*', num: '0' })).body.totalHits, library.length, 'the library survived');
    // Answered with a 400, where PostgreSQL or the bound-parameter limit used to make a 500.
    for (const params of [{ q: 'tags:"a\u0000b"' } as Record<string, string>, { q: '*:*', facets: 'tags', 'facet.tags.selection': 'x\u0000' }, { q: '*:*', facets: 'tags', 'facet.tags.selection': Array.from({ length: 5000 }, (_, i) => `t${i}`).join(',') }]) {
      const { status, body } = await search(params);
      assert.equal(status, 400, JSON.stringify(body));
    }
    assert.equal((await search({ q: Array.from({ length: 600 }, (_, i) => `w${i}`).join(' OR ') })).status, 400, 'too many terms');
  });
});
