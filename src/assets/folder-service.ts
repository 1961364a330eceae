import type { User } from '../auth/user-store.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { badRequest, DamsonError, notFound } from '../lib/errors.js';
import type { SearchService } from '../search/search-service.js';
import { AssetStore } from './asset-store.js';
import { type AssetEntry, type FolderEntry, FolderStore } from './folder-store.js';
import { normalizeFolderPath } from './paths.js';

export interface BrowseOptions {
  includeFolders: boolean;
  includeAssets: boolean;
  /** Extensions without the dot, or 'all'. */
  extensions: readonly string[] | 'all';
}

export interface BrowseLevel {
  path: string;
  folders: FolderEntry[];
  assets: AssetEntry[];
}

export type RemoveSelector = { query: string } | { ids: string[] } | { folderPath: string };

/** One bulk operation touches at most this many assets; beyond it the caller is told to narrow the selection. */
export const MAX_BULK_ASSETS = 100_000;

/** Folders: listing, creating, and removing assets and folder trees. */
export class FolderService {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly search: SearchService,
    private readonly clock: Clock,
  ) {}

  private store(): FolderStore {
    return new FolderStore(this.database.db, this.database.dialect);
  }

  /** The levels from `fromRoot` (or just `path`) down to `path`, each with its folders and assets. */
  async browse(path: string, fromRoot: string | undefined, options: BrowseOptions): Promise<BrowseLevel[]> {
    const target = normalizeFolderPath(path);
    const store = this.store();
    if (!(await store.exists(target))) throw notFound(`No folder ${target}`);
    const top = fromRoot === undefined ? target : normalizeFolderPath(fromRoot);
    if (top !== '/' && target.toLowerCase() !== top.toLowerCase() && !target.toLowerCase().startsWith(`${top.toLowerCase()}/`)) {
      throw badRequest(`fromRoot ${top} is not above ${target}`);
    }
    const levels: BrowseLevel[] = [];
    let current = top;
    for (;;) {
      levels.push({
        path: current,
        folders: options.includeFolders ? await store.subfolders(current) : [],
        assets: options.includeAssets ? await store.assetsIn(current, options.extensions) : [],
      });
      if (current.toLowerCase() === target.toLowerCase()) return levels;
      const rest = target.slice(current === '/' ? 1 : current.length + 1).split('/')[0]!;
      current = current === '/' ? `/${rest}` : `${current}/${rest}`;
    }
  }

  /** Creates each folder (and its missing parents); says per path what happened, as the Assets API does. */
  async createFolders(user: User, paths: readonly string[]): Promise<Record<string, string>> {
    const result: Record<string, string> = {};
    for (const raw of paths) {
      let normalized: string;
      try {
        normalized = normalizeFolderPath(raw);
      } catch (error) {
        result[raw] = error instanceof DamsonError ? error.message : 'invalid path';
        continue;
      }
      const path = await this.store().storedSpelling(normalized);
      // The same folder named twice (`/A`, `/a/`) keeps what the first one did.
      if (path in result) continue;
      if (path === '/' || (await this.store().exists(path))) {
        result[path] = 'already exists';
        continue;
      }
      try {
        await new AssetStore(this.database.db).ensureFolders(path, user.username, this.clock.now());
      } catch (error) {
        if (!(error instanceof DamsonError)) throw error;
        result[path] = error.message;
        continue;
      }
      result[path] = 'created';
    }
    return result;
  }

  /** Removes what the selector names: a query's matches, ids, or a folder with everything below it. */
  async remove(selector: RemoveSelector): Promise<{ processedCount: number; errorCount: number }> {
    const store = this.store();
    if ('folderPath' in selector) {
      const path = normalizeFolderPath(selector.folderPath);
      if (path === '/') throw badRequest('The root folder cannot be removed');
      if (!(await store.exists(path)) && (await store.assetIdsBelow(path)).length === 0) throw notFound(`No folder ${path}`);
      return this.database.db.transaction().execute(async (trx) => {
        const inTransaction = new FolderStore(trx, this.database.dialect);
        const ids = await inTransaction.assetIdsBelow(path);
        const processedCount = await inTransaction.deleteAssets(ids);
        await inTransaction.deleteFolderTree(path);
        return { processedCount, errorCount: 0 };
      });
    }
    const ids = 'ids' in selector ? [...new Set(selector.ids)] : await this.search.matchingIds(selector.query, MAX_BULK_ASSETS + 1);
    if (ids.length > MAX_BULK_ASSETS) throw badRequest(`The selection has more than ${MAX_BULK_ASSETS} assets; narrow it down`);
    // An id holding U+0000 names no asset (and PostgreSQL would refuse to look it up).
    const possible = ids.filter((id) => !id.includes('\u0000'));
    const processedCount = await this.database.db.transaction().execute((trx) => new FolderStore(trx, this.database.dialect).deleteAssets(possible));
    // Ids that named no asset count as errors, so a caller learns about typos.
    return { processedCount, errorCount: ids.length - processedCount };
  }
}
