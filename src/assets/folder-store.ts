import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { folderChain } from './paths.js';

export interface FolderEntry {
  path: string;
  name: string;
}

export interface AssetEntry {
  id: string;
  assetPath: string;
  filename: string;
  extension: string;
}

/** Folder records and the removal of assets and folders. I/O only. */
export class FolderStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  async exists(path: string): Promise<boolean> {
    if (path === '/') return true;
    return (await this.db.selectFrom('folders').select('id').where('path_key', '=', path.toLowerCase()).executeTakeFirst()) !== undefined;
  }

  /** The stored spelling of a folder path (paths match regardless of case). */
  async canonicalPath(path: string): Promise<string | undefined> {
    if (path === '/') return '/';
    return (await this.db.selectFrom('folders').select('path').where('path_key', '=', path.toLowerCase()).executeTakeFirst())?.path;
  }

  /**
   * A folder path as it is to be stored: the part that exists keeps the existing folders' spelling, the rest is
   * as given. Paths match in any case, and one folder's children must all spell its path alike (`/m/New` beside
   * an existing `/M` is `/M/New`).
   */
  async storedSpelling(path: string): Promise<string> {
    const chain = folderChain(path);
    if (chain.length === 0) return '/';
    const rows = await this.db.selectFrom('folders').select(['path', 'path_key']).where('path_key', 'in', chain.map((folder) => folder.toLowerCase())).execute();
    const stored = new Map(rows.map((row) => [row.path_key, row.path]));
    const deepest = chain.findLast((folder) => stored.has(folder.toLowerCase()));
    return deepest === undefined ? path : stored.get(deepest.toLowerCase())! + path.slice(deepest.length);
  }

  async subfolders(parentPath: string): Promise<FolderEntry[]> {
    const rows = await this.db
      .selectFrom('folders')
      .select(['path', 'name'])
      .where(childOf('path_key', parentPath))
      .orderBy('path_key')
      .execute();
    return rows;
  }

  async assetsIn(folderPath: string, extensions: readonly string[] | 'all'): Promise<AssetEntry[]> {
    let query = this.db.selectFrom('assets').select(['id', 'asset_path', 'filename', 'extension']).where(childOf('asset_path_key', folderPath));
    if (extensions !== 'all') {
      if (extensions.length === 0) return [];
      query = query.where('extension', 'in', [...extensions]);
    }
    const rows = await query.orderBy('asset_path_key').execute();
    return rows.map((row) => ({ id: row.id, assetPath: row.asset_path, filename: row.filename, extension: row.extension }));
  }

  /** Ids of every asset in a folder or below it. */
  async assetIdsBelow(folderPath: string): Promise<string[]> {
    const rows = await this.db.selectFrom('assets').select('id').where(below('asset_path_key', folderPath)).execute();
    return rows.map((row) => row.id);
  }

  /** Deletes assets with everything that hangs off them (versions, renditions, index rows); blobs are swept later. */
  async deleteAssets(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let start = 0; start < ids.length; start += 500) {
      const batch = ids.slice(start, start + 500);
      if (this.dialect === 'sqlite') {
        // FTS5 rows are keyed by the asset's rowid and have no foreign key to cascade along.
        await sql`DELETE FROM asset_text WHERE rowid IN (SELECT rowid FROM assets WHERE id IN (${sql.join(batch)}))`.execute(this.db);
      }
      const result = await this.db.deleteFrom('assets').where('id', 'in', batch).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  /** Gives a folder and everything below it the spelling `target`, which differs from `source` in case only. */
  async respellTree(source: string, target: string): Promise<void> {
    const rows = await this.db.selectFrom('folders').select(['id', 'path']).where(folderAndBelow(source)).execute();
    for (const row of rows) {
      const path = target + row.path.slice(source.length);
      const slash = path.lastIndexOf('/');
      await this.db
        .updateTable('folders')
        .set({ path, parent_path: slash === 0 ? '/' : path.slice(0, slash), name: path.slice(slash + 1) })
        .where('id', '=', row.id)
        .execute();
    }
  }

  async deleteFolderTree(folderPath: string): Promise<void> {
    await this.db.deleteFrom('folders').where(folderAndBelow(folderPath)).execute();
  }
}

/*
 * Paths match regardless of case through the *_key columns, lower-cased by JavaScript when written. SQL's lower()
 * must not be used to compare with them: SQLite's folds ASCII only, and PostgreSQL's differs from JavaScript's
 * for some letters (İ), so a folder named `Été` was neither listed nor moved, and a move left its assets behind.
 */

/** Rows whose key column (a path key) lies below `folderPath`, at any depth. */
function below(column: 'path_key' | 'asset_path_key', folderPath: string) {
  return sql<boolean>`${sql.ref(column)} LIKE ${`${escapeLike(prefixOf(folderPath))}%`} ESCAPE '\\'`;
}

/** The folder rows of `folderPath` and of every folder below it. */
function folderAndBelow(folderPath: string) {
  return sql<boolean>`(path_key = ${folderPath.toLowerCase()} OR ${below('path_key', folderPath)})`;
}

/** Rows whose key column lies directly in `folderPath`. */
function childOf(column: 'path_key' | 'asset_path_key', folderPath: string) {
  const prefix = escapeLike(prefixOf(folderPath));
  return sql<boolean>`(${sql.ref(column)} LIKE ${`${prefix}%`} ESCAPE '\\' AND ${sql.ref(column)} NOT LIKE ${`${prefix}%/%`} ESCAPE '\\')`;
}

/** `/a/b` → `/a/b/`; the root is `/`. */
const prefixOf = (folderPath: string) => (folderPath === '/' ? '/' : `${folderPath.toLowerCase()}/`);

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
