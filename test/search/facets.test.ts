import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { sql } from 'kysely';
import { SEARCH_CHANGES_KEPT } from '../../src/db/migrations.js';
import { FacetIndex, MAX_FACET_KEY_CHARS } from '../../src/search/facet-index.js';
import { type SearchRequest, SearchService } from '../../src/search/search-service.js';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';

type Facet = { value: string; hitCount: number; selected: boolean };

const FACETS = ['tags', 'status', 'rating', 'cf_project'];
/**
 * Queries and selections that narrow the counts in different ways. In memory, the hits of selections and of exact
 * values (`status:Final`, a folder) on the fields held come from the index, the rest from SQL (and so do values
 * too rare for the index to be worth it: here only values no asset has).
 */
const QUERIES = ['*:*', 'status:Final', 'tags:metal', 'folderPath:"/Facets"', 'ancestorPaths:"/Facets"', 'metal', 'status:final AND tags:wood', 'status:Final AND NOT tags:metal', 'a1.jpg OR status:draft'];
const SELECTIONS: Array<Record<string, string[]>> = [{}, { status: ['final'] }, { tags: ['METAL', 'stone'] }, { rating: ['4', '5'], status: ['Draft'] }, { tags: ['no such tag'] }, { status: ['final'], tags: ['no such tag', 'wood'] }];
const REQUESTS: SearchRequest[] = QUERIES.flatMap((query) => SELECTIONS.map((selections) => ({ query, start: 0, num: 2, sort: [], facets: FACETS, selections })));
type Answer = { totalHits: number; facets: Record<string, Facet[]> };
const ids = (assets: Array<{ id: string }>) => assets.map(({ id }) => id);

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  before(async () => {
    const assets: Array<Record<string, string>> = [
      { name: 'a1.jpg', tags: 'Metal', status: 'Final', rating: '4', cf_project: 'Alpha one' },
      { name: 'a2.jpg', tags: 'metal,Wood', status: 'Draft', rating: '4' },
      { name: 'a3.jpg', tags: 'METAL', status: 'Final', rating: '5' },
      { name: 'a4.jpg', tags: 'wood', status: 'Final' },
      { name: 'a5.jpg', status: 'Draft', rating: '1' },
    ];
    for (const fields of assets) {
      const response = await post('create', { folderPath: '/Facets', ...fields });
      assert.equal(response.statusCode, 200, response.body);
    }
  });

  const post = (service: string, params: Record<string, string>) => postForm(suite, service, params);
  const search = async (params: Record<string, string>) => {
    const response = await post('search', { num: '0', ...params });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as Answer;
  };
  /** A facet as `value: hitCount` pairs, values lower-cased (a value that differs only in case shows one of its spellings). */
  const counts = (facet: Facet[] | undefined) => Object.fromEntries((facet ?? []).map(({ value, hitCount }) => [value.toLowerCase(), hitCount]));

  it('counts text values in any case as one, numbers by value, most frequent first', async () => {
    const { facets } = await search({ q: '*:*', facets: 'tags,status,rating,cf_project' });
    assert.deepEqual(counts(facets.tags), { metal: 3, wood: 2 });
    assert.ok(['Metal', 'metal', 'METAL'].includes(facets.tags![0]!.value), 'shown as one of its spellings');
    assert.deepEqual(facets.status!.map(({ value, hitCount }) => [value, hitCount]), [['Final', 3], ['Draft', 2]]);
    assert.deepEqual(facets.rating!.map(({ value, hitCount }) => [value, hitCount]), [['4', 2], ['1', 1], ['5', 1]]);
    // A custom field also has a row per word; only whole values are facet values.
    assert.deepEqual(facets.cf_project!.map(({ value, hitCount }) => [value, hitCount]), [['Alpha one', 1]]);
  });

  it('gives the same counts whether a query matches everything or names every asset', async () => {
    // `*:*` is counted from the index alone; a folder query goes through its hits.
    const all = await search({ q: '*:*', facets: 'tags,status,rating' });
    const folder = await search({ q: 'folderPath:"/Facets"', facets: 'tags,status,rating' });
    assert.equal(folder.totalHits, all.totalHits);
    for (const field of ['tags', 'status', 'rating']) assert.deepEqual(counts(folder.facets[field]), counts(all.facets[field]), field);
  });

  it('narrows counts to the hits, and selections match values in any case', async () => {
    const final = await search({ q: 'status:Final', facets: 'tags,rating' });
    assert.deepEqual(counts(final.facets.tags), { metal: 2, wood: 1 });
    assert.deepEqual(counts(final.facets.rating), { 4: 1, 5: 1 });

    const metal = await search({ q: '*:*', facets: 'tags,status', 'facet.tags.selection': 'mEtAl' });
    assert.equal(metal.totalHits, 3);
    assert.deepEqual(counts(metal.facets.tags), { metal: 3, wood: 2 }, "a field's own selection does not narrow its counts");
    assert.deepEqual(metal.facets.tags!.map(({ selected }) => selected), [true, false]);
    assert.deepEqual(counts(metal.facets.status), { final: 2, draft: 1 });

    assert.equal((await search({ q: '*:*', 'facet.rating.selection': '4' })).totalHits, 2);
    assert.equal((await search({ q: '*:*', 'facet.rating.selection': 'four' })).totalHits, 0);
    const rated = await search({ q: '*:*', facets: 'rating', 'facet.rating.selection': '4.0' });
    assert.deepEqual(rated.facets.rating!.filter(({ selected }) => selected).map(({ value }) => value), ['4'], 'a number selected by value');
    assert.equal((await search({ q: '*:*', 'facet.cf_project.selection': 'alpha ONE' })).totalHits, 1);
    assert.equal((await search({ q: '*:*', 'facet.cf_project.selection': 'alpha' })).totalHits, 0, 'a word of a value is not a value');
    // A folder selected as the query names it: any case, with or without a trailing slash.
    const folder = await search({ q: '*:*', facets: 'folderPath', 'facet.folderPath.selection': '/facets/' });
    assert.equal(folder.totalHits, 5);
    assert.deepEqual(folder.facets.folderPath!.map(({ value, selected }) => [value, selected]), [['/Facets', true]]);
  });

  it('lists every selected value, also one the rest of the query leaves without hits', async () => {
    // Wood is on a2 (Draft) and a4 (Final); the query leaves it one hit, and the selection of Draft none.
    const draftWood = await search({ q: 'status:Draft', facets: 'tags,status', 'facet.tags.selection': 'WOOD,stone', 'facet.status.selection': 'draft' });
    assert.equal(draftWood.totalHits, 1);
    assert.deepEqual(
      draftWood.facets.tags!.map(({ value, hitCount, selected }) => [value.toLowerCase(), hitCount, selected]),
      [['metal', 1, false], ['wood', 1, true], ['stone', 0, true]],
      'a selected value no asset has is listed with 0 hits, as the request spells it',
    );
    assert.equal(draftWood.facets.tags![2]!.value, 'stone');
    const final = await search({ q: 'status:Final', facets: 'rating,status', 'facet.rating.selection': '1.0', 'facet.status.selection': 'Draft' });
    assert.equal(final.totalHits, 0);
    assert.deepEqual(final.facets.rating!.filter(({ selected }) => selected), [{ value: '1', hitCount: 0, selected: true }], 'a number in its plain form (1, not 1.0)');
    assert.deepEqual(final.facets.status!.filter(({ selected }) => selected), [{ value: 'Draft', hitCount: 0, selected: true }]);
  });

  it('lists a selected value beyond the most frequent ones, with its count', async () => {
    // 101 values, one asset each: a facet lists 100, and code-100 comes last (ties go by value).
    for (let index = 0; index <= 100; index++) {
      const response = await post('create', { folderPath: '/Many', name: `m${index}.jpg`, cf_code: `code-${String(index).padStart(3, '0')}` });
      assert.equal(response.statusCode, 200, response.body);
    }
    try {
      const unselected = await search({ q: 'folderPath:"/Many"', facets: 'cf_code' });
      assert.equal(unselected.facets.cf_code!.length, 100);
      assert.ok(!unselected.facets.cf_code!.some(({ value }) => value === 'code-100'));
      const selected = await search({ q: 'folderPath:"/Many"', facets: 'cf_code', 'facet.cf_code.selection': 'CODE-100,code-000' });
      assert.equal(selected.totalHits, 2);
      assert.equal(selected.facets.cf_code!.length, 101);
      assert.deepEqual(selected.facets.cf_code!.filter(({ selected }) => selected), [
        { value: 'code-000', hitCount: 1, selected: true },
        { value: 'CODE-100', hitCount: 1, selected: true },
      ]);
    } finally {
      const removed = await post('remove', { folderPath: '/Many' });
      assert.equal(removed.statusCode, 200, removed.body);
    }
  });

  it('counts the same whether it starts from the hits or reads the field\'s index', async () => {
    const { database } = suite.server.app.damson;
    const fromHits = new SearchService(database, suite.server.clock, { facetWalk: false });
    const fromIndex = new SearchService(database, suite.server.clock, { facetWalk: true });
    const memory = new FacetIndex();
    // SQLite's search threads count in memory (PostgreSQL has no change log for it to follow).
    const fromMemory = dialect === 'sqlite' ? new SearchService(database, suite.server.clock, { facetIndex: memory }) : undefined;
    if (fromMemory) {
      await fromMemory.search({ query: '*:*', start: 0, num: 0, sort: [], facets: FACETS, selections: {} });
      assert.ok(!memory.has('tags'), 'the whole library is counted from the index alone, not read into memory');
    }
    const seen = new Set<string>();
    for (const query of ['*:*', 'status:Final', 'tags:wood', 'rating:[4 TO 5]', 'folderPath:"/Facets"', 'a1.jpg', 'NOT tags:metal']) {
      for (const selections of [{}, { status: ['final'] }, { tags: ['METAL'] }, { rating: ['4'] }] as Array<Record<string, string[]>>) {
        const request = { query, start: 0, num: 0, sort: [], facets: FACETS, selections };
        const [hits, index, inMemory] = await Promise.all([fromHits.search(request), fromIndex.search(request), fromMemory?.search(request)]);
        assert.deepEqual(index.facets, hits.facets, `${query} ${JSON.stringify(selections)}`);
        if (inMemory) assert.deepEqual(inMemory.facets, hits.facets, `in memory: ${query} ${JSON.stringify(selections)}`);
        seen.add(JSON.stringify(hits.facets));
      }
    }
    // The queries narrow the counts in different ways, so equal answers are not equally empty ones.
    assert.ok(seen.size >= 10, `only ${seen.size} different answers`);
    if (fromMemory) assert.ok(FACETS.every((field) => memory.has(field)), 'the fields were counted in memory');
  });

  if (dialect === 'sqlite') {
    /** Every query and selection of `requests`, counted in memory by `index` and in SQL: the answers must agree. */
    const agree = async (index: FacetIndex, message: string) => {
      const { database } = suite.server.app.damson;
      const fromMemory = new SearchService(database, suite.server.clock, { facetIndex: index });
      const inSql = new SearchService(database, suite.server.clock, { facetWalk: false });
      for (const request of REQUESTS) {
        const [memory, expected] = [await fromMemory.search(request), await inSql.search(request)];
        assert.deepEqual(memory.facets, expected.facets, `${message}: ${request.query} ${JSON.stringify(request.selections)}`);
        assert.equal(memory.totalHits, expected.totalHits, `${message}: ${request.query} ${JSON.stringify(request.selections)}`);
        assert.deepEqual(ids(memory.assets), ids(expected.assets), `${message}: ${request.query} ${JSON.stringify(request.selections)}`);
      }
      return (await inSql.search(REQUESTS[0]!)).facets;
    };

    it('counts in memory follow every change: new values, new assets, removed assets', async () => {
      for (const index of [new FacetIndex(), new FacetIndex(0)]) {
        await agree(index, 'before');
        const before = await agree(index, 'read again');
        const changed = await post('updatebulk', { q: 'name:a4.jpg', metadata: JSON.stringify({ tags: ['+Metal', '+Stone'], rating: '2', status: 'Draft' }) });
        assert.equal(changed.statusCode, 200, changed.body);
        const created = await post('create', { folderPath: '/Facets/Later', name: `b${Math.random()}.jpg`, tags: 'stone', status: 'Final', rating: '5' });
        assert.equal(created.statusCode, 200, created.body);
        const after = await agree(index, 'after an update and a new asset');
        assert.notDeepEqual(after, before, 'the changes change the counts');
        const removed = await post('remove', { q: 'name:a4.jpg OR folderPath:"/Facets/Later"' });
        assert.equal(removed.statusCode, 200, removed.body);
        await agree(index, 'after removals');
        // Put a4 back as it was, for the next round and the other tests.
        assert.equal((await post('create', { folderPath: '/Facets', name: 'a4.jpg', tags: 'wood', status: 'Final' })).statusCode, 200);
        const restored = await agree(index, 'restored');
        for (const field of FACETS) assert.deepEqual(counts(restored[field]), counts(before[field]), field);
      }
    });

    it('finds the hits of selections and exact values in memory as SQL finds them', async () => {
      const index = new FacetIndex();
      await agree(index, 'while reading the fields');
      // Many hits (all five assets): the fields of the selections and of the folder queries were read whole.
      for (const field of ['status', 'tags', 'rating', 'folderPath', 'ancestorPaths']) assert.ok(index.has(field), field);
      await agree(index, 'from memory');
    });

    it('leaves a field of long values to SQL rather than hold megabytes of it', async () => {
      const { database } = suite.server.app.damson;
      const ids = (await sql<{ id: string }>`SELECT id FROM assets`.execute(database.db)).rows.map((row) => row.id);
      // More characters than MAX_FACET_KEY_CHARS, in values of 4,100 (written straight into the index).
      const count = Math.ceil(MAX_FACET_KEY_CHARS / 4100) + 1;
      for (let start = 0; start < count; start += 100) {
        const rows = Array.from({ length: Math.min(100, count - start) }, (_, offset) => {
          const value = `${start + offset} ${'long text '.repeat(410)}`;
          return sql`(${ids[(start + offset) % ids.length]!}, 'cf_note', ${value.toLowerCase()}, ${value}, NULL, 0)`;
        });
        await sql`INSERT INTO asset_values (asset_id, field, value_key, value_text, value_num, is_token) VALUES ${sql.join(rows)}`.execute(database.db);
      }
      try {
        const index = new FacetIndex();
        // Every asset, but not as `*:*` (counted from the index alone, in SQL, until a field is in memory).
        const request = { query: 'NOT id:none', start: 0, num: 0, sort: [], facets: ['cf_note', 'tags'], selections: {} };
        const [memory, expected] = [await new SearchService(database, suite.server.clock, { facetIndex: index }).search(request), await new SearchService(database, suite.server.clock).search(request)];
        assert.deepEqual(memory.facets, expected.facets);
        assert.equal(memory.facets.cf_note!.length, 100);
        assert.ok(!index.has('cf_note') && index.has('tags'), 'tags in memory, the long values not');
      } finally {
        await sql`DELETE FROM asset_values WHERE field = 'cf_note'`.execute(database.db);
      }
    });

    it('reads its fields again when the changes it missed have left the log', async () => {
      const index = new FacetIndex();
      const before = await agree(index, 'before');
      const changed = await post('updatebulk', { q: 'name:a1.jpg', metadata: JSON.stringify({ tags: ['+Granite'] }) });
      assert.equal(changed.statusCode, 200, changed.body);
      // More changes than the log keeps (of no asset): a4's change is dropped from it before the index reads it.
      await sql`INSERT INTO search_changes (asset_rowid)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${SEARCH_CHANGES_KEPT + 10}) SELECT -1 FROM n`.execute(suite.server.app.damson.database.db);
      const after = await agree(index, 'after the log moved on');
      assert.notDeepEqual(after, before);
    });
  }
});
