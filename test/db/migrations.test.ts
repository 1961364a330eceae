import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { openDatabase } from '../../src/db/database.js';
import { parseSort, SearchService } from '../../src/search/search-service.js';
import { createUser, login, PASSWORD, startServer } from '../helpers/server.js';

/** SQLite migrations commit whole or not at all, so a start that fails (or is killed) halfway can be retried. */
describe('migrations (SQLite)', () => {
  it('leaves no trace of a migration that fails halfway, and the next start runs it', async () => {
    const server = await startServer('sqlite');
    const { dataDir } = server;
    const { username } = await createUser(server);
    const session = await login(server, username, PASSWORD);
    const created = await server.app.inject({
      method: 'POST',
      url: '/services/create',
      headers: { ...session.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ assetPath: '/Trips/harbour.jpg', description: 'Boats by the harbour' }).toString(),
    });
    assert.equal(created.statusCode, 200, created.body);
    await server.app.close();

    // A library from before migration 0008, with a view on the full-text table: 0008 rebuilds that table and
    // replaces it, and renaming the new one fails on the view that still names the old one, after the new table
    // was created and filled and the old one dropped.
    const file = join(dataDir, 'damson.sqlite');
    const raw = new SQLite(file);
    raw.exec(`DELETE FROM kysely_migration WHERE name >= '0008'; DROP TRIGGER assets_removed_from_search; DROP TABLE search_changes;
      CREATE VIEW text_view AS SELECT content FROM asset_text;`);
    raw.close();
    await assert.rejects(openDatabase({ dataDir, databaseUrl: undefined }), /0008_words_keep_letter_marks failed/);

    const after = new SQLite(file);
    const fullTextTables = after.prepare(`SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'`).pluck().all();
    assert.deepEqual(fullTextTables, ['asset_text'], 'the new table is gone and the old one is back');
    assert.equal(after.prepare('SELECT COUNT(*) FROM asset_text').pluck().get(), 1);
    assert.equal(after.prepare(`SELECT COUNT(*) FROM kysely_migration WHERE name = '0008_words_keep_letter_marks'`).pluck().get(), 0);
    after.exec('DROP VIEW text_view');
    after.close();

    const database = await openDatabase({ dataDir, databaseUrl: undefined });
    try {
      const search = (query: string) => new SearchService(database, { now: () => Date.now() }).search({ query, start: 0, num: 10, sort: parseSort(undefined), facets: [], selections: {} });
      assert.equal((await search('harbour')).totalHits, 1);
      assert.equal((await search('boats')).totalHits, 1);
    } finally {
      await database.close();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
});
