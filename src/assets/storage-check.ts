import type { DatabaseHandle } from '../db/database.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Clock } from '../lib/clock.js';
import { RENDER_JOB } from '../renditions/rendition-service.js';
import type { BlobStore } from '../storage/blob-store.js';

export interface MissingBlob {
  kind: 'original' | 'version' | 'rendition';
  assetId: string;
  assetPath: string;
  key: string;
  /** The version number or the rendition name. */
  detail?: string;
}

export interface StorageReport {
  blobs: number;
  referenced: number;
  /** Blobs no asset, version or rendition refers to (older than the grace period). */
  orphans: string[];
  missing: MissingBlob[];
  repaired: { orphansRemoved: number; renditionsRequeued: number };
}

/** Orphans younger than this may belong to an upload whose row is being committed right now. */
export const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * `damson fsck`: whether the database and the blob store agree. Orphan blobs (no row refers to them) and
 * missing blobs (a row refers to bytes that are gone) are reported. With `repair`, orphans are removed and
 * missing renditions are made again; a missing original or version cannot be made again, so it stays reported
 * (restore it from a backup: its content address is its SHA-256).
 */
export class StorageCheck {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly blobs: BlobStore,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {}

  async run(options: { repair: boolean; orphanGraceMs?: number }): Promise<StorageReport> {
    const { db } = this.database;
    const stored = new Map<string, number>();
    for await (const blob of this.blobs.list()) stored.set(blob.key, blob.modifiedAt);

    const [originals, versions, renditions] = await Promise.all([
      db.selectFrom('assets').select(['id', 'asset_path', 'blob_key']).where('blob_key', 'is not', null).execute(),
      db
        .selectFrom('asset_versions')
        .innerJoin('assets', 'assets.id', 'asset_versions.asset_id')
        .select(['assets.id', 'assets.asset_path', 'asset_versions.blob_key', 'asset_versions.version_number'])
        .where('asset_versions.blob_key', 'is not', null)
        .execute(),
      db
        .selectFrom('renditions')
        .innerJoin('assets', 'assets.id', 'renditions.asset_id')
        .select(['assets.id', 'assets.asset_path', 'renditions.blob_key', 'renditions.name'])
        .execute(),
    ]);
    const referenced = new Set<string>();
    const missing: MissingBlob[] = [];
    const note = (kind: MissingBlob['kind'], assetId: string, assetPath: string, key: string, detail?: string) => {
      referenced.add(key);
      if (!stored.has(key)) missing.push({ kind, assetId, assetPath, key, ...(detail ? { detail } : {}) });
    };
    for (const row of originals) note('original', row.id, row.asset_path, row.blob_key!);
    for (const row of versions) note('version', row.id, row.asset_path, row.blob_key!, `version ${row.version_number}`);
    for (const row of renditions) note('rendition', row.id, row.asset_path, row.blob_key, row.name);

    const cutoff = this.clock.now() - (options.orphanGraceMs ?? ORPHAN_GRACE_MS);
    const orphans = [...stored].filter(([key, modifiedAt]) => !referenced.has(key) && modifiedAt <= cutoff).map(([key]) => key);
    const repaired = { orphansRemoved: 0, renditionsRequeued: 0 };
    if (options.repair) {
      for (const key of orphans) {
        // Checked again just before removal: an upload may have claimed these bytes since the listing.
        if (await this.isReferenced(key)) continue;
        await this.blobs.remove(key);
        repaired.orphansRemoved += 1;
      }
      const assetsToRender = new Set(missing.filter((entry) => entry.kind === 'rendition').map((entry) => entry.assetId));
      for (const assetId of assetsToRender) if (await this.rerender(assetId)) repaired.renditionsRequeued += 1;
    }
    return { blobs: stored.size, referenced: referenced.size, orphans, missing, repaired };
  }

  private async isReferenced(key: string): Promise<boolean> {
    const { db } = this.database;
    const [asset, version, rendition] = await Promise.all([
      db.selectFrom('assets').select('id').where('blob_key', '=', key).executeTakeFirst(),
      db.selectFrom('asset_versions').select('asset_id').where('blob_key', '=', key).executeTakeFirst(),
      db.selectFrom('renditions').select('asset_id').where('blob_key', '=', key).executeTakeFirst(),
    ]);
    return asset !== undefined || version !== undefined || rendition !== undefined;
  }

  /** Forgets the asset's renditions and queues them again, in one transaction. */
  private async rerender(assetId: string): Promise<boolean> {
    return this.database.db.transaction().execute(async (trx) => {
      const asset = await trx.selectFrom('assets').select(['id', 'content_etag', 'blob_key']).where('id', '=', assetId).executeTakeFirst();
      if (!asset?.blob_key) return false;
      await trx.deleteFrom('renditions').where('asset_id', '=', assetId).execute();
      await trx.updateTable('assets').set({ preview_state: 'pending', thumbnail_state: 'pending', rendition_error: null }).where('id', '=', assetId).execute();
      await this.jobs.enqueue(trx, RENDER_JOB, assetId, { contentEtag: asset.content_etag });
      return true;
    });
  }
}
