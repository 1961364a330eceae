import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';
import { createUser, login, postForm, type Session, startServer, type TestServer } from '../helpers/server.js';
import { postgresUnavailableReason } from '../helpers/postgres.js';

// Migration 0007 rewrites the full text of a library indexed before PostgreSQL got Damson's words.
const unavailable = await postgresUnavailableReason();
if (unavailable && process.env.CI === 'true') throw new Error(`${unavailable} (required under CI=true)`);

describe('postgres', { skip: unavailable ?? false }, () => {
  let server: TestServer;
  let session: Session;
  before(async () => {
    server = await startServer('postgres');
    const user = await createUser(server);
    session = await login(server, user.username, user.password);
  });
  after(() => server?.close());

  it('rewrites full text written as raw text, so that accents and file names match as on SQLite', async () => {
    const search = async (q: string) =>
      (await server.app.inject({ method: 'GET', url: `/services/search?q=${encodeURIComponent(q)}&num=0`, headers: session.cookieOnly })).json().totalHits as number;
    const created = await postForm({ server, session }, 'create', { assetPath: '/Menu/forest-001.jpg', description: 'Crème brûlée at the Café' });
    assert.equal(created.statusCode, 200);
    assert.equal(await search('cafe'), 1);
    assert.equal(await search('001'), 1);

    // As an older Damson wrote it: the raw text, and migration 0007 not yet run.
    const database = await openDatabase({ dataDir: server.dataDir, databaseUrl: server.databaseUrl });
    try {
      await sql`UPDATE asset_text SET content = ${'forest-001.jpg\nCrème brûlée at the Café'}`.execute(database.db);
      // 0007 and the migrations after it, which run again in order.
      await sql`DELETE FROM kysely_migration WHERE name >= '0007_postgres_text_as_words'`.execute(database.db);
    } finally {
      await database.close();
    }
    assert.equal(await search('cafe'), 0, 'the raw text keeps its accents');
    assert.equal(await search('001'), 0, 'and its file name whole');

    const migrated = await openDatabase({ dataDir: server.dataDir, databaseUrl: server.databaseUrl });
    try {
      const { rows } = await sql<{ content: string }>`SELECT content FROM asset_text`.execute(migrated.db);
      assert.deepEqual(rows.map((row) => row.content), ['forest 001 jpg creme brulee at the cafe']);
    } finally {
      await migrated.close();
    }
    assert.equal(await search('cafe'), 1);
    assert.equal(await search('café'), 1);
    assert.equal(await search('001'), 1);
  });
});
