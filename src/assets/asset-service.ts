import type { Kysely } from 'kysely';
import type { User } from '../auth/user-store.js';
import type { Database } from '../db/schema.js';
import type { DatabaseHandle } from '../db/database.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Clock } from '../lib/clock.js';
import { badRequest, conflict, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { EmbeddedMetadata } from '../media/embedded-metadata.js';
import { isRenderable, RENDER_JOB } from '../renditions/rendition-service.js';
import { SearchIndexStore, writeSearchIndex } from '../search/search-index-store.js';
import type { StagedBlob, StoredBlob } from '../storage/blob-store.js';
import { type Asset, AssetStore, type AssetVersion } from './asset-store.js';
import { applyModifications, fieldDefinition, normalizeValue, type StoredValue } from './fields.js';
import { FolderStore } from './folder-store.js';
import { assertNewName, assertValidName, domainOf, extensionOf, joinPath, mimeTypeOf, normalizeFolderPath, renamed, splitAssetPath } from './paths.js';

export interface UploadedFile {
  staged: StagedBlob;
  /** The name the client gave the file part, if any. */
  filename: string | undefined;
  /** A local path of the staged bytes, for metadata extraction. */
  localPath: string;
}

export interface CreateRequest {
  folderPath?: string;
  name?: string;
  assetPath?: string;
  /** Raw field values by name, from the `metadata` JSON and from field-named parameters. */
  metadata: Record<string, unknown>;
  autoRename: boolean;
  parseModifications: boolean;
  file?: UploadedFile;
  /** Aborts when the client has gone away: nothing is committed after that (see withUpload). */
  abandoned?: AbortSignal;
}

export interface UpdateRequest {
  metadata: Record<string, unknown>;
  parseModifications: boolean;
  createVersion: boolean;
  keepMetadata: boolean;
  file?: UploadedFile;
  /** Aborts when the client has gone away: nothing is committed after that (see withUpload). */
  abandoned?: AbortSignal;
}

/** Reads the embedded metadata of a file (EXIF, IPTC, XMP …); never throws. */
export type EmbeddedMetadataSource = (path: string) => Promise<EmbeddedMetadata>;

const LOCATION_FIELDS = new Set(['folderPath', 'name', 'filename', 'assetPath']);
const MAX_AUTO_RENAMES = 1000;

/** The asset life cycle: create, check in new files, edit metadata. */
export class AssetService {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
    private readonly readEmbedded: EmbeddedMetadataSource,
    private readonly jobs: JobQueue,
  ) {}

  async get(id: string): Promise<Asset> {
    const asset = /^[A-Za-z0-9_-]{22}$/.test(id) ? await new AssetStore(this.database.db).findById(id) : undefined;
    if (!asset) throw notFound(`No asset with id ${id.slice(0, 64)}`);
    return asset;
  }

  /** Every file version of an asset, newest first: the kept previous versions and the current one. */
  async versions(id: string): Promise<{ asset: Asset; versions: AssetVersion[] }> {
    const asset = await this.get(id);
    const previous = await new AssetStore(this.database.db).listVersions(asset.id);
    return { asset, versions: [currentVersionOf(asset), ...previous.filter((version) => version.versionNumber !== asset.versionNumber).reverse()] };
  }

  /** Creates an asset; a staged file is committed only once the request has passed every check. */
  async create(user: User, request: CreateRequest): Promise<Asset> {
    const { folderPath, filename, explicitName } = resolveLocation(request);
    assertNewName(filename, 'file name');
    const requested = normalizeFields(request.metadata, { forCreate: true });
    const extension = extensionOf(filename);
    const domain = domainOf(extension);
    const embedded = request.file ? await this.embeddedFields(request.file.localPath) : {};
    const metadata = mergeMetadata(embedded, requested, undefined, request.parseModifications);

    const store = new AssetStore(this.database.db);
    // Checked before the file is committed, so a refused upload leaves no blob behind (a clash that appears in
    // between is still caught by the insert; its blob is then swept at the next start).
    if ((explicitName || !request.autoRename) && (await store.existsAtPath(joinPath(folderPath, filename)))) {
      throw conflict(`An asset already exists at ${joinPath(folderPath, filename)}`);
    }
    request.abandoned?.throwIfAborted();
    const blob = request.file ? await request.file.staged.commit() : undefined;

    const now = this.clock.now();
    const renderable = blob !== undefined && isRenderable(domain);
    const asset: Asset = {
      id: newId(),
      assetPath: joinPath(folderPath, filename),
      folderPath,
      filename,
      extension,
      domain,
      mimeType: mimeTypeOf(extension),
      blobKey: blob?.key ?? null,
      fileSize: blob?.size ?? 0,
      sha256: blob?.sha256 ?? null,
      versionNumber: 1,
      contentEtag: 1,
      previewEtag: 1,
      previewState: renderable ? 'pending' : 'no',
      thumbnailState: renderable ? 'pending' : 'no',
      renditionError: null,
      createdAt: now,
      modifiedAt: now,
      fileModifiedAt: now,
      creator: user.username,
      modifier: user.username,
      fileModifier: user.username,
      metadata,
    };

    await this.database.db.transaction().execute(async (trx) => {
      const assets = new AssetStore(trx);
      // Spelt as the folders that exist are (`/photos` for a folder `/Photos`): a folder's assets spell its path alike.
      const storedFolder = await new FolderStore(trx, this.database.dialect).storedSpelling(folderPath);
      await assets.ensureFolders(storedFolder, user.username, now);
      // autoRename applies to names that came with the file; an explicit name that clashes is an error.
      const attempts = explicitName || !request.autoRename ? 0 : MAX_AUTO_RENAMES;
      for (let attempt = 0; ; attempt++) {
        const name = attempt === 0 ? filename : renamed(filename, attempt);
        Object.assign(asset, { folderPath: storedFolder, filename: name, assetPath: joinPath(storedFolder, name) });
        if (await assets.insert(asset)) break;
        if (attempt >= attempts) throw conflict(`An asset already exists at ${asset.assetPath}`);
      }
      await this.reindex(trx, asset);
      if (renderable) await this.jobs.enqueue(trx, RENDER_JOB, asset.id, { contentEtag: asset.contentEtag });
      // The last moment to change our mind: throwing here rolls the whole asset back.
      request.abandoned?.throwIfAborted();
    });
    if (renderable) this.jobs.notify();
    return asset;
  }

  /** Edits metadata and/or checks in a new file (a new version). */
  async update(user: User, id: string, request: UpdateRequest): Promise<Asset> {
    if (!request.file && Object.keys(request.metadata).length === 0) throw badRequest('Nothing to update: send a file (Filedata) or metadata');
    const current = await this.get(id);
    const requested = normalizeFields(request.metadata, { forCreate: false, current });
    const embedded = request.file && !request.keepMetadata ? await this.embeddedFields(request.file.localPath) : {};
    request.abandoned?.throwIfAborted();
    const blob: StoredBlob | undefined = request.file ? await request.file.staged.commit() : undefined;

    let renderable = false;
    const updated = await this.database.db.transaction().execute(async (trx) => {
      const assets = new AssetStore(trx);
      // Re-read inside the transaction, so concurrent updates apply one after the other (SQLite serialises
      // transactions; PostgreSQL needs the row lock).
      const asset = await assets.findById(id, { lock: this.database.dialect === 'postgres' });
      // Removed by a request that ran meanwhile: updating it would write index rows for an asset that is gone.
      if (!asset) throw notFound(`No asset with id ${id.slice(0, 64)}`);
      const now = this.clock.now();
      asset.metadata = mergeMetadata(blob ? embedded : {}, requested, asset.metadata, request.parseModifications, blob !== undefined && !request.keepMetadata);
      asset.modifiedAt = now;
      asset.modifier = user.username;
      if (blob) {
        if (request.createVersion) {
          await assets.insertVersion(currentVersionOf(asset));
        }
        Object.assign(asset, { blobKey: blob.key, fileSize: blob.size, sha256: blob.sha256, fileModifiedAt: now, fileModifier: user.username });
        asset.versionNumber += 1;
        asset.contentEtag += 1;
        renderable = isRenderable(asset.domain);
        asset.previewState = asset.thumbnailState = renderable ? 'pending' : 'no';
        asset.renditionError = null;
        if (renderable) await this.jobs.enqueue(trx, RENDER_JOB, asset.id, { contentEtag: asset.contentEtag });
      }
      await assets.update(asset);
      await this.reindex(trx, asset);
      request.abandoned?.throwIfAborted();
      return asset;
    });
    if (renderable) this.jobs.notify();
    return updated;
  }

  /** Checks metadata meant for many assets at once (updatebulk) before any of them is touched. */
  assertValidBulkMetadata(metadata: Record<string, unknown>): void {
    if (Object.keys(metadata).length === 0) throw badRequest('Nothing to update: send metadata or field parameters');
    for (const name of Object.keys(metadata)) {
      if (LOCATION_FIELDS.has(name)) throw badRequest(`Field ${name} cannot be changed with updatebulk; use /services/move`);
    }
    normalizeFields(metadata, { forCreate: false });
  }

  /** Indexes assets written before the search index existed (or by an older version); run at start. */
  async reindexMissing(): Promise<number> {
    const index = new SearchIndexStore(this.database.db, this.database.dialect);
    if (!(await index.mayHaveUnindexed())) return 0;
    let count = 0;
    for (let ids = await index.unindexedAssetIds(500); ids.length > 0; ids = await index.unindexedAssetIds(500)) {
      for (const id of ids) {
        const reindexed = await this.database.db.transaction().execute(async (trx) => {
          // Locked and looked at again: nodes starting together reindex the same assets, and two writers of
          // one asset's rows would leave both sets (a range would count it twice).
          const asset = await new AssetStore(trx).findById(id, { lock: this.database.dialect === 'postgres' });
          if (!asset || (await new SearchIndexStore(trx, this.database.dialect).isIndexed(id))) return false;
          await this.reindex(trx, asset);
          return true;
        });
        if (reindexed) count++;
      }
    }
    return count;
  }

  private reindex(db: Kysely<Database>, asset: Asset): Promise<void> {
    return writeSearchIndex(db, this.database.dialect, asset);
  }

  /** Embedded values under Damson's field names; unknown or ill-fitting values are left out. */
  private async embeddedFields(path: string): Promise<Record<string, StoredValue>> {
    const fields: Record<string, StoredValue> = {};
    for (const [name, raw] of Object.entries(await this.readEmbedded(path))) {
      const definition = fieldDefinition(name);
      if (!definition || definition.group === 'location' || definition.group === 'system') continue;
      try {
        const value = normalizeValue(definition, raw);
        if (value !== null) fields[name] = value;
      } catch {
        // A camera that writes nonsense must not stop the upload.
      }
    }
    return fields;
  }
}

