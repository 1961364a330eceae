import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { FacetIndex } from '../../src/search/facet-index.js';
import { type SearchRequest, SearchService, type SortField } from '../../src/search/search-service.js';
import { MINUTE, postForm, serverWithSession } from '../helpers/server.js';

/**
 * SQLite's search threads find hits in memory (for facets, selections, ranges on number and date fields, exact
 * values ANDed with more, and full text), pick a page in upload order from them and let SQL order only those. The answers must be
 * exactly SQL's: with many assets sharing an upload date (the test clock stands still between uploads), dates out
 * of rowid order, offsets, and after changes.
 */
const QUERIES = [
  // First, while status is not held: one asset is a Draft, too few to read the field for; SQL finds it, memory the rest.
  'tags:red status:Draft',
  'tags:red status:Final',
  'status:final tags:blue created:[2020-02-01 TO *]',
  'tags:red alpha',
  'tags:blue description:gamma',
  'tags:red al*',
  'tags:red -status:Final',
  'status:Final rating:[1 TO 4] alpha',
  'alpha',
  'alpha beta',
  '"alpha beta"',
  'gamma',
  'alpha OR gamma',
  'alph*',
  'al* beta',
  'rating:[2 TO 4]',
  'rating:{2 TO *]',
  'created:[2020-03-01 TO 2020-06-30]',
  'created:[* TO 2020-04-15}',
  'rating:[* TO *]',
  'alpha rating:[2 TO 4]',
  '"alpha beta" created:{2020-02-15 TO *]',
  'created:[2020-02-01 TO 2020-07-31] rating:[0 TO 3]',
  'gamma OR rating:[4 TO 5]',
  'alpha -rating:[2 TO 3]',
];
const SORTS: SortField[][] = [
  [],
  [{ field: 'assetCreated', descending: true }],
  [{ field: 'assetCreated', descending: false }],
  [{ field: 'relevance', descending: true }],
  [
    { field: 'assetCreated', descending: false },
    { field: 'name', descending: true },
  ],
  [{ field: 'rating', descending: true }],
];
const PAGES = [
  [0, 5],
  [3, 7],
  [10, 10],
  [30, 5],
  [0, 100],
];
const SELECTIONS: Array<Record<string, string[]>> = [{}, { tags: ['red'] }];

