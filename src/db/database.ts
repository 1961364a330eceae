import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, type DialectAdapter, Kysely, PostgresDialect, SqliteAdapter, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** PostgreSQL: the schema Damson's tables are in (the connection's current schema). */
  schema?: string;
  /** SQLite: the database file, which other connections (search threads) may open. */
  file?: string;
  /**
   * Runs a compiled read outside Kysely's query machinery: for the few lookups made on every request (see
   * prepareRead). It sees committed data only, never another request's transaction in progress. Its rows may be
   * shared between callers: read them, never change them.
   */
  readCommitted<Row>(query: CompiledQuery<Row>): Promise<Row[]>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL connections this process keeps at most (default 10). */
  databasePoolSize?: number;
}

const PG_INT8_OID = 20;

/** Opens the configured store and migrates it: PostgreSQL when a URL is given, else SQLite in the data dir. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const handle = options.databaseUrl ? openPostgres(options.databaseUrl, options.databasePoolSize ?? 10) : openSqlite(options.dataDir);
  try {
    const schema = handle.dialect === 'postgres' ? await currentSchema(handle.db) : undefined;
    await migrateToLatest(handle.db as Kysely<unknown>, handle.dialect, schema);
    if (schema) handle.schema = schema;
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** Page cache of the main connection: SQLite's default of 2 MiB rereads pages of a large library on every search. */
const SQLITE_CACHE_KIB = 64 * 1024;

/** The settings of Damson's main SQLite connection (the search benchmark opens its direct connection with them too). */
export function configureSqlite(sqlite: SQLite.Database): void {
  // WAL lets readers proceed during a write; synchronous=FULL makes every acknowledged commit durable.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // At 1,000,000 assets: a term query repeated 2.9 → 2.4 ms, a keyword query's p95 45 → 33 ms.
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
}

/**
 * SQLite runs schema changes in transactions, but Kysely's adapter says it does not, and so its migrator ran them
 * without one: a start killed during a migration (0008 takes 81 s at 1,000,000 assets) left it half done, and
 * every later start failed on what it had created. With this adapter all pending migrations and their
 * bookkeeping commit together, or not at all.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class MigratingSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

function openSqlite(dataDir: string): DatabaseHandle {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'damson.sqlite');
  const sqlite = new SQLite(file);
  configureSqlite(sqlite);
  const db = new Kysely<Database>({ dialect: new MigratingSqliteDialect({ database: withStatementCache(sqlite) }) });
  const reader = openCommittedReader(file);
  return {
    db,
    dialect: 'sqlite',
    file,
    readCommitted: async (query) => reader.read(query),
    close: async () => {
      reader.close();
      await db.destroy();
    },
  };
}

/**
 * A read-only connection to an SQLite database file that Damson's main connection has already migrated, for
 * reads made off the main thread (search threads). Its statements see committed data only.
 */
export function openSqliteReader(file: string): DatabaseHandle {
  const sqlite = new SQLite(file, { fileMustExist: true });
  sqlite.pragma('query_only = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    file,
    readCommitted: async (query) => (await db.executeQuery(query)).rows,
    close: () => db.destroy(),
  };
}

/** Answers readCommitted keeps between two commits (one per live token and per user at most, in practice). */
const REMEMBERED_ANSWERS = 10_000;

/**
 * readCommitted on SQLite. A connection of its own: on the main one a read would run inside whatever transaction
 * another request has open; in WAL mode this one sees every committed write at once and never waits for a writer.
 * Answers are remembered until the database changes: `PRAGMA data_version` moves whenever another connection
 * commits (this process's writer, a CLI command, another process), so a remembered answer is always what the
 * query would return now. That makes it for deterministic reads only, which prepared lookups are.
 */
function openCommittedReader(file: string) {
  const reader = new SQLite(file);
  reader.pragma('query_only = ON');
  reader.pragma('busy_timeout = 5000');
  const statements = withStatementCache(reader);
  const dataVersion = reader.prepare('PRAGMA data_version').pluck();
  let answersOfVersion: unknown;
  const answers = new Map<string, readonly unknown[]>();
  return {
    read<Row>(query: CompiledQuery<Row>): Row[] {
      const version = dataVersion.get();
      if (version !== answersOfVersion || answers.size >= REMEMBERED_ANSWERS) {
        answers.clear();
        answersOfVersion = version;
      }
      const key = JSON.stringify([query.sql, query.parameters]);
      let rows = answers.get(key);
      if (!rows) {
        // Frozen: every caller gets the same rows.
        rows = Object.freeze(statements.prepare(query.sql).all(query.parameters as unknown[]).map((row) => Object.freeze(row)));
        answers.set(key, rows);
      }
      return rows as Row[];
    },
    close: () => reader.close(),
  };
}

/** Statements kept prepared: enough for every distinct query Damson sends, bounded for search's varied SQL. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew; preparing costs as much as running a small query. Prepared statements are
 * reused by SQL text instead (Damson never streams rows, so a statement is never busy when asked for again).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        // Most recently used last, so the first entry is the one to drop.
        statements.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      }
      statements.set(text, statement);
      return statement;
    },
  } as SqliteDatabase;
}

function openPostgres(connectionString: string, poolSize: number): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    // Times are epoch milliseconds in bigint columns: well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // Every pool connection is outside any transaction until Kysely hands it out, so a plain pool query reads committed data.
  const readCommitted = async <Row>(query: CompiledQuery<Row>) => (await pool.query(query.sql, query.parameters as unknown[])).rows as Row[];
  return { db, dialect: 'postgres', readCommitted, close: () => db.destroy() };
}

async function currentSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('PostgreSQL reports no current schema: check the search_path of DAMSON_DATABASE_URL');
  return schema;
}