/** The asset's current file as a version record (kept when a new file replaces it). */
function currentVersionOf(asset: Asset): AssetVersion {
  return {
    assetId: asset.id,
    versionNumber: asset.versionNumber,
    blobKey: asset.blobKey,
    fileSize: asset.fileSize,
    sha256: asset.sha256,
    filename: asset.filename,
    mimeType: asset.mimeType,
    createdAt: asset.fileModifiedAt,
    createdBy: asset.fileModifier,
    metadata: asset.metadata,
  };
}

function resolveLocation(request: CreateRequest): { folderPath: string; filename: string; explicitName: boolean } {
  if (request.assetPath) {
    const { folderPath, filename } = splitAssetPath(request.assetPath);
    return { folderPath, filename: withCollectionExtension(filename, request), explicitName: true };
  }
  if (request.folderPath === undefined) throw badRequest('Give folderPath (with a file or a name) or assetPath');
  const folderPath = normalizeFolderPath(request.folderPath);
  const explicitName = request.name !== undefined;
  let filename = request.name ?? request.file?.filename;
  if (!filename) throw badRequest('The asset needs a name: send a file, or a name or filename');
  // "My photo" for a file uploaded as x.jpg keeps the file's extension, so its type is known.
  const fileExtension = request.file?.filename ? extensionOf(request.file.filename) : '';
  if (explicitName && !extensionOf(filename) && fileExtension) filename = `${filename}.${fileExtension}`;
  filename = withCollectionExtension(filename, request);
  assertValidName(filename, 'file name');
  return { folderPath, filename, explicitName };
}

