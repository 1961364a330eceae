import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { AssetService } from '../../src/assets/asset-service.js';
import { openDatabase } from '../../src/db/database.js';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);

  const post = async (service: string, params: Record<string, string>) => (await postForm(suite, service, params)).json();
  const hits = async (q: string) => ((await post('search', { q, num: '0' })) as { totalHits: number }).totalHits;

  it('indexes at start the assets that have no index rows (written before the index existed), and only those', async () => {
    const { id } = (await post('create', { folderPath: '/Old', name: 'lighthouse.jpg', description: 'A lighthouse at dusk' })) as { id: string };
    await post('create', { folderPath: '/Old', name: 'harbour.jpg' });
    assert.equal(await suite.server.app.damson.assets.reindexMissing(), 0, 'every asset is indexed: nothing to do');

    // What an asset written by a version before the search index looks like.
    const { db } = suite.server.app.damson.database;
    await db.deleteFrom('asset_values').where('asset_id', '=', id).execute();
    if (dialect === 'sqlite') await sql`DELETE FROM asset_text WHERE rowid = (SELECT rowid FROM assets WHERE id = ${id})`.execute(db);
    else await db.deleteFrom('asset_text').where('asset_id', '=', id).execute();
    assert.equal(await hits('lighthouse'), 0);
    assert.equal(await hits('folderPath:"/Old"'), 1);

    assert.equal(await suite.server.app.damson.assets.reindexMissing(), 1);
    assert.equal(await hits('lighthouse'), 1);
    assert.equal(await hits('folderPath:"/Old"'), 2);
    assert.equal(await suite.server.app.damson.assets.reindexMissing(), 0);
  });

  // Several nodes share a database on PostgreSQL only (SQLite has one), so the case is PostgreSQL's.
  if (dialect === 'postgres') it('reindexes each asset once when two nodes start at the same time', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 40; index++) ids.push(((await post('create', { folderPath: '/Twice', name: `t${index}.jpg`, rating: '3' })) as { id: string }).id);
    const { db } = suite.server.app.damson.database;
    await db.deleteFrom('asset_values').where('asset_id', 'in', ids).execute();
    // Two nodes: this server, and another process on the same database (its own connection).
    const other = await openDatabase({ dataDir: suite.server.dataDir, databaseUrl: suite.server.databaseUrl });
    try {
      const otherAssets = new AssetService(other, suite.server.clock, async () => ({}), undefined as never);
      const [mine, theirs] = await Promise.all([suite.server.app.damson.assets.reindexMissing(), otherAssets.reindexMissing()]);
      assert.equal(mine + theirs, 40, `${mine} + ${theirs}`);
    } finally {
      await other.close();
    }
    assert.equal(await hits('folderPath:"/Twice" AND rating:[3 TO 5]'), 40, 'no asset counted twice');
  });
});
