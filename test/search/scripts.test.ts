import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';
import { indexEntries } from '../../src/search/index-entries.js';
import { SearchService } from '../../src/search/search-service.js';
import { forEachDialect, postForm, serverWithSession } from '../helpers/server.js';

/**
 * Text beyond Latin: accents fold (café = cafe, Ελληνικά = ελληνικα, vowel points of Arabic and Hebrew), while
 * marks that are letters stay (Devanagari's vowel signs: किताब is not कतब). Full text, field words and
 * highlights agree, on both stores; migration 0008 brings a library indexed the old way (every mark dropped) to it.
 */
const ASSETS = [
  { name: 'book.jpg', description: 'किताब और नमस्ते दुनिया' },
  { name: 'kutub.jpg', description: 'कतब' },
  { name: 'arabic.jpg', description: 'كِتَاب جميل' },
  { name: 'hebrew.jpg', description: 'שָׁלוֹם עולם' },
  { name: 'greek.jpg', description: 'Ελληνικά νησιά' },
  { name: 'thai.jpg', description: 'ภาษาไทย สวัสดี' },
  { name: 'decomposed.jpg', description: 'cafe\u0301 au lait' },
];

/** Query → the names it must find, exactly. */
const EXPECTED: Array<[string, string[]]> = [
  ['किताब', ['book.jpg']],
  ['कतब', ['kutub.jpg']],
  ['description:नमस्ते', ['book.jpg']],
  ['"नमस्ते दुनिया"', ['book.jpg']],
  ['كتاب', ['arabic.jpg']],
  ['كِتَاب', ['arabic.jpg']],
  ['שלום', ['hebrew.jpg']],
  ['ελληνικα', ['greek.jpg']],
  ['ΕΛΛΗΝΙΚΆ', ['greek.jpg']],
  ['description:ελληνικά', ['greek.jpg']],
  ['สวัสดี', ['thai.jpg']],
  ['café', ['decomposed.jpg']],
  ['cafe', ['decomposed.jpg']],
];

await forEachDialect((dialect) => {
  const suite = serverWithSession(dialect);
  const search = async (q: string, extra: Record<string, string> = {}) => {
    const response = await postForm(suite, 'search', { q: `folderPath:"/Scripts" AND (${q})`, ...extra });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { hits: Array<{ metadata: { filename: string }; highlightedText?: string }> };
  };
  const names = async (q: string) => (await search(q)).hits.map((hit) => hit.metadata.filename).sort();
  const expectAll = async () => {
    for (const [q, expected] of EXPECTED) assert.deepEqual(await names(q), expected, q);
  };

  it('finds words of every script, folding accents but not letters', async () => {
    for (const asset of ASSETS) {
      const response = await postForm(suite, 'create', { assetPath: `/Scripts/${asset.name}`, description: asset.description });
      assert.equal(response.statusCode, 200, response.body);
    }
    await expectAll();
  });

  it('highlights whole words with their marks', async () => {
    const [hit] = (await search('किताब')).hits;
    assert.equal(hit?.highlightedText, '<em>किताब</em> और नमस्ते दुनिया');
    const [decomposed] = (await search('cafe')).hits;
    assert.equal(decomposed?.highlightedText, '<em>cafe\u0301</em> au lait');
  });

  it('migration 0008 reindexes a library written with every mark dropped', async () => {
    const { server } = suite;
    const database = await openDatabase({ dataDir: server.dataDir, databaseUrl: server.databaseUrl });
    try {
      // As Damson wrote it before: token rows and full text folded with every mark dropped; on SQLite the raw
      // text in an FTS5 table with its own tokenizer.
      const oldWords = (text: string) => text.toLowerCase().normalize('NFKD').replace(/\p{M}/gu, '').match(/[\p{L}\p{N}]+/gu) ?? [];
      const tokens = await sql<{ value_key: string }>`SELECT DISTINCT value_key FROM asset_values WHERE is_token = 1`.execute(database.db);
      for (const { value_key: key } of tokens.rows) {
        await sql`UPDATE asset_values SET value_key = ${oldWords(key).join(' ')} WHERE is_token = 1 AND value_key = ${key}`.execute(database.db);
      }
      const rows = await sql<{ id: string; rowid: number }>`SELECT id, ${sql.raw(dialect === 'sqlite' ? 'rowid' : '0')} AS rowid FROM assets`.execute(database.db);
      if (dialect === 'sqlite') {
        await sql`DROP TABLE asset_text`.execute(database.db);
        await sql`CREATE VIRTUAL TABLE asset_text USING fts5(content, tokenize = 'unicode61 remove_diacritics 2')`.execute(database.db);
      }
      for (const row of rows.rows) {
        const asset = (await server.app.damson.assetStore.findById(row.id))!;
        const { text } = indexEntries(asset);
        if (dialect === 'sqlite') await sql`INSERT INTO asset_text (rowid, content) VALUES (${row.rowid}, ${text})`.execute(database.db);
        else await sql`UPDATE asset_text SET content = ${oldWords(text).join(' ')} WHERE asset_id = ${row.id}`.execute(database.db);
      }
      // From before 0008, and so before 0009 (SQLite's search change log) too.
      await sql`DELETE FROM kysely_migration WHERE name >= '0008'`.execute(database.db);
      if (dialect === 'sqlite') await sql`DROP TRIGGER assets_removed_from_search`.execute(database.db);
      if (dialect === 'sqlite') await sql`DROP TABLE search_changes`.execute(database.db);
    } finally {
      await database.close();
    }
    // Asked of the old index itself: a search thread's facet index reads the change log, which this state predates.
    const oldIndex = await new SearchService(server.app.damson.database, server.clock).search({ query: 'description:किताब', start: 0, num: 0, sort: [], facets: [], selections: {} });
    assert.equal(oldIndex.totalHits, 0, 'the old index holds कतब for किताब');

    const migrated = await openDatabase({ dataDir: server.dataDir, databaseUrl: server.databaseUrl });
    await migrated.close();
    // What the next start does: assets whose words changed were unindexed by the migration.
    assert.equal(await server.app.damson.assets.reindexMissing(), 2, 'the Hindi and the Thai description');
    await expectAll();
  });
});
