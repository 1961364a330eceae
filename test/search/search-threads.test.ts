import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateCatalogue, openAssetWriter } from '../../bench/lib/search-writer.js';
import { openDatabase } from '../../src/db/database.js';
import { SearchThreads } from '../../src/http/search-threads.js';
import { systemClock } from '../../src/lib/clock.js';
import type { DamsonError } from '../../src/lib/errors.js';
import { parseSort, SearchService } from '../../src/search/search-service.js';
import { createUser, login, PASSWORD, postForm, type Session, startServer, type TestServer } from '../helpers/server.js';

/**
 * Searches on SQLite run on threads of their own (SearchThreads): a slow one must not hold up the server, and the
 * answers must be the ones SearchService gives in the server's own thread.
 */
const ASSETS = 10_000;
/** Facets on every field the generated catalogue fills, over every asset, sorted by a custom field: a slow search here. */
const SLOW_SEARCH = { q: '*:*', num: '50', facets: 'tags,status,rating,creatorName,copyright,cf_client,cf_project,cf_region', sort: 'cf_project' };

describe('search threads (SQLite)', () => {
  let server: TestServer;
  let session: Session;
  before(async () => {
    server = await startServer('sqlite');
    // A library big enough for a slow search, written as Damson writes assets (the search benchmark's generator).
    const writer = await openAssetWriter({ dialect: 'sqlite', dataDir: server.dataDir, databaseUrl: undefined });
    try {
      await generateCatalogue({ seed: 7, count: ASSETS, batchSize: 2000, dialect: 'sqlite', writer });
    } finally {
      await writer.close();
    }
    const { username } = await createUser(server);
    session = await login(server, username, PASSWORD);
  });
  after(() => server?.close());

  const search = (params: Record<string, string>) => postForm({ server, session }, 'search', params);

  it('answers other requests while a slow search runs', async () => {
    // A quick search starts a thread; then the slow one once alone, on that thread, to know how long it takes.
    assert.equal((await search({ q: 'summer' })).statusCode, 200);
    await search(SLOW_SEARCH);
    let begin = performance.now();
    const alone = await search(SLOW_SEARCH);
    assert.equal(alone.statusCode, 200, alone.body);
    const slowMs = performance.now() - begin;

    const finished: string[] = [];
    begin = performance.now();
    const slow = search(SLOW_SEARCH).then((response) => {
      finished.push('search');
      return response;
    });
    // Well inside the search: on the server's own thread this timer could not even fire before the search ended.
    await sleep(slowMs / 20);
    const health = await server.app.inject({ method: 'GET', url: '/healthz' });
    finished.push('healthz');
    assert.equal(health.statusCode, 200);
    assert.equal((await slow).statusCode, 200);
    assert.deepEqual(finished, ['healthz', 'search'], `the search took ${Math.round(slowMs)} ms alone, ${Math.round(performance.now() - begin)} ms here`);
  });

  it('gives the answers SearchService gives, with date math on the server clock', async () => {
    // Ten years on: NOW in a query is the server's clock (which the test moves), not the thread's.
    server.clock.advance(10 * 365 * 86_400_000);
    session = await login(server, (await createUser(server)).username, PASSWORD);
    const handle = await openDatabase({ dataDir: server.dataDir, databaseUrl: undefined });
    try {
      const direct = new SearchService(handle, server.clock);
      const queries = ['summer', 'tags:* AND rating:[3 TO 5]', 'created:[NOW-20YEARS TO NOW-9YEARS]', '-status:Final', 'ancestorPaths:"/Clients"'];
      for (const q of queries) {
        const response = await search({ q, num: '20', facets: 'status,rating', sort: 'name' });
        assert.equal(response.statusCode, 200, response.body);
        const answer = response.json() as { totalHits: number; hits: Array<{ id: string }>; facets: Record<string, unknown> };
        const expected = await direct.search({ query: q, start: 0, num: 20, sort: parseSort('name'), facets: ['status', 'rating'], selections: {} });
        assert.equal(answer.totalHits, expected.totalHits, q);
        assert.deepEqual(
          answer.hits.map((hit) => hit.id),
          expected.assets.map((asset) => asset.id),
          q,
        );
        assert.deepEqual(answer.facets, expected.facets, q);
      }
      // The date query tells the clocks apart: on the machine's clock it finds other assets.
      const dated = 'created:[NOW-20YEARS TO NOW-9YEARS]';
      const onServerClock = await direct.search({ query: dated, start: 0, num: 0, sort: parseSort(undefined), facets: [], selections: {} });
      const onSystemClock = await new SearchService(handle, systemClock).search({ query: dated, start: 0, num: 0, sort: parseSort(undefined), facets: [], selections: {} });
      assert.notEqual(onServerClock.totalHits, onSystemClock.totalHits);
    } finally {
      await handle.close();
    }
  });

  it('sees a write as soon as it is acknowledged, and reports a bad query as a 400', async () => {
    const created = await postForm({ server, session }, 'create', { assetPath: '/Threads/zyxwvut-marker.jpg' });
    assert.equal(created.statusCode, 200, created.body);
    const found = await search({ q: 'zyxwvut' });
    assert.equal((found.json() as { totalHits: number }).totalHits, 1);

    const bad = await search({ q: 'tags:(sea' });
    assert.equal(bad.statusCode, 400);
    assert.equal((bad.json() as { errorcode: number }).errorcode, 400);
  });

  it('signs hit URLs for appendRequestSecret with the server key and clock', async () => {
    const response = await search({ q: '*:*', num: '5', appendRequestSecret: 'true' });
    assert.equal(response.statusCode, 200, response.body);
    const url = new URL((response.json() as { hits: Array<{ thumbnailUrl?: string }> }).hits.find((hit) => hit.thumbnailUrl)!.thumbnailUrl!);
    assert.match(url.search, /requestSecret=/);
    // No session: the secret alone lets the request past authentication (the generated asset has no file: 404).
    const opened = await server.app.inject({ method: 'GET', url: url.pathname + url.search });
    assert.equal(opened.statusCode, 404, opened.body);
    const tampered = await server.app.inject({ method: 'GET', url: url.pathname.replace('/thumbnail/', '/thumbnail/x') + url.search });
    assert.equal(tampered.statusCode, 401);
  });

  it('drops a search whose client has gone while it waits for a thread, and runs the next one', async () => {
    const threads = new SearchThreads({ file: join(server.dataDir, 'damson.sqlite'), requestSecretMs: 60_000 }, 1, server.clock);
    try {
      const shape = { baseUrl: 'http://damson.test', metadataToReturn: undefined, highlighting: false, sign: false };
      const request = (query: string, sort?: string, facets: string[] = []) => ({ query, start: 0, num: 10, sort: parseSort(sort), facets, selections: {} });
      let slowDone = false;
      const slow = threads.answer(request(SLOW_SEARCH.q, SLOW_SEARCH.sort, SLOW_SEARCH.facets.split(',')), shape).finally(() => {
        slowDone = true;
      });
      const leaving = new AbortController();
      const abandoned = threads.answer(request('summer'), shape, leaving.signal);
      const next = threads.answer(request('summer'), shape);
      leaving.abort();
      await assert.rejects(abandoned, (error: DamsonError) => error.status === 499);
      assert.equal(slowDone, false, 'dropped while the only thread was still busy');
      assert.equal((JSON.parse((await next).toString('utf8')) as { totalHits: number }).totalHits > 0, true);
      await slow;
    } finally {
      await threads.close();
    }
  });
});
