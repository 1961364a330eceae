/**
 * Writes generated assets into a Damson database fast, without changing what is stored.
 *
 * The rows come from Damson's own code: every asset goes through `AssetStore.ensureFolders`, `AssetStore.insert`
 * and `writeSearchIndex` (which calls `indexEntries`), exactly as `AssetService.create` does. Those calls run
 * against a recording Kysely instance that compiles each statement for the real dialect and keeps the SQL with
 * its parameters instead of executing it; the recorded statements are then executed in big transactions:
 *
 * - SQLite: one better-sqlite3 connection with cached prepared statements (Kysely prepares every statement anew
 *   and awaits between them, which at 60+ index rows per asset is most of the cost);
 * - PostgreSQL: inserts of the same shape are merged into multi-row INSERTs (one round trip per few thousand
 *   rows instead of one per statement); the `DELETE … WHERE asset_id = $1` of a reindex is skipped, since a new
 *   asset has nothing to delete.
 *
 * Only the generating connection is tuned (SQLite: synchronous=OFF and a large page cache; these are per
 * connection and change nothing in the file's contents or schema).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { type Asset, AssetStore } from '../../src/assets/asset-store.js';
import type { DialectName } from '../../src/db/database.js';
import { startThread } from '../../src/lib/threads.js';
import { writeSearchIndex } from '../../src/search/search-index-store.js';
import type { RecordingDatabase } from './recording-db.js';
import type { GenerateWorkerAnswer, GenerateWorkerData } from './search-generate-worker.js';

/** A recorded statement, as sent to the database (and across threads). */
export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

export interface AssetWriter {
  /** Runs the statements recorded for a batch of assets (`recordAssets`) in one transaction. */
  execute(statements: readonly Statement[]): Promise<void>;
  /**
   * Recreates the search-index indexes dropped at open (`deferIndexes`), from their own definitions as the
   * migrations created them; returns the seconds it took.
   */
  finish(): Promise<number>;
  /** Statements recorded and rows written so far. */
  stats(): { statements: number; indexRows: number };
  close(): Promise<void>;
}

const ASSET_INSERT = /^insert into "assets" /i;
const VALUES_INSERT = /^insert into "asset_values" /i;
/** The first statement of a reindex; it deletes nothing for a new asset. */
const REINDEX_DELETE = /^delete from "asset_values" where "asset_id" = (\?|\$1)$/i;

/**
 * The statements Damson's code runs to create `assets` (what AssetService.create does in its transaction:
 * ensureFolders, insert, writeSearchIndex); folders are ensured once per folder path (`folders` remembers them).
 */
export async function recordAssets(recording: RecordingDatabase, assets: readonly Asset[], folders: Set<string>): Promise<Statement[]> {
  const { db, dialect } = recording.handle;
  const store = new AssetStore(db);
  for (const asset of assets) {
    if (!folders.has(asset.folderPath)) {
      await store.ensureFolders(asset.folderPath, asset.creator, asset.createdAt);
      folders.add(asset.folderPath);
    }
    await store.insert(asset);
    await writeSearchIndex(db, dialect, asset);
  }
  return recording.take().map((query) => ({ sql: query.sql, parameters: query.parameters }));
}

/** The tables whose secondary indexes are dropped during a bulk load and rebuilt after it. */
const DEFERRED_TABLES = ['asset_values'];