// On SQLite only: PostgreSQL searches have no search threads.
describe('sqlite', () => {
  const suite = serverWithSession('sqlite');
  const post = (service: string, params: Record<string, string>) => postForm(suite, service, params);
  const create = async (name: string, description: string, tags: string, more: Record<string, string> = {}) => {
    const response = await post('create', { folderPath: '/Order', name, description, tags, ...more });
    assert.equal(response.statusCode, 200, response.body);
  };

  before(async () => {
    // Upload dates in groups of four alike, going back in time now and then, so that they are out of rowid order.
    for (let index = 0; index < 60; index++) {
      if (index % 4 === 0) suite.server.clock.advance(index % 12 === 0 ? -7 * MINUTE : 3 * MINUTE);
      const words = [index % 3 !== 0 ? 'alpha' : '', index % 2 === 0 ? 'beta' : '', index % 5 === 0 ? 'gamma' : ''].join(' ');
      // Ratings and capture dates repeat too; some assets have none.
      const more: Record<string, string> = index % 6 === 0 ? {} : { rating: String((index % 7) - 1), created: `2020-0${1 + (index % 8)}-1${index % 3}` };
      // A quarter are Final, one is a Draft.
      if (index % 4 === 1) more.status = 'Final';
      if (index === 30) more.status = 'Draft';
      await create(`n${String(index).padStart(2, '0')}.jpg`, `${words} text`, index % 2 === 0 ? 'red' : 'blue', more);
    }
  });

  /** Every request, through a search thread's service (with `index`) and in SQL alone: the same hits, in the same order. */
  async function agree(index: FacetIndex, message: string): Promise<void> {
    const { database } = suite.server.app.damson;
    const inMemory = new SearchService(database, suite.server.clock, { facetIndex: index });
    const inSql = new SearchService(database, suite.server.clock);
    let compared = 0;
    for (const query of QUERIES) {
      for (const sort of SORTS) {
        for (const [start, num] of PAGES) {
          for (const selections of SELECTIONS) {
            // With facets or a selection the hits are found in memory; without, SQL pages them (the answer to agree with).
            for (const facets of [[], ['tags']]) {
              const request: SearchRequest = { query, start: start!, num: num!, sort, facets, selections };
              const [memory, expected] = [await inMemory.search(request), await inSql.search(request)];
              const label = `${message}: ${JSON.stringify(request)}`;
              assert.equal(memory.totalHits, expected.totalHits, label);
              assert.deepEqual(
                memory.assets.map(({ id }) => id),
                expected.assets.map(({ id }) => id),
                label,
              );
              compared += expected.assets.length;
            }
          }
        }
      }
    }
    assert.ok(compared > 1000, `only ${compared} hits compared`);
  }

  it('pages in upload order from memory exactly as SQL orders them, ties, offsets and directions included', async () => {
    const index = new FacetIndex();
    await agree(index, 'first');
    assert.ok(index.holdsUploadDates(), 'the pages were picked in memory');
    assert.ok(index.holdsNumbers('rating') && index.holdsNumbers('created'), 'the ranges were found in memory');
    assert.ok(index.has('tags') && index.has('status'), 'so were the exact values');
    await agree(index, 'again');
  });

  it('follows new, changed and removed assets', async () => {
    const index = new FacetIndex();
    await agree(index, 'before');
    // The newest and the oldest asset of all, one tied with others, removals and an update. SQLite gives the next
    // asset the rowid of the last one when that one was removed: late.jpg takes n59's, and must not take its date.
    assert.equal((await post('remove', { q: 'name:n59.jpg' })).statusCode, 200);
    suite.server.clock.advance(20 * MINUTE);
    await create('late.jpg', 'alpha beta gamma', 'red', { rating: '3', created: '2020-04-01' });
    suite.server.clock.advance(-200 * MINUTE);
    await create('early.jpg', 'alpha gamma', 'red', { rating: '5' });
    await create('early-too.jpg', 'alpha', 'blue', { created: '2020-06-30' });
    assert.equal((await post('remove', { q: 'name:n07.jpg OR name:n08.jpg' })).statusCode, 200);
    const updated = await post('updatebulk', { q: 'name:n09.jpg', metadata: JSON.stringify({ description: 'gamma only now', tags: ['+red'], rating: '4', created: '2020-03-01' }) });
    assert.equal(updated.statusCode, 200, updated.body);
    await agree(index, 'after the changes');
    const newest = await new SearchService(suite.server.app.damson.database, suite.server.clock, { facetIndex: index }).search({
      query: 'alpha',
      start: 0,
      num: 1,
      sort: [],
      facets: [],
      selections: {},
    });
    assert.equal(newest.assets[0]?.filename, 'late.jpg', 'the newest upload heads the default order');
  });

  it('reads the field of an exact value ANDed with more once the value alone has many hits, and leaves a rare one to SQL', async () => {
    const { database } = suite.server.app.damson;
    const index = new FacetIndex();
    const inMemory = new SearchService(database, suite.server.clock, { facetIndex: index });
    const inSql = new SearchService(database, suite.server.clock);
    const expectSame = async (query: string) => {
      const request: SearchRequest = { query, start: 0, num: 100, sort: [], facets: [], selections: {} };
      const [memory, expected] = [await inMemory.search(request), await inSql.search(request)];
      assert.ok(expected.totalHits > 0, query);
      assert.equal(memory.totalHits, expected.totalHits, query);
      assert.deepEqual(
        memory.assets.map(({ id }) => id),
        expected.assets.map(({ id }) => id),
        query,
      );
    };
    // Half the library is red, and one asset of about 60 a Draft (under 5%): tags is read whole, status left to SQL.
    await expectSame('tags:red status:Draft');
    assert.ok(index.has('tags') && !index.has('status'));
    await expectSame('status:Final alpha');
    assert.ok(index.has('status'));
    // A lone exact value stays in SQL, which finds it in its index as fast as a mask would.
    const alone = new FacetIndex();
    const aloneService = new SearchService(database, suite.server.clock, { facetIndex: alone });
    await aloneService.search({ query: 'tags:blue', start: 0, num: 10, sort: [], facets: [], selections: {} });
    assert.ok(!alone.has('tags'));
    // Nor does a word alone read the upload dates to pick its page from (seconds on a large library); once they are
    // held, its pages are picked in memory (the first test).
    await aloneService.search({ query: 'alph*', start: 0, num: 10, sort: [], facets: [], selections: {} });
    assert.ok(!alone.holdsUploadDates());
  });

  it('holds a few number fields at a time, the least recently used going first, and answers the same', async () => {
    const index = new FacetIndex();
    const { database } = suite.server.app.damson;
    const inMemory = new SearchService(database, suite.server.clock, { facetIndex: index });
    const inSql = new SearchService(database, suite.server.clock);
    const fields = ['rating', 'created', 'fileSize', 'assetCreated', 'assetModified', 'assetFileModified', 'versionNumber', 'rating'];
    for (const field of fields) {
      const upTo = ['created', 'assetCreated', 'assetModified', 'assetFileModified'].includes(field) ? '2040-01-01' : '1000000000';
      const request: SearchRequest = { query: `${field}:[* TO ${upTo}]`, start: 2, num: 9, sort: [], facets: [], selections: {} };
      const [memory, expected] = [await inMemory.search(request), await inSql.search(request)];
      assert.equal(memory.totalHits, expected.totalHits, request.query);
      assert.ok(expected.totalHits > 10, request.query);
      assert.deepEqual(
        memory.assets.map(({ id }) => id),
        expected.assets.map(({ id }) => id),
        request.query,
      );
      assert.ok(index.holdsNumbers(field), field);
    }
    // Six held: the seven fields' first (rating) went, and came back as the eighth; `created` was then the oldest.
    assert.ok(!index.holdsNumbers('created') && index.holdsNumbers('fileSize') && index.holdsNumbers('versionNumber'));
  });
});
