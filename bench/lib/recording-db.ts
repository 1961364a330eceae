/**
 * A Kysely instance that compiles statements for a real dialect and records them instead of running them: the
 * exact SQL (and parameters) Damson's stores would send, without a database. Every statement "succeeds" with no
 * rows and one affected row.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { DatabaseHandle, DialectName } from '../../src/db/database.js';
import type { Database } from '../../src/db/schema.js';

class RecordingConnection implements DatabaseConnection {
  readonly queries: CompiledQuery[] = [];

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    this.queries.push(compiledQuery);
    return { rows: [], numAffectedRows: 1n };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the recording connection does not stream');
  }
}

class RecordingDriver implements Driver {
  readonly connection = new RecordingConnection();
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection;
  }
  async beginTransaction(): Promise<void> {}
  async commitTransaction(): Promise<void> {}
  async rollbackTransaction(): Promise<void> {}
  async releaseConnection(): Promise<void> {}
  async destroy(): Promise<void> {}
}

export interface RecordingDatabase {
  /** Hand it to a store or service as if it were the real database. */
  handle: DatabaseHandle;
  /** The statements recorded since the last call, in order. */
  take(): CompiledQuery[];
}

export function recordingDatabase(dialect: DialectName): RecordingDatabase {
  const driver = new RecordingDriver();
  const db = new Kysely<Database>({
    dialect:
      dialect === 'sqlite'
        ? {
            createAdapter: () => new SqliteAdapter(),
            createDriver: () => driver,
            createIntrospector: (kysely) => new SqliteIntrospector(kysely),
            createQueryCompiler: () => new SqliteQueryCompiler(),
          }
        : {
            createAdapter: () => new PostgresAdapter(),
            createDriver: () => driver,
            createIntrospector: (kysely) => new PostgresIntrospector(kysely),
            createQueryCompiler: () => new PostgresQueryCompiler(),
          },
  });
  return {
    handle: { db, dialect, close: () => db.destroy() },
    take: () => driver.connection.queries.splice(0),
  };
}
