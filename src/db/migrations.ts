import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';

/**
 * Migrations are code, kept in order by their names. Each one uses only types both dialects share
 * (text, integer, bigint), so one list serves SQLite and PostgreSQL.
 */
const migrations: Record<string, Migration> = {
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
};

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/**
 * Brings the schema up to date. Kysely takes a lock first, so several nodes may start at once. On PostgreSQL the
 * bookkeeping tables go into the connection's current schema: Kysely would otherwise find another schema's
 * tables of the same name and skip creating its own.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
