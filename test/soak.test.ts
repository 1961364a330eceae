import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runSoak } from '../bench/soak.js';

// The short soak CI runs: a mixed workload from three clients must meet no error at all. (Memory growth is a
// figure of the longer run in BENCHMARKS.md: over a few seconds on a shared machine it would only be noise.)
it('a short mixed workload (search, upload, update, download, thumbnails, browse, move, remove) meets no error', async () => {
  const result = await runSoak({ seconds: 15, clients: 3, log: () => {} });
  assert.ok(result.requests > 100, `only ${result.requests} requests in 15 s`);
  assert.equal(result.errors, 0, result.errorExamples.join('\n'));
  assert.equal(result.serverErrorLines, 0, 'the server logged errors');
  for (const operation of ['search', 'upload', 'update', 'download', 'thumbnail', 'move', 'remove']) {
    assert.ok((result.byOperation[operation] ?? 0) > 0, `no ${operation} was tried`);
  }
});
