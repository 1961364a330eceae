import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { parseSort, SearchService } from '../../src/search/search-service.js';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';
import { type SeedAsset, seedLibrary } from './seed-library.js';

type SearchBody = {
  firstResult: number;
  maxResultHits: number;
  totalHits: number;
  hits: Array<{ id: string; thumbnailUrl?: string; originalUrl?: string; highlightedText?: string; metadata: Record<string, any> }>;
  facets: Record<string, Array<{ value: string; hitCount: number; selected: boolean }>>;
  errorcode?: number;
  message?: string;
};

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  let library: SeedAsset[];
  before(async () => {
    library = await seedLibrary(suite.server, suite.session, 120);
  });

  const search = async (params: Record<string, string>, method: 'GET' | 'POST' = 'GET') => {
    const response =
      method === 'GET'
        ? await suite.server.app.inject({ method, url: `/services/search?${new URLSearchParams(params)}`, headers: suite.session.cookieOnly })
        : await postForm(suite, 'search', params);
    return { status: response.statusCode, body: response.json() as SearchBody };
  };
  const names = (body: SearchBody) => body.hits.map((hit) => hit.metadata.filename as string);

  it('answers the Assets envelope; num defaults to 50, sort to assetCreated-desc', async () => {
    const { status, body } = await search({ q: '' });
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ['facets', 'firstResult', 'hits', 'maxResultHits', 'totalHits']);
    assert.equal(body.firstResult, 0);
    assert.equal(body.maxResultHits, 50);
    assert.equal(body.totalHits, library.length);
    assert.equal(body.hits.length, 50);
    const newestFirst = [...library].sort((a, b) => b.createdOrder - a.createdOrder).slice(0, 50).map((a) => a.name);
    assert.deepEqual(names(body), newestFirst);
    assert.match(body.hits[0]!.id, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(body.facets, {});
  });

  it('pages without gaps or repeats, on GET and POST alike', async () => {
    const seen: string[] = [];
    for (let start = 0; start < library.length; start += 25) {
      const { body } = await search({ q: '*:*', start: String(start), num: '25', sort: 'name' }, start % 50 === 0 ? 'GET' : 'POST');
      assert.equal(body.firstResult, start);
      seen.push(...names(body));
    }
    assert.deepEqual(seen, library.map((a) => a.name).sort());
    const beyond = await search({ q: '*:*', start: '5000' });
    assert.equal(beyond.body.hits.length, 0);
    assert.equal(beyond.body.totalHits, library.length, 'totalHits stays exact past the end');
  });

  it('never returns hits beyond position 10,000, and num=0 gives counts and facets only', async () => {
    const capped = await search({ q: '*:*', start: '9990', num: '50' });
    assert.equal(capped.status, 200);
    assert.equal(capped.body.hits.length, 0);
    const past = await search({ q: '*:*', start: '20000', num: '10' });
    assert.equal(past.body.hits.length, 0);
    const facetsOnly = await search({ q: '*:*', num: '0', facets: 'status' });
    assert.equal(facetsOnly.body.hits.length, 0);
    assert.equal(facetsOnly.body.totalHits, library.length);
    assert.equal(facetsOnly.body.facets.status!.reduce((sum, facet) => sum + facet.hitCount, 0), library.length);
    const badPaging: Array<Record<string, string>> = [{ num: '-1' }, { num: 'ten' }, { start: '-5' }, { num: '10001' }];
    for (const bad of badPaging) {
      const { status, body } = await search({ q: '*:*', ...bad });
      assert.equal(status, 400, JSON.stringify(bad));
      assert.equal(body.errorcode, 400);
    }
  });

  it('sorts on text, numbers and dates, with -asc/-desc and sensible defaults', async () => {
    const byName = await search({ q: '*:*', num: '1000', sort: 'name' });
    assert.deepEqual(names(byName.body), library.map((a) => a.name).sort());
    const byNameDesc = await search({ q: '*:*', num: '1000', sort: 'name-desc' });
    assert.deepEqual(names(byNameDesc.body), library.map((a) => a.name).sort().reverse());
    const ratings = (await search({ q: '*:*', num: '1000', sort: 'rating' })).body.hits.map((hit) => hit.metadata.rating as number);
    assert.deepEqual(ratings, [...ratings].sort((a, b) => b - a), 'numbers default to descending');
    const createdAsc = (await search({ q: '*:*', num: '1000', sort: 'created-asc' })).body.hits.map((hit) => hit.metadata.created.value as number);
    assert.deepEqual(createdAsc, [...createdAsc].sort((a, b) => a - b));
    const statusThenName = (await search({ q: '*:*', num: '1000', sort: 'status,name-desc' })).body;
    const expected = [...library].sort((a, b) => a.status.localeCompare(b.status) || b.name.localeCompare(a.name)).map((a) => a.name);
    assert.deepEqual(names(statusThenName), expected);
    const titles = (await search({ q: '*:*', num: '1000', sort: 'title' })).body.hits.map((hit) => hit.metadata.title as string | undefined);
    const firstMissing = titles.findIndex((title) => title === undefined);
    assert.ok(titles.slice(firstMissing).every((title) => title === undefined), 'assets without the field sort last');
    assert.equal((await search({ q: '*:*', sort: 'relevance' })).status, 200);
    assert.equal((await search({ q: '*:*', sort: 'nosuchfield' })).status, 400);
    // Text defaults to ascending, and -desc reverses it (id had no sort column: both came out the same).
    const ids = async (sort: string) => (await search({ q: '*:*', num: '1000', sort })).body.hits.map((hit) => hit.id);
    const idsAscending = await ids('id');
    assert.deepEqual(await ids('id-desc'), [...idsAscending].reverse());
  });

  it('matches id wildcards with the case they are written in, as ids are case-sensitive', async () => {
    const asset = library.find((a) => /[a-zA-Z]/.test(a.id.slice(0, 6)))!;
    const prefix = asset.id.slice(0, 6);
    const swapped = [...prefix].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    const found = async (q: string) => (await search({ q, num: '1000' })).body.hits.map((hit) => hit.id);
    assert.ok((await found(`id:${prefix}*`)).includes(asset.id));
    assert.ok(!(await found(`id:${swapped}*`)).includes(asset.id), `id:${swapped}* must not find ${asset.id}`);
    assert.deepEqual(await found(`id:${asset.id.slice(0, -1)}?`), [asset.id]);
  });

  it('computes facets with selections, and a field\'s own selection does not narrow its counts', async () => {
    const { body } = await search({ q: '*:*', num: '1000', facets: 'tags,status', 'facet.status.selection': 'Final,Draft' });
    const selectedStatus = library.filter((a) => a.status === 'Final' || a.status === 'Draft');
    assert.equal(body.totalHits, selectedStatus.length);
    const status = Object.fromEntries(body.facets.status!.map((facet) => [facet.value, facet]));
    for (const value of ['Draft', 'Production', 'Final']) {
      assert.equal(status[value]!.hitCount, library.filter((a) => a.status === value).length, value);
      assert.equal(status[value]!.selected, value !== 'Production');
    }
    for (const facet of body.facets.tags!) {
      assert.equal(facet.hitCount, selectedStatus.filter((a) => a.tags.includes(facet.value)).length, facet.value);
      assert.equal(facet.selected, false);
    }
    const counts = body.facets.tags!.map((facet) => facet.hitCount);
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'most frequent first');
    const narrowed = await search({ q: 'tags:sea', num: '0', facets: 'status' });
    assert.equal(narrowed.body.facets.status!.reduce((sum, facet) => sum + facet.hitCount, 0), library.filter((a) => a.tags.includes('sea')).length);
  });

  it('accepts the JSON AssetSearch body', async () => {
    const response = await suite.server.app.inject({
      method: 'POST',
      url: '/services/search',
      headers: { ...suite.session.headers, 'content-type': 'application/json' },
      payload: {
        firstResult: 0,
        maxResultHits: 5,
        sorting: [{ field: 'name', descending: true }],
        query: { QueryStringQuery: { queryString: 'tags:sea' } },
        metadataToReturn: ['filename', 'tags'],
        facets: { status: { field: 'status', selection: { values: ['Final'], notValues: [], operation: 'AND' } } },
      },
    });
    const body = response.json() as SearchBody;
    assert.equal(response.statusCode, 200);
    const expected = library.filter((a) => a.tags.includes('sea') && a.status === 'Final').map((a) => a.name).sort().reverse();
    assert.equal(body.totalHits, expected.length);
    assert.deepEqual(names(body), expected.slice(0, 5));
    assert.deepEqual(Object.keys(body.hits[0]!.metadata).sort(), ['filename', 'tags']);
    assert.ok(body.facets.status!.some((facet) => facet.value === 'Final' && facet.selected));

    const post = (payload: object) => suite.server.app.inject({ method: 'POST', url: '/services/search', headers: { ...suite.session.headers, 'content-type': 'application/json' }, payload });
    // Another query type would otherwise match everything; an empty metadataToReturn is the minimal set, as a parameter.
    for (const query of [{ TermQuery: { name: 'tags', value: 'sea' } }, 'tags:sea']) assert.equal((await post({ query })).statusCode, 400, JSON.stringify(query));
    const minimal = (await post({ query: { QueryStringQuery: { queryString: 'tags:sea' } }, metadataToReturn: [] })).json() as SearchBody;
    assert.deepEqual(Object.keys(minimal.hits[0]!.metadata).sort(), ['assetDomain', 'assetPath', 'assetType', 'filename']);
    const listed = (await post({ query: { QueryStringQuery: { queryString: 'tags:sea' } }, metadataToReturn: 'filename,status' })).json() as SearchBody;
    assert.deepEqual(Object.keys(listed.hits[0]!.metadata).sort(), ['filename', 'status'], 'a list written as a string');
    // returnHits and returnFacets turn either part off; the count stays.
    const seaCount = library.filter((a) => a.tags.includes('sea')).length;
    const countsOnly = (await post({ query: { QueryStringQuery: { queryString: 'tags:sea' } }, facets: { status: { field: 'status' } }, returnHits: false })).json() as SearchBody;
    assert.equal(countsOnly.totalHits, seaCount);
    assert.deepEqual(countsOnly.hits, []);
    assert.ok(countsOnly.facets.status!.length > 0);
    const hitsOnly = (await post({ query: { QueryStringQuery: { queryString: 'tags:sea' } }, facets: { status: { field: 'status' } }, returnFacets: false })).json() as SearchBody;
    assert.ok(hitsOnly.hits.length > 0);
    assert.deepEqual(hitsOnly.facets, {});
    // What Damson cannot do is refused, not ignored (which would answer with the wrong hits).
    const excluded = await post({ query: { QueryStringQuery: { queryString: 'tags:sea' } }, facets: { status: { field: 'status', selection: { values: [], notValues: ['Final'] } } } });
    assert.equal(excluded.statusCode, 400);
    assert.match(excluded.json().message, /notValues is not supported/);
    const all = await post({ query: { QueryStringQuery: { queryString: '*:*' } }, facets: { tags: { field: 'tags', selection: { values: ['sea', 'boats'], operation: 'AND' } } } });
    assert.equal(all.statusCode, 400);
    // So is a member of the wrong type, and a body that is no AssetSearch object.
    const sea = { QueryStringQuery: { queryString: 'tags:sea' } };
    const misshapen: unknown[] = [
      { query: sea, sorting: 'name' },
      { query: sea, sorting: [{ field: 'name', descending: 'yes' }] },
      { query: sea, sorting: [{ descending: true }] },
      { query: sea, facets: ['status'] },
      { query: sea, facets: { status: 'status' } },
      { query: sea, facets: { status: { field: 'status', selection: { values: 'Final' } } } },
      { query: sea, facets: { status: { field: 'status', selection: { values: [{ value: 'Final' }] } } } },
      [],
      'tags:sea',
      null,
    ];
    for (const payload of misshapen) {
      const refused = await suite.server.app.inject({ method: 'POST', url: '/services/search', headers: { ...suite.session.headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
      assert.equal(refused.statusCode, 400, JSON.stringify(payload));
      assert.equal(refused.json().errorcode, 400);
    }
    // A JSON body of parameters stays one, metadataToReturn and facets included; one that mixes both forms is refused.
    const asParameters = await post({ q: 'tags:sea', metadataToReturn: 'name', facets: 'status' });
    assert.equal(asParameters.statusCode, 200, asParameters.body);
    assert.equal((asParameters.json() as SearchBody).totalHits, library.filter((a) => a.tags.includes('sea')).length);
    assert.deepEqual(Object.keys((asParameters.json() as SearchBody).hits[0]!.metadata), ['name']);
    assert.equal((await post({ q: 'tags:sea', query: { QueryStringQuery: { queryString: '*:*' } } })).statusCode, 400);
    // Any AssetSearch member makes the body the request: maxResultHits alone is not ignored for the URL's parameters.
    const paged = await suite.server.app.inject({ method: 'POST', url: '/services/search?q=tags:sea&num=3', headers: { ...suite.session.headers, 'content-type': 'application/json' }, payload: { maxResultHits: 0 } });
    assert.equal(paged.statusCode, 200);
    assert.deepEqual((paged.json() as SearchBody).hits, []);
  });

  it('sees changes at once: an update is found by its new tag and no longer by the old one', async () => {
    const target = library[7]!;
    const response = await postForm(suite, 'update', { id: target.id, metadata: JSON.stringify({ tags: ['+freshtag'], description: 'Renamed scenery' }) });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(names((await search({ q: 'tags:freshtag' })).body), [target.name]);
    assert.deepEqual(names((await search({ q: 'scenery' })).body), [target.name]);
    assert.ok(!names((await search({ q: `"${target.description}"`, num: '1000' })).body).includes(target.name));
  });

  it('highlights the query words in a snippet, HTML-escaped, unless asked not to', async () => {
    const { body } = await search({ q: 'rainbow', num: '3' });
    assert.ok(body.hits.length > 0);
    for (const hit of body.hits) assert.match(String(hit.highlightedText), /^A \w+ at \w+ with a <em>rainbow<\/em>$/);
    const plain = await search({ q: 'rainbow', num: '3', returnHighlightedText: 'false' });
    assert.ok(plain.body.hits.every((hit) => !('highlightedText' in hit)));
    await postForm(suite, 'create', { folderPath: '/Hl', name: 'x.jpg', description: '<img src=x onerror=alert(1)> sunflower' });
    const escaped = (await search({ q: 'sunflower' })).body.hits[0]!;
    assert.equal(escaped.highlightedText, '&#60;img src=x onerror=alert(1)&#62; <em>sunflower</em>');
  });

  it('requires a login, and POST a CSRF token', async () => {
    assert.equal((await suite.server.app.inject({ method: 'GET', url: '/services/search?q=*:*' })).statusCode, 401);
    assert.equal((await suite.server.app.inject({ method: 'POST', url: '/services/search?q=*:*', headers: suite.session.cookieOnly })).statusCode, 403);
  });

  // Last: it adds assets to the library.
  it('sorts on a number page by page, walking its index or collecting the hits alike, with assets lacking it last', async () => {
    for (const name of ['unrated-1.jpg', 'unrated-2.jpg', 'unrated-3.jpg']) {
      const response = await postForm(suite, 'create', { folderPath: '/Photos/2021', name, description: 'A harbour at noon' });
      assert.equal(response.statusCode, 200, response.body);
    }
    const plans = (['collect', 'walk'] as const).map((pageForm) => new SearchService(suite.server.app.damson.database, suite.server.clock, { pageForm }));
    for (const query of ['*:*', 'harbour', 'folderPath:"/Photos/2021"']) {
      for (const sort of ['rating', 'rating-asc', 'created-asc']) {
        const all = (await plans[0]!.search({ query, start: 0, num: 1000, sort: parseSort(sort), facets: [], selections: {} })).assets;
        const values = all.map((asset) => (sort.startsWith('rating') ? asset.metadata.rating : asset.metadata.created) as number | undefined);
        const rated = values.filter((value) => value !== undefined);
        assert.deepEqual(rated, [...rated].sort((a, b) => (sort === 'rating' ? b - a : a - b)), `${query} ${sort}`);
        assert.ok(values.slice(rated.length).every((value) => value === undefined), 'assets without the field come last');
        for (const [start, num] of [[0, 7], [7, 7], [rated.length - 2, 5], [all.length - 1, 5]]) {
          const pages = await Promise.all(plans.map(async (plan) => (await plan.search({ query, start: start!, num: num!, sort: parseSort(sort), facets: [], selections: {} })).assets.map((asset) => asset.id)));
          assert.deepEqual(pages[1], pages[0], `${query} sort=${sort} start=${start}`);
          assert.deepEqual(pages[0], all.slice(start, start! + num!).map((asset) => asset.id));
        }
      }
    }
    assert.equal((await search({ q: 'harbour', num: '1000', sort: 'rating' })).body.hits.slice(-3).every((hit) => hit.metadata.rating === undefined), true);
  });
});
