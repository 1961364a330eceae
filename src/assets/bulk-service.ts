import type { User } from '../auth/user-store.js';
import { badRequest } from '../lib/errors.js';
import type { ProcessProgress, ProcessService } from '../processes/process-service.js';
import type { SearchService } from '../search/search-service.js';
import type { AssetService } from './asset-service.js';
import type { Asset } from './asset-store.js';
import { MAX_BULK_ASSETS } from './folder-service.js';

export type BulkResult = { processedCount: number; errorCount: number } | { processId: string };

/** Operations on every asset a query selects, in the foreground or as a background process. */
export class BulkService {
  constructor(
    private readonly assets: AssetService,
    private readonly search: SearchService,
    private readonly processes: ProcessService,
  ) {}

  /** `updatebulk` by query: the same metadata change applied to each match, each in its own transaction. */
  async updateByQuery(user: User, query: string, metadata: Record<string, unknown>, parseModifications: boolean, inBackground: boolean): Promise<BulkResult> {
    this.assets.assertValidBulkMetadata(metadata);
    const ids = await this.search.matchingIds(query, MAX_BULK_ASSETS + 1);
    if (ids.length > MAX_BULK_ASSETS) throw badRequest(`The query selects more than ${MAX_BULK_ASSETS} assets; narrow it down`);
    return this.run(user, ids, (id) => this.assets.update(user, id, { metadata, parseModifications, createVersion: false, keepMetadata: true }), inBackground);
  }

  /**
   * `updatebulk` by id (protocol §4.3): each entry's own metadata change. Every entry is checked, and every asset
   * found, before anything changes; then each is updated in its own transaction, as by query.
   */
  async updateByIds(user: User, entries: ReadonlyArray<{ id: string; metadata: Record<string, unknown> }>): Promise<Asset[]> {
    if (entries.length === 0) throw badRequest('The list of updates is empty');
    if (entries.length > MAX_BULK_ASSETS) throw badRequest(`More than ${MAX_BULK_ASSETS} updates in one request`);
    for (const { metadata } of entries) this.assets.assertValidBulkMetadata(metadata);
    for (const { id } of entries) await this.assets.get(id);
    const updated: Asset[] = [];
    for (const { id, metadata } of entries) {
      updated.push(await this.assets.update(user, id, { metadata, parseModifications: true, createVersion: false, keepMetadata: true }));
    }
    return updated;
  }

  private async run(user: User, ids: readonly string[], each: (id: string) => Promise<unknown>, inBackground: boolean): Promise<BulkResult> {
    const work = async (progress: Pick<ProcessProgress, 'processed' | 'failed'> & { readonly cancelled?: boolean }): Promise<void> => {
      for (const id of ids) {
        // A turn for other requests between two assets: on SQLite each update runs without ever waiting, and a
        // process/cancel would otherwise be answered only once everything is done.
        await new Promise((resolve) => setImmediate(resolve));
        if (progress.cancelled) return;
        try {
          await each(id);
          progress.processed();
        } catch {
          progress.failed();
        }
      }
    };
    if (inBackground) return { processId: this.processes.start(user.username, ids.length, work) };
    const counts = { processedCount: 0, errorCount: 0 };
    await work({ processed: () => void counts.processedCount++, failed: () => void counts.errorCount++ });
    return counts;
  }
}
