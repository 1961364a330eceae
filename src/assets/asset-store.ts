import type { Kysely, Selectable } from 'kysely';
import type { AssetTable, Database, RenditionTable } from '../db/schema.js';
import { conflict } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { StoredValue } from './fields.js';
import { assertNewName, folderChain } from './paths.js';

export interface Asset {
  id: string;
  assetPath: string;
  folderPath: string;
  filename: string;
  extension: string;
  domain: string;
  mimeType: string;
  blobKey: string | null;
  fileSize: number;
  sha256: string | null;
  versionNumber: number;
  contentEtag: number;
  previewEtag: number;
  previewState: string;
  thumbnailState: string;
  renditionError: string | null;
  createdAt: number;
  modifiedAt: number;
  fileModifiedAt: number;
  creator: string;
  modifier: string;
  fileModifier: string;
  metadata: Record<string, StoredValue>;
}

export interface Rendition {
  assetId: string;
  name: string;
  contentEtag: number;
  blobKey: string;
  mimeType: string;
  fileSize: number;
  width: number;
  height: number;
  createdAt: number;
}

export interface AssetVersion {
  assetId: string;
  versionNumber: number;
  blobKey: string | null;
  fileSize: number;
  sha256: string | null;
  filename: string;
  mimeType: string;
  createdAt: number;
  createdBy: string;
  metadata: Record<string, StoredValue>;
}

