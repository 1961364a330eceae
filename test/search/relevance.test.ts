import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';

/** Uploaded oldest first: recency alone would list them the other way round. */
const ASSETS: Array<{ name: string; description: string; status: string }> = [
  { name: 'one.jpg', description: 'harbour harbour harbour', status: 'Draft' },
  { name: 'two.jpg', description: 'harbour at dusk', status: 'Draft' },
  { name: 'three.jpg', description: 'a long walk past mountains, rivers, forests and fields, then once a harbour far away', status: 'Draft' },
  { name: 'four.jpg', description: 'nothing to see', status: 'Final' },
  { name: 'five.jpg', description: 'nothing here either', status: 'Draft' },
];

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  before(async () => {
    for (const asset of ASSETS) {
      suite.server.clock.advance(1000);
      const response = await postForm(suite, 'create', { folderPath: '/Relevance', name: asset.name, metadata: JSON.stringify({ description: asset.description, status: asset.status }) });
      assert.equal(response.statusCode, 200, response.body);
    }
  });

  const names = async (params: Record<string, string>) => {
    const response = await suite.server.app.inject({ method: 'GET', url: `/services/search?${new URLSearchParams({ metadataToReturn: 'filename', ...params })}`, headers: suite.session.cookieOnly });
    assert.equal(response.statusCode, 200, response.body);
    return (response.json() as { hits: Array<{ metadata: { filename: string } }> }).hits.map((hit) => hit.metadata.filename);
  };

  it('sorts by relevance: the best matches first, then those found otherwise, ties by recency', async () => {
    assert.deepEqual(await names({ q: 'harbour' }), ['three.jpg', 'two.jpg', 'one.jpg'], 'the default sort is recency');
    assert.deepEqual(await names({ q: 'harbour', sort: 'relevance' }), ['one.jpg', 'two.jpg', 'three.jpg']);
    assert.deepEqual(await names({ q: 'harbour', sort: 'relevance', start: '1', num: '1' }), ['two.jpg'], 'pages follow the same order');
    // A hit that matches no word of the query (found by its status) comes after those that do.
    assert.deepEqual(await names({ q: 'harbour OR status:Final', sort: 'relevance' }), ['one.jpg', 'two.jpg', 'three.jpg', 'four.jpg']);
    assert.deepEqual(await names({ q: 'dusk OR harbour', sort: 'relevance' }).then((hits) => hits[0]), 'two.jpg', 'matching more words ranks higher');
    // Words under NOT do not score; without words to score, relevance is recency.
    assert.deepEqual(await names({ q: 'harbour -dusk', sort: 'relevance' }), ['one.jpg', 'three.jpg']);
    assert.deepEqual(await names({ q: 'status:Draft', sort: 'relevance' }), ['five.jpg', 'three.jpg', 'two.jpg', 'one.jpg']);
  });
});
