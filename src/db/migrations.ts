import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { words } from '../search/index-entries.js';
import { fullTextContent } from '../search/search-index-store.js';
import type { DialectName } from './database.js';

/**
 * Migrations are code, kept in order by their names. Each one uses only types both dialects share
 * (text, integer, bigint), so one list serves SQLite and PostgreSQL.
 */
/** Changes the search change log keeps (migration 0009). */
export const SEARCH_CHANGES_KEPT = 100_000;

const migrationsFor = (dialect: DialectName): Record<string, Migration> => ({
  '0001_users_and_auth': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('username', 'text', (column) => column.notNull())
        .addColumn('username_key', 'text', (column) => column.notNull().unique())
        .addColumn('full_name', 'text')
        .addColumn('email', 'text')
        .addColumn('groups', 'text', (column) => column.notNull().defaultTo('[]'))
        .addColumn('authorities', 'text', (column) => column.notNull().defaultTo('[]'))
        .addColumn('enabled', 'integer', (column) => column.notNull().defaultTo(1))
        .addColumn('password_hash', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('auth_tokens')
        .addColumn('token_hash', 'text', (column) => column.primaryKey())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
        .addColumn('csrf_hash', 'text')
        .addColumn('client_type', 'text')
        .addColumn('client_id', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('last_seen_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('auth_tokens_user_id').on('auth_tokens').column('user_id').execute();

      await db.schema
        .createTable('login_failures')
        .addColumn('key', 'text', (column) => column.primaryKey())
        .addColumn('failures', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('window_started_at', 'bigint', (column) => column.notNull())
        .execute();
    },
  },
  '0002_assets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (column) => column.primaryKey())
        .addColumn('value', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('folders')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('path', 'text', (column) => column.notNull())
        .addColumn('path_key', 'text', (column) => column.notNull().unique())
        .addColumn('parent_path', 'text')
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('created_by', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('assets')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('asset_path', 'text', (column) => column.notNull())
        .addColumn('asset_path_key', 'text', (column) => column.notNull().unique())
        .addColumn('folder_path', 'text', (column) => column.notNull())
        .addColumn('filename', 'text', (column) => column.notNull())
        .addColumn('extension', 'text', (column) => column.notNull())
        .addColumn('asset_domain', 'text', (column) => column.notNull())
        .addColumn('mime_type', 'text', (column) => column.notNull())
        .addColumn('blob_key', 'text')
        .addColumn('file_size', 'bigint', (column) => column.notNull())
        .addColumn('sha256', 'text')
        .addColumn('version_number', 'integer', (column) => column.notNull())
        .addColumn('content_etag', 'integer', (column) => column.notNull())
        .addColumn('preview_etag', 'integer', (column) => column.notNull())
        .addColumn('preview_state', 'text', (column) => column.notNull())
        .addColumn('thumbnail_state', 'text', (column) => column.notNull())
        .addColumn('rendition_error', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('modified_at', 'bigint', (column) => column.notNull())
        .addColumn('file_modified_at', 'bigint', (column) => column.notNull())
        .addColumn('creator', 'text', (column) => column.notNull())
        .addColumn('modifier', 'text', (column) => column.notNull())
        .addColumn('file_modifier', 'text', (column) => column.notNull())
        .addColumn('metadata', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('assets_folder_path').on('assets').column('folder_path').execute();
      await db.schema.createIndex('assets_blob_key').on('assets').column('blob_key').execute();

      await db.schema
        .createTable('asset_versions')
        .addColumn('asset_id', 'text', (column) => column.notNull().references('assets.id').onDelete('cascade'))
        .addColumn('version_number', 'integer', (column) => column.notNull())
        .addColumn('blob_key', 'text')
        .addColumn('file_size', 'bigint', (column) => column.notNull())
        .addColumn('sha256', 'text')
        .addColumn('filename', 'text', (column) => column.notNull())
        .addColumn('mime_type', 'text', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('created_by', 'text', (column) => column.notNull())
        .addColumn('metadata', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('asset_versions_pk', ['asset_id', 'version_number'])
        .execute();

      await db.schema
        .createTable('renditions')
        .addColumn('asset_id', 'text', (column) => column.notNull().references('assets.id').onDelete('cascade'))
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('content_etag', 'integer', (column) => column.notNull())
        .addColumn('blob_key', 'text', (column) => column.notNull())
        .addColumn('mime_type', 'text', (column) => column.notNull())
        .addColumn('file_size', 'bigint', (column) => column.notNull())
        .addColumn('width', 'integer', (column) => column.notNull())
        .addColumn('height', 'integer', (column) => column.notNull())
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addPrimaryKeyConstraint('renditions_pk', ['asset_id', 'name'])
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('type', 'text', (column) => column.notNull())
        .addColumn('asset_id', 'text')
        .addColumn('payload', 'text', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('attempts', 'integer', (column) => column.notNull())
        .addColumn('run_after', 'bigint', (column) => column.notNull())
        .addColumn('lease_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (column) => column.notNull())
        .addColumn('updated_at', 'bigint', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('jobs_state_run_after').on('jobs').columns(['state', 'run_after']).execute();
    },
  },
  '0003_search_index': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('asset_values')
        .addColumn('asset_id', 'text', (column) => column.notNull().references('assets.id').onDelete('cascade'))
        .addColumn('field', 'text', (column) => column.notNull())
        .addColumn('value_key', 'text')
        .addColumn('value_text', 'text')
        .addColumn('value_num', 'double precision')
        .addColumn('is_token', 'integer', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('asset_values_key').on('asset_values').columns(['field', 'value_key', 'asset_id']).execute();
      await db.schema.createIndex('asset_values_num').on('asset_values').columns(['field', 'value_num', 'asset_id']).execute();
      await db.schema.createIndex('asset_values_asset').on('asset_values').columns(['asset_id', 'field']).execute();
      await db.schema.createIndex('assets_created_at').on('assets').columns(['created_at', 'id']).execute();
      // Full text: FTS5 keyed by the assets rowid in SQLite; a generated tsvector with a GIN index in PostgreSQL.
      if (dialect === 'sqlite') {
        await sql`CREATE VIRTUAL TABLE asset_text USING fts5(content, tokenize = 'unicode61 remove_diacritics 2')`.execute(db);
      } else {
        await sql`CREATE TABLE asset_text (
          asset_id text PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
          content text NOT NULL,
          document tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED)`.execute(db);
        await sql`CREATE INDEX asset_text_document ON asset_text USING gin (document)`.execute(db);
      }
    },
  },
  '0004_assets_name_index': {
    async up(db: Kysely<unknown>) {
      // Sorting by name reads this index in order instead of sorting every hit (see SearchService.readPage).
      await sql`CREATE INDEX assets_name_key ON assets (lower(filename), id)`.execute(db);
    },
  },
  '0005_assets_id_created_index': {
    async up(db: Kysely<unknown>) {
      // Collecting hits found by asset id and sorting them by upload date reads this small index instead of each
      // hit's row (see SearchStore.pageInUploadOrder): ×7-13 for tens of thousands of hits at 1,000,000 assets.
      await db.schema.createIndex('assets_id_created').on('assets').columns(['id', 'created_at']).execute();
    },
  },
  '0006_asset_values_statistics': {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      // PostgreSQL estimates `field = 'rating' AND value_num BETWEEN 3 AND 5` as if field and value were
      // independent: from the value histogram of every field together, mostly dates. It guessed 79 rows for 37,491
      // and sorted every hit instead of walking the upload order (567 → 5.5 ms at 100,000 assets). Statistics on the
      // pairs give it each field's own common values; 1,000 of them for text, which has many fields and words.
      await sql`CREATE STATISTICS asset_values_field_num (mcv) ON field, value_num FROM asset_values`.execute(db);
      await sql`CREATE STATISTICS asset_values_field_key (mcv) ON field, value_key FROM asset_values`.execute(db);
      await sql`ALTER STATISTICS asset_values_field_key SET STATISTICS 1000`.execute(db);
      // Now, not at autovacuum's next visit: an existing library would be planned blind until then.
      await sql`ANALYZE asset_values`.execute(db);
    },
  },
  '0007_postgres_text_as_words': {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      // The full text is now written as Damson's words (see fullTextContent); existing rows are rewritten so.
      let after = '';
      for (;;) {
        const { rows } = await sql<{ asset_id: string; content: string }>`
          SELECT asset_id, content FROM asset_text WHERE asset_id > ${after} ORDER BY asset_id LIMIT 1000`.execute(db);
        if (rows.length === 0) break;
        const updates = rows.map((row) => sql`(${row.asset_id}, ${fullTextContent(row.content)})`);
        await sql`UPDATE asset_text SET content = v.content FROM (VALUES ${sql.join(updates)}) AS v(asset_id, content)
          WHERE asset_text.asset_id = v.asset_id`.execute(db);
        after = rows[rows.length - 1]!.asset_id;
      }
    },
  },
  '0008_words_keep_letter_marks': {
    async up(db: Kysely<unknown>) {
      // Words now keep the marks that are letters in their script (Devanagari's vowel signs, Thai's), where they
      // dropped every mark (see words). Assets whose words change lose their index rows, and the start reindexes
      // them through the usual write path (AssetService.reindexMissing). SQLite's full text becomes Damson's words
      // too, with a tokenizer that keeps marks inside words: its own split Hindi words and kept Greek accents.
      const changed: string[] = [];
      if (dialect === 'sqlite') {
        await sql`CREATE VIRTUAL TABLE asset_text_words USING fts5(content, tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'")`.execute(db);
        for (let after = -1; ; ) {
          const { rows } = await sql<{ rowid: number; id: string | null; content: string }>`
            SELECT t.rowid, a.id, t.content FROM asset_text t LEFT JOIN assets a ON a.rowid = t.rowid WHERE t.rowid > ${after} ORDER BY t.rowid LIMIT 2000`.execute(db);
          if (rows.length === 0) break;
          for (const row of rows) if (row.id !== null && wordsChanged(row.content)) changed.push(row.id);
          await sql`INSERT INTO asset_text_words (rowid, content) VALUES ${sql.join(rows.map((row) => sql`(${row.rowid}, ${fullTextContent(row.content)})`))}`.execute(db);
          after = rows[rows.length - 1]!.rowid;
        }
        await sql`DROP TABLE asset_text`.execute(db);
        await sql`ALTER TABLE asset_text_words RENAME TO asset_text`.execute(db);
      } else {
        // The full text holds folded words already; the whole values are still there to look at. Paged by asset,
        // so that no asset's values are split between two pages.
        const nonAscii = sql`is_token = 0 AND value_text ~ '[^[:ascii:]]'`;
        for (let after = ''; ; ) {
          const { rows: assets } = await sql<{ asset_id: string }>`
            SELECT DISTINCT asset_id FROM asset_values WHERE asset_id > ${after} AND ${nonAscii} ORDER BY asset_id LIMIT 1000`.execute(db);
          if (assets.length === 0) break;
          const ids = assets.map((row) => row.asset_id);
          const { rows } = await sql<{ asset_id: string; value_text: string }>`
            SELECT asset_id, value_text FROM asset_values WHERE asset_id IN (${sql.join(ids)}) AND ${nonAscii}`.execute(db);
          changed.push(...new Set(rows.filter((row) => wordsChanged(row.value_text)).map((row) => row.asset_id)));
          after = ids[ids.length - 1]!;
        }
      }
      for (let start = 0; start < changed.length; start += 500) {
        const ids = changed.slice(start, start + 500);
        await sql`DELETE FROM asset_values WHERE asset_id IN (${sql.join(ids)})`.execute(db);
        if (dialect === 'sqlite') await sql`DELETE FROM asset_text WHERE rowid IN (SELECT rowid FROM assets WHERE id IN (${sql.join(ids)}))`.execute(db);
        else await sql`DELETE FROM asset_text WHERE asset_id IN (${sql.join(ids)})`.execute(db);
      }
    },
  },
  '0009_search_changes': {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'sqlite') return;
      // Which assets' index rows changed, in commit order (SQLite has one writer at a time): the search threads'
      // facet indexes (FacetIndex) follow it instead of reading whole fields again. A removed asset's rows go with
      // it (a cascade), so its removal is written by a trigger. The log keeps its last 100,000 changes; a reader
      // further behind reads its fields again. PostgreSQL has no such log: its sequences are not in commit order.
      await sql`CREATE TABLE search_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, asset_rowid INTEGER NOT NULL)`.execute(db);
      await sql`CREATE TRIGGER search_changes_bounded AFTER INSERT ON search_changes
        BEGIN DELETE FROM search_changes WHERE seq <= NEW.seq - ${sql.lit(SEARCH_CHANGES_KEPT)}; END`.execute(db);
      await sql`CREATE TRIGGER assets_removed_from_search AFTER DELETE ON assets
        BEGIN INSERT INTO search_changes (asset_rowid) VALUES (OLD.rowid); END`.execute(db);
    },
  },
});

/** Whether a text's words differ from those the index was written with before migration 0008 (every mark dropped). */
function wordsChanged(text: string): boolean {
  if (/^[\x00-\x7f]*$/.test(text)) return false;
  const before = text.toLowerCase().normalize('NFKD').replace(/\p{M}/gu, '').match(/[\p{L}\p{N}]+/gu) ?? [];
  return before.join(' ') !== words(text).join(' ');
}


/**
 * Brings the schema up to date. Kysely takes a lock first, so several nodes may start at once. On PostgreSQL the
 * bookkeeping tables go into the connection's current schema: Kysely would otherwise find another schema's
 * tables of the same name and skip creating its own.
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: DialectName, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(dialect) };
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