export async function openAssetWriter(options: {
  dialect: DialectName;
  dataDir: string;
  databaseUrl: string | undefined;
  cacheMiB?: number;
  /**
   * Drop the indexes of asset_values first and rebuild them in `finish` (one sort each instead of 60+ B-tree
   * insertions per asset): the same indexes, made from the definitions the database reports, in far less time.
   */
  deferIndexes?: boolean;
}): Promise<AssetWriter> {
  let statements = 0;
  let indexRows = 0;
  const countRows = (query: Statement) => {
    if (VALUES_INSERT.test(query.sql)) indexRows += query.parameters.length / 6;
  };

  if (options.dialect === 'sqlite') {
    const sqlite = new SQLite(join(options.dataDir, 'damson.sqlite'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = OFF');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`cache_size = -${(options.cacheMiB ?? 1024) * 1024}`);
    const deferred = options.deferIndexes
      ? (sqlite
          .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${DEFERRED_TABLES.map(() => '?').join(', ')})`)
          .all(...DEFERRED_TABLES) as Array<{ name: string; sql: string }>)
      : [];
    for (const index of deferred) sqlite.exec(`DROP INDEX "${index.name}"`);
    const prepared = new Map<string, SQLite.Statement>();
    const statement = (text: string) => {
      let found = prepared.get(text);
      if (!found) {
        found = sqlite.prepare(text);
        prepared.set(text, found);
      }
      return found;
    };
    return {
      async execute(queries) {
        sqlite.transaction(() => {
          for (const query of queries) {
            // Without its index this no-op (a new asset has no index rows yet) would scan the whole table.
            if (deferred.length > 0 && REINDEX_DELETE.test(query.sql)) continue;
            const result = statement(query.sql).run(...(query.parameters as unknown[]));
            if (ASSET_INSERT.test(query.sql) && result.changes !== 1) throw new Error(`asset row not written (path taken?): ${String(query.parameters[1])}`);
            countRows(query);
          }
        })();
        statements += queries.length;
      },
      async finish() {
        const start = performance.now();
        for (const index of deferred.splice(0)) sqlite.exec(index.sql);
        return (performance.now() - start) / 1000;
      },
      stats: () => ({ statements, indexRows }),
      async close() {
        if (deferred.length > 0) throw new Error('the search index indexes were not rebuilt: call finish() before close()');
        sqlite.pragma('wal_checkpoint(TRUNCATE)');
        sqlite.close();
      },
    };
  }

  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  const deferred = options.deferIndexes
    ? (
        await client.query<{ name: string; sql: string }>(
          `SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i
           JOIN pg_index x ON x.indexrelid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
           WHERE i.schemaname = current_schema() AND i.tablename = ANY($1) AND NOT x.indisprimary AND NOT x.indisunique`,
          [DEFERRED_TABLES],
        )
      ).rows
    : [];
  for (const index of deferred) await client.query(`DROP INDEX "${index.name}"`);
  return {
    async execute(queries) {
      await client.query('BEGIN');
      try {
        // Folders, then assets, then their index rows and texts (the foreign keys need this order).
        for (const batch of mergeInserts(queries)) {
          const result = await client.query(batch.sql, batch.parameters as unknown[]);
          if (ASSET_INSERT.test(batch.sql) && result.rowCount !== batch.rows) throw new Error(`${batch.rows - (result.rowCount ?? 0)} asset row(s) not written (path taken?)`);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      for (const query of queries) countRows(query);
      statements += queries.length;
    },
    async finish() {
      const start = performance.now();
      await client.query(`SET maintenance_work_mem = '512MB'`);
      for (const index of deferred.splice(0)) await client.query(index.sql);
      return (performance.now() - start) / 1000;
    },
    stats: () => ({ statements, indexRows }),
    async close() {
      if (deferred.length > 0) throw new Error('the search index indexes were not rebuilt: call finish() before close()');
      await client.end();
    },
  };
}

/** PostgreSQL's limit is 65,535 bind parameters per statement. */
const MAX_PARAMETERS = 60_000;

/**
 * Recorded PostgreSQL statements grouped by shape: `insert into X (cols) values (...), (...) [tail]` statements
 * with the same head and tail become multi-row inserts (parameters renumbered); reindex deletes keyed by one
 * asset id are dropped (a new asset has no rows yet); anything else stays as it is. Shapes keep the order in
 * which they first appeared (folders, assets, index rows, texts).
 */
function mergeInserts(queries: readonly Statement[]): Array<{ sql: string; parameters: readonly unknown[]; rows: number }> {
  const groups = new Map<string, { head: string; tail: string; tuples: string[][]; parameters: unknown[][] }>();
  const others: Array<{ sql: string; parameters: readonly unknown[]; rows: number }> = [];
  for (const query of queries) {
    if (REINDEX_DELETE.test(query.sql)) continue;
    const match = /^(insert into .+? values\s*)(.+?)(\s+on conflict .*)?$/is.exec(query.sql);
    if (!match) {
      others.push({ sql: query.sql, parameters: query.parameters, rows: 1 });
      continue;
    }
    const [, head, body, tail = ''] = match as unknown as [string, string, string, string | undefined];
    const tuples = body.match(/\((?:\$\d+(?:, )?)+\)/g);
    if (!tuples || tuples.join(', ') !== body) {
      others.push({ sql: query.sql, parameters: query.parameters, rows: 1 });
      continue;
    }
    const key = `${head}\u0000${tail}`;
    let group = groups.get(key);
    if (!group) {
      group = { head, tail, tuples: [], parameters: [] };
      groups.set(key, group);
    }
    let index = 0;
    for (const tuple of tuples) {
      const count = tuple.split('$').length - 1;
      group.parameters.push(query.parameters.slice(index, index + count) as unknown[]);
      index += count;
    }
  }
  const merged: Array<{ sql: string; parameters: readonly unknown[]; rows: number }> = [];
  for (const group of groups.values()) {
    for (let start = 0; start < group.parameters.length; ) {
      const parameters: unknown[] = [];
      const tuples: string[] = [];
      let end = start;
      while (end < group.parameters.length && parameters.length + group.parameters[end]!.length <= MAX_PARAMETERS) {
        const row = group.parameters[end]!;
        tuples.push(`(${row.map((_, i) => `$${parameters.length + i + 1}`).join(', ')})`);
        parameters.push(...row);
        end++;
      }
      merged.push({ sql: `${group.head}${tuples.join(', ')}${group.tail}`, parameters, rows: end - start });
      start = end;
    }
  }
  return [...merged, ...others];
}

const GENERATE_WORKER = pathToFileURL(join(import.meta.dirname, 'search-generate-worker.ts'));

/**
 * Generates `count` assets of the catalogue with `seed` and writes them through `writer`: a worker thread makes
 * and records batch n + 1 while this thread executes batch n. Returns the phrases the worker saw.
 */
export async function generateCatalogue(options: {
  seed: number;
  count: number;
  batchSize: number;
  dialect: DialectName;
  writer: AssetWriter;
  onBatch?: (written: number) => void;
}): Promise<Map<string, number>> {
  const worker = startThread(GENERATE_WORKER, {
    execArgv: [],
    workerData: { seed: options.seed, count: options.count, batchSize: options.batchSize, dialect: options.dialect } satisfies GenerateWorkerData,
  });
  const answers: GenerateWorkerAnswer[] = [];
  let waiting: ((answer: GenerateWorkerAnswer) => void) | undefined;
  let failure: Error | undefined;
  let rejectWaiting: ((error: Error) => void) | undefined;
  worker.on('message', (answer: GenerateWorkerAnswer) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(answer);
    } else answers.push(answer);
  });
  const fail = (error: Error) => {
    failure = error;
    rejectWaiting?.(error);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the generator thread exited (code ${code})`)));
  const nextAnswer = () =>
    new Promise<GenerateWorkerAnswer>((resolve, reject) => {
      if (failure) return reject(failure);
      const queued = answers.shift();
      if (queued) return resolve(queued);
      waiting = resolve;
      rejectWaiting = reject;
    });
  try {
    worker.postMessage('next');
    let written = 0;
    for (;;) {
      const answer = await nextAnswer();
      if (answer.kind === 'done') return new Map(answer.phrases);
      // Ask for the next batch before running this one, so that both threads work.
      worker.postMessage('next');
      await options.writer.execute(answer.statements);
      written += answer.assets;
      options.onBatch?.(written);
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}
