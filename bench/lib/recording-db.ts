/**
 * A Kysely instance that compiles statements for a real dialect and records them: the exact SQL (and parameters)
 * Damson's stores send. Without a database every statement "succeeds" with no rows and one affected row; with
 * one (`passThrough`) each also runs there and answers its real rows, so that code which decides its next
 * statement from an answer (the search's page plan depends on the count) records what it really sends.
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

  constructor(private readonly passThrough?: Kysely<Database>) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    this.queries.push(compiledQuery);
    if (this.passThrough) return this.passThrough.executeQuery<R>(compiledQuery);
    return { rows: [], numAffectedRows: 1n };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the recording connection does not stream');
  }
}

class RecordingDriver implements Driver {
  readonly connection: RecordingConnection;
  constructor(passThrough?: Kysely<Database>) {
    this.connection = new RecordingConnection(passThrough);
  }
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

export function recordingDatabase(dialect: DialectName, passThrough?: Kysely<Database>): RecordingDatabase {
  const driver = new RecordingDriver(passThrough);
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
    handle: { db, dialect, readCommitted: async (query) => (await db.executeQuery(query)).rows, close: () => db.destroy() },
    take: () => driver.connection.queries.splice(0),
  };
}