/** `assetType=collection` with a bare name makes `name.collection` (protocol §4.1). */
function withCollectionExtension(filename: string, request: CreateRequest): string {
  const wantsCollection = String(request.metadata.assetType ?? '').toLowerCase() === 'collection';
  return wantsCollection && extensionOf(filename) !== 'collection' ? `${filename}.collection` : filename;
}

/** Validates requested values; null means "clear this field". */
function normalizeFields(raw: Record<string, unknown>, context: { forCreate: boolean; current?: Asset }): Record<string, StoredValue | null> {
  const values: Record<string, StoredValue | null> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (LOCATION_FIELDS.has(name)) {
      if (context.forCreate) continue;
      const currentValue = context.current ? locationValue(context.current, name) : undefined;
      if (value === currentValue) continue;
      throw badRequest(`Field ${name} cannot be changed with update; use /services/move to rename or move`);
    }
    if (name === 'assetType' && context.forCreate && String(value).toLowerCase() === 'collection') continue;
    const definition = fieldDefinition(name);
    if (!definition) throw badRequest(`Unknown metadata field "${name.slice(0, 64)}" (custom fields start with cf_)`);
    if (!definition.editable) throw badRequest(`Field ${name} is maintained by Damson and cannot be set`);
    values[name] = normalizeValue(definition, value);
  }
  return values;
}

function locationValue(asset: Asset, name: string): string {
  return name === 'folderPath' ? asset.folderPath : name === 'assetPath' ? asset.assetPath : asset.filename;
}

/**
 * Current values, then what the file says, then what the request says: values given in the request win over
 * embedded ones. With a new file, technical fields describe the new file only.
 */
function mergeMetadata(
  embedded: Record<string, StoredValue>,
  requested: Record<string, StoredValue | null>,
  current: Record<string, StoredValue> | undefined,
  parseModifications: boolean,
  replaceTechnical = false,
): Record<string, StoredValue> {
  const merged: Record<string, StoredValue> = { ...current };
  if (replaceTechnical) {
    for (const name of Object.keys(merged)) if (fieldDefinition(name)?.group === 'technical') delete merged[name];
  }
  Object.assign(merged, embedded);
  for (const [name, value] of Object.entries(requested)) {
    const next = value !== null && parseModifications && fieldDefinition(name)?.multivalue ? applyModifications(merged[name], value) : value;
    if (next === null) delete merged[name];
    else merged[name] = next;
  }
  return merged;
}
