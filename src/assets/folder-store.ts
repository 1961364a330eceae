import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../db/database.js';
import type { Database } from '../db/schema.js';

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

  async subfolders(parentPath: string): Promise<FolderEntry[]> {
    const rows = await this.db
      .selectFrom('folders')
      .select(['path', 'name'])
      .where(sql`lower(parent_path)`, '=', parentPath.toLowerCase())
      .orderBy(sql`lower(name)`)
      .execute();
    return rows;
  }

  async assetsIn(folderPath: string, extensions: readonly string[] | 'all'): Promise<AssetEntry[]> {
    let query = this.db
      .selectFrom('assets')
      .select(['id', 'asset_path', 'filename', 'extension'])
      .where(sql`lower(folder_path)`, '=', folderPath.toLowerCase());
    if (extensions !== 'all') {
      if (extensions.length === 0) return [];
      query = query.where('extension', 'in', [...extensions]);
    }
    const rows = await query.orderBy('asset_path_key').execute();
    return rows.map((row) => ({ id: row.id, assetPath: row.asset_path, filename: row.filename, extension: row.extension }));
  }

  /** Ids of every asset in a folder or below it. */
  async assetIdsBelow(folderPath: string): Promise<string[]> {
    const key = folderPath.toLowerCase();
    const rows = await this.db
      .selectFrom('assets')
      .select('id')
      .where(sql<boolean>`(lower(folder_path) = ${key} OR lower(folder_path) LIKE ${`${escapeLike(key)}/%`} ESCAPE '\\')`)
      .execute();
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

  async deleteFolderTree(folderPath: string): Promise<void> {
    const key = folderPath.toLowerCase();
    await this.db
      .deleteFrom('folders')
      .where(sql<boolean>`(path_key = ${key} OR path_key LIKE ${`${escapeLike(key)}/%`} ESCAPE '\\')`)
      .execute();
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
