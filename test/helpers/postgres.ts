import pg from 'pg';

/** The PostgreSQL server the tests use; each test server gets a schema of its own in it. */
export const TEST_POSTGRES_URL = process.env.DAMSON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let availability: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers, else the reason it does not. */
export function postgresUnavailableReason(): Promise<string | undefined> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${TEST_POSTGRES_URL.replace(/\/\/[^@]*@/, '//')} is not reachable: ${(error as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return availability;
}

export async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty schema and returns a connection URL whose search_path points at it. */
export async function createTestSchema(name: string): Promise<string> {
  await withPostgres((client) => client.query(`CREATE SCHEMA "${name}"`));
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return url.href;
}

export async function dropTestSchema(name: string): Promise<void> {
  await withPostgres((client) => client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`));
}
