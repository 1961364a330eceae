import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessService } from '../../src/processes/process-service.js';
import { createUser, forEachDialect, login, PASSWORD, postForm, serverWithSession } from '../helpers/server.js';
import { type SeedAsset, seedLibrary } from './seed-library.js';

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  let library: SeedAsset[];
  before(async () => {
    library = await seedLibrary(suite.server, suite.session, 60);
  });

  const call = async (service: string, params: Record<string, string>, headers = suite.session.headers) => {
    const response = await postForm(suite, service, params, headers);
    return { status: response.statusCode, body: response.json() };
  };
  const count = async (q: string) => (await call('search', { q, num: '0' })).body.totalHits as number;
  const waitForProcess = async (processId: string) => {
    for (let i = 0; i < 200; i++) {
      const { body } = await call('process/info', { processId });
      if (body.status !== 'running') return body;
      await sleep(25);
    }
    throw new Error('the process did not finish');
  };

  it('updatebulk applies a metadata change to every match and reports the counts', async () => {
    const matches = library.filter((a) => a.status === 'Draft');
    const { status, body } = await call('updatebulk', { q: 'status:Draft', metadata: JSON.stringify({ tags: ['+reviewed'], cf_batch: 'one' }) });
    assert.equal(status, 200);
    assert.deepEqual(body, { processedCount: matches.length, errorCount: 0 });
    assert.equal(await count('tags:reviewed'), matches.length);
    assert.equal(await count('tags:reviewed AND status:Draft'), matches.length);
    assert.equal(await count('cf_batch:one'), matches.length);
    // The + modification kept every other tag.
    const withSea = matches.filter((a) => a.tags.includes('sea')).length;
    assert.equal(await count('tags:sea AND tags:reviewed'), withSea);
    assert.deepEqual((await call('updatebulk', { q: 'status:Draft', rating: '5' })).body, { processedCount: matches.length, errorCount: 0 }, 'field parameters work too');
    assert.equal(await count('rating:5 AND status:Draft'), matches.length);
  });

  it('updatebulk by id: a JSON array of {id, metadata}, answered with the updated assets; checked whole first', async () => {
    const post = (payload: unknown) =>
      suite.server.app.inject({ method: 'POST', url: '/services/updatebulk', headers: { ...suite.session.headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    const [first, second] = [library[1]!, library[2]!];
    const response = await post([
      { id: first.id, metadata: { cf_byid: 'one' } },
      { id: second.id, metadata: { cf_byid: 'two', tags: ['+byid'] } },
    ]);
    assert.equal(response.statusCode, 200, response.body);
    const answer = response.json() as Array<{ id: string; metadata: Record<string, unknown> }>;
    assert.deepEqual(answer.map((hit) => [hit.id, hit.metadata.cf_byid]), [[first.id, 'one'], [second.id, 'two']]);
    assert.deepEqual(answer[1]!.metadata.tags, [...second.tags, 'byid'], 'modifications apply as in update');
    assert.equal(await count('cf_byid:one OR cf_byid:two'), 2);

    // One unknown id or bad entry: nothing changes.
    for (const [payload, status] of [
      [[{ id: first.id, metadata: { cf_byid: 'changed' } }, { id: 'AAAAAAAAAAAAAAAAAAAAAA', metadata: { cf_byid: 'x' } }], 404],
      [[{ id: first.id, metadata: { cf_byid: 'changed' } }, { id: second.id, metadata: { nosuch: 1 } }], 400],
      [[{ id: first.id, metadata: { cf_byid: 'changed' } }, { id: second.id }], 400],
      [[], 400],
    ] as const) {
      assert.equal((await post(payload)).statusCode, status, JSON.stringify(payload));
    }
    assert.equal(await count('cf_byid:changed'), 0);
  });

  it('refuses bad bulk requests before touching anything', async () => {
    const before = await count('tags:never');
    for (const [params, message] of [
      [{ metadata: JSON.stringify({ tags: ['never'] }) }, /q is required/],
      [{ q: '*:*' }, /Nothing to update/],
      [{ q: '*:*', metadata: JSON.stringify({ nosuch: 1 }) }, /Unknown metadata field/],
      [{ q: '*:*', folderPath: '/x' }, /move/],
      [{ q: 'tags:(', metadata: JSON.stringify({ tags: ['never'] }) }, /syntax/],
    ] as const) {
      const { status, body } = await call('updatebulk', params);
      assert.equal(status, 400, JSON.stringify(params));
      assert.match(body.message, message);
    }
    assert.equal(await count('tags:never'), before);
  });

  it('async=true returns a processId whose progress process/info reports, for its owner only', async () => {
    const { body } = await call('updatebulk', { q: '*:*', async: 'true', metadata: JSON.stringify({ cf_async: 'yes' }) });
    assert.match(body.processId, /^[A-Za-z0-9_-]{22}$/);
    const finished = await waitForProcess(body.processId);
    assert.equal(finished.status, 'done');
    assert.equal(finished.processedCount, library.length);
    assert.equal(finished.totalCount, library.length);
    assert.equal(finished.cancelable, false);
    assert.equal(await count('cf_async:yes'), library.length);

    const stranger = await login(suite.server, (await createUser(suite.server)).username, PASSWORD);
    assert.equal((await call('process/info', { processId: body.processId }, stranger.headers)).status, 403);
    assert.equal((await call('process/info', { processId: 'x'.repeat(22) })).status, 404);
    assert.equal((await call('process/info', {})).status, 400);
  });

  it('process/cancel on a finished process changes nothing', async () => {
    const { body } = await call('updatebulk', { q: 'status:Final', async: 'true', metadata: JSON.stringify({ cf_late: 'x' }) });
    await waitForProcess(body.processId);
    const cancelled = await call('process/cancel', { processId: body.processId });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'done');
    assert.equal(cancelled.body.cancelable, false);
  });
});

// Registered after the suites above: a suite registered before a top-level await can end the run before
// the awaited suites exist (with --test-force-exit they would silently never run).
describe('ProcessService', () => {
  it('cancel stops the work between two items and reports what was done', async () => {
    const processes = new ProcessService({ now: () => Date.now() });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const id = processes.start('ann', 10, async (progress) => {
      for (let item = 0; item < 10; item++) {
        if (progress.cancelled) return;
        if (item === 3) await gate;
        progress.processed();
      }
    });
    const caller = { username: 'ann', superuser: false };
    await sleep(10);
    assert.equal(processes.info(id, caller).status, 'running');
    assert.equal(processes.info(id, caller).processedCount, 3);
    assert.equal(processes.cancel(id, caller).status, 'cancelled');
    release();
    await sleep(10);
    const info = processes.info(id, caller);
    assert.equal(info.status, 'cancelled');
    assert.equal(info.processedCount, 4, 'the item in hand finishes; no further item starts');
    assert.equal(info.cancelable, false);
    assert.equal(processes.info(id, { username: 'root', superuser: true }).processId, id, 'a super user may look');
    assert.throws(() => processes.info(id, { username: 'bob', superuser: false }), /Only the user/);
  });
});