/** Assets, their folders, versions and renditions in the metadata database. I/O only. */
export class AssetStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** `lock` (PostgreSQL, inside a transaction) holds the row until commit, so concurrent edits queue up. */
  async findById(id: string, options: { lock?: boolean } = {}): Promise<Asset | undefined> {
    let query = this.db.selectFrom('assets').selectAll().where('id', '=', id);
    if (options.lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row && toAsset(row);
  }

  async findByPath(assetPath: string): Promise<Asset | undefined> {
    const row = await this.db.selectFrom('assets').selectAll().where('asset_path_key', '=', assetPath.toLowerCase()).executeTakeFirst();
    return row && toAsset(row);
  }

  /** Gives a copied asset the renditions of its source (same blobs: they are immutable). */
  async copyRenditions(from: Asset, toId: string, contentEtag: number): Promise<void> {
    const rows = await this.db.selectFrom('renditions').selectAll().where('asset_id', '=', from.id).where('content_etag', '=', from.contentEtag).execute();
    if (rows.length > 0) await this.db.insertInto('renditions').values(rows.map((row) => ({ ...row, asset_id: toId, content_etag: contentEtag }))).execute();
  }

  async existsAtPath(assetPath: string): Promise<boolean> {
    const row = await this.db.selectFrom('assets').select('id').where('asset_path_key', '=', assetPath.toLowerCase()).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Makes the folders of a path that do not exist yet. A folder never takes the place of an asset: a path that
   * runs through one (`/A/b.jpg/x` beside an asset `/A/b.jpg`) is a 409, and nothing is made. The names of the
   * folders made are new names (assertNewName), unless they are `copiedNames`: a moved or copied folder's own.
   */
  async ensureFolders(folderPath: string, createdBy: string, now: number, copiedNames = false): Promise<void> {
    for (const path of folderChain(folderPath)) {
      if (await this.db.selectFrom('folders').select('id').where('path_key', '=', path.toLowerCase()).executeTakeFirst()) continue;
      if (await this.existsAtPath(path)) throw conflict(`An asset already exists at ${path}: a folder cannot take its place`);
      const slash = path.lastIndexOf('/');
      if (!copiedNames) assertNewName(path.slice(slash + 1), 'folder name');
      await this.db
        .insertInto('folders')
        .values({
          id: newId(),
          path,
          path_key: path.toLowerCase(),
          parent_path: slash === 0 ? '/' : path.slice(0, slash),
          name: path.slice(slash + 1),
          created_at: now,
          created_by: createdBy,
        })
        .onConflict((oc) => oc.column('path_key').doNothing())
        .execute();
    }
  }

  /** Inserts an asset; resolves false (writing nothing) when its path is taken. */
  async insert(asset: Asset): Promise<boolean> {
    const result = await this.db
      .insertInto('assets')
      .values(toRow(asset))
      .onConflict((oc) => oc.column('asset_path_key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Writes every mutable column of an asset. */
  async update(asset: Asset): Promise<void> {
    const { id: _id, ...values } = toRow(asset);
    await this.db.updateTable('assets').set(values).where('id', '=', asset.id).execute();
  }

  async setRenditionStates(
    id: string,
    contentEtag: number,
    states: { previewState: string; thumbnailState: string; renditionError: string | null; bumpPreviewEtag: boolean },
  ): Promise<void> {
    await this.db
      .updateTable('assets')
      .set((eb) => ({
        preview_state: states.previewState,
        thumbnail_state: states.thumbnailState,
        rendition_error: states.renditionError,
        ...(states.bumpPreviewEtag ? { preview_etag: eb('preview_etag', '+', 1) } : {}),
      }))
      // Only for the file it was rendered from: a newer check-in has its own job.
      .where('id', '=', id)
      .where('content_etag', '=', contentEtag)
      .execute();
  }

  async insertVersion(version: AssetVersion): Promise<void> {
    await this.db
      .insertInto('asset_versions')
      .values({
        asset_id: version.assetId,
        version_number: version.versionNumber,
        blob_key: version.blobKey,
        file_size: version.fileSize,
        sha256: version.sha256,
        filename: version.filename,
        mime_type: version.mimeType,
        created_at: version.createdAt,
        created_by: version.createdBy,
        metadata: JSON.stringify(version.metadata),
      })
      .execute();
  }

  async listVersions(assetId: string): Promise<AssetVersion[]> {
    const rows = await this.db.selectFrom('asset_versions').selectAll().where('asset_id', '=', assetId).orderBy('version_number').execute();
    return rows.map((row) => ({
      assetId: row.asset_id,
      versionNumber: row.version_number,
      blobKey: row.blob_key,
      fileSize: row.file_size,
      sha256: row.sha256,
      filename: row.filename,
      mimeType: row.mime_type,
      createdAt: row.created_at,
      createdBy: row.created_by,
      metadata: JSON.parse(row.metadata) as Record<string, StoredValue>,
    }));
  }

  async findRendition(assetId: string, name: string): Promise<Rendition | undefined> {
    const row = await this.db.selectFrom('renditions').selectAll().where('asset_id', '=', assetId).where('name', '=', name).executeTakeFirst();
    return row && toRendition(row);
  }

  async saveRendition(rendition: Rendition): Promise<void> {
    const values = {
      asset_id: rendition.assetId,
      name: rendition.name,
      content_etag: rendition.contentEtag,
      blob_key: rendition.blobKey,
      mime_type: rendition.mimeType,
      file_size: rendition.fileSize,
      width: rendition.width,
      height: rendition.height,
      created_at: rendition.createdAt,
    };
    const { asset_id: _assetId, name: _name, ...changes } = values;
    await this.db
      .insertInto('renditions')
      .values(values)
      .onConflict((oc) => oc.columns(['asset_id', 'name']).doUpdateSet(changes))
      .execute();
  }

  /** Whether any asset, version or rendition still points at a blob (for garbage collection). */
  async isBlobReferenced(key: string): Promise<boolean> {
    const [asset, version, rendition] = await Promise.all([
      this.db.selectFrom('assets').select('id').where('blob_key', '=', key).executeTakeFirst(),
      this.db.selectFrom('asset_versions').select('asset_id').where('blob_key', '=', key).executeTakeFirst(),
      this.db.selectFrom('renditions').select('asset_id').where('blob_key', '=', key).executeTakeFirst(),
    ]);
    return asset !== undefined || version !== undefined || rendition !== undefined;
  }
}

function toRow(asset: Asset): AssetTable {
  return {
    id: asset.id,
    asset_path: asset.assetPath,
    asset_path_key: asset.assetPath.toLowerCase(),
    folder_path: asset.folderPath,
    filename: asset.filename,
    extension: asset.extension,
    asset_domain: asset.domain,
    mime_type: asset.mimeType,
    blob_key: asset.blobKey,
    file_size: asset.fileSize,
    sha256: asset.sha256,
    version_number: asset.versionNumber,
    content_etag: asset.contentEtag,
    preview_etag: asset.previewEtag,
    preview_state: asset.previewState,
    thumbnail_state: asset.thumbnailState,
    rendition_error: asset.renditionError,
    created_at: asset.createdAt,
    modified_at: asset.modifiedAt,
    file_modified_at: asset.fileModifiedAt,
    creator: asset.creator,
    modifier: asset.modifier,
    file_modifier: asset.fileModifier,
    metadata: JSON.stringify(asset.metadata),
  };
}

export function toAsset(row: Selectable<AssetTable>): Asset {
  return {
    id: row.id,
    assetPath: row.asset_path,
    folderPath: row.folder_path,
    filename: row.filename,
    extension: row.extension,
    domain: row.asset_domain,
    mimeType: row.mime_type,
    blobKey: row.blob_key,
    fileSize: row.file_size,
    sha256: row.sha256,
    versionNumber: row.version_number,
    contentEtag: row.content_etag,
    previewEtag: row.preview_etag,
    previewState: row.preview_state,
    thumbnailState: row.thumbnail_state,
    renditionError: row.rendition_error,
    createdAt: row.created_at,
    modifiedAt: row.modified_at,
    fileModifiedAt: row.file_modified_at,
    creator: row.creator,
    modifier: row.modifier,
    fileModifier: row.file_modifier,
    metadata: JSON.parse(row.metadata) as Record<string, StoredValue>,
  };
}

function toRendition(row: Selectable<RenditionTable>): Rendition {
  return {
    assetId: row.asset_id,
    name: row.name,
    contentEtag: row.content_etag,
    blobKey: row.blob_key,
    mimeType: row.mime_type,
    fileSize: row.file_size,
    width: row.width,
    height: row.height,
    createdAt: row.created_at,
  };
}
