import type { Kysely } from 'kysely';
import type { User } from '../auth/user-store.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import type { JobQueue } from '../jobs/job-queue.js';
import { badRequest, conflict, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { ProcessCancelled } from '../processes/process-service.js';
import { RENDER_JOB } from '../renditions/rendition-service.js';
import type { SearchService } from '../search/search-service.js';
import { writeSearchIndex } from '../search/search-index-store.js';
import { type Asset, AssetStore } from './asset-store.js';
import { MAX_BULK_ASSETS } from './folder-service.js';
import { FolderStore } from './folder-store.js';
import { assertNewName, assertValidName, domainOf, extensionOf, joinPath, mimeTypeOf, normalizeFolderPath, renamed, renamedFolder, splitAssetPath } from './paths.js';

export const FOLDER_POLICIES = ['AUTO_RENAME', 'MERGE', 'THROW_EXCEPTION'] as const;
export const FILE_POLICIES = ['AUTO_RENAME', 'OVERWRITE', 'OVERWRITE_IF_NEWER', 'REMOVE_SOURCE', 'THROW_EXCEPTION', 'DO_NOTHING'] as const;
export type FolderPolicy = (typeof FOLDER_POLICIES)[number];
export type FilePolicy = (typeof FILE_POLICIES)[number];

export interface TransferRequest {
  mode: 'move' | 'copy';
  source: string;
  target: string;
  folderPolicy: FolderPolicy;
  filePolicy: FilePolicy;
  /** Only source assets matching this query are moved or copied (folder sources). */
  filterQuery?: string;
  /** Put every file directly in the target folder. */
  flattenFolders: boolean;
  /** Asked before each asset; true rolls the whole transfer back (ProcessCancelled). */
  cancelled?: () => boolean;
}

export interface TransferResult {
  processedCount: number;
  errorCount: number;
}

const MAX_RENAMES = 1000;
const NOTHING_DONE: TransferResult = { processedCount: 0, errorCount: 0 };

/**
 * Move (and rename) or copy an asset or a whole folder (protocol §4.5). Everything happens in one transaction:
 * a failure halfway, such as a THROW_EXCEPTION clash, leaves the old state; paths, folders and the search index
 * change together. Copies share the immutable file blobs, so no bytes are duplicated.
 */
export class TransferService {
  constructor(
    private readonly database: DatabaseHandle,
    private readonly search: SearchService,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {}

  async transfer(user: User, request: TransferRequest): Promise<TransferResult> {
    // Written as a target is read: `//` is one separator.
    const source = request.source.replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
    if (!source.startsWith('/') || !request.target.startsWith('/')) throw badRequest('source and target must be absolute paths such as /Photos/x.jpg');
    const reading = new AssetStore(this.database.db);
    const folders = new FolderStore(this.database.db, this.database.dialect);
    const asset = await reading.findByPath(source);
    if (asset) {
      // A filter applies to an asset source too: one it does not match is left where it is.
      if (request.filterQuery && (await this.search.matchingIds(`(${request.filterQuery}) AND id:"${asset.id}"`, 1)).length === 0) return NOTHING_DONE;
      // A target that ends in `/` or names a folder means "into that folder", keeping the name.
      const into = request.target.endsWith('/') || (await folders.exists(normalizeFolderPath(request.target)));
      const { folderPath, filename } = into ? { folderPath: normalizeFolderPath(request.target), filename: asset.filename } : splitAssetPath(request.target);
      return this.inTransaction(user, request, (tx) => tx.asset(asset, folderPath, filename, request.filePolicy));
    }
    const sourceFolder = normalizeFolderPath(source);
    const canonical = await folders.canonicalPath(sourceFolder);
    if (!canonical || canonical === '/') throw notFound(`No asset or folder at ${source}`);
    // As for an asset, a target that ends in `/` means "into that folder", keeping the name.
    const target = request.target.endsWith('/') ? joinPath(normalizeFolderPath(request.target), splitAssetPath(canonical).filename) : normalizeFolderPath(request.target);
    if (target === '/') throw badRequest('The target of a folder move or copy must be a folder, not the root');
    if (target.toLowerCase() === canonical.toLowerCase() && request.mode === 'copy') throw badRequest('A folder cannot be copied onto itself');
    if (target.toLowerCase().startsWith(`${canonical.toLowerCase()}/`)) throw badRequest(`${target} is inside ${canonical}: a folder cannot go into itself`);

    let ids = await folders.assetIdsBelow(canonical);
    let allowed: Set<string> | undefined;
    if (request.filterQuery) {
      // Searched within the folder: over the whole library the cap could leave out matches that are in it.
      // (Folder names cannot hold `"` or `\`, so the path needs no escaping inside the quotes.)
      allowed = new Set(await this.search.matchingIds(`(${request.filterQuery}) AND ancestorPaths:"${canonical}"`, MAX_BULK_ASSETS + 1));
      ids = ids.filter((id) => allowed!.has(id));
      // Nothing matches: no target folder is made either.
      if (ids.length === 0) return NOTHING_DONE;
    }
    if (ids.length > MAX_BULK_ASSETS) throw badRequest(`The folder holds more than ${MAX_BULK_ASSETS} assets; move it in parts with filterQuery`);
    return this.inTransaction(user, request, (tx) => tx.folder(canonical, target, allowed, request));
  }

  private async inTransaction(user: User, request: TransferRequest, work: (tx: Transfer) => Promise<TransferResult>): Promise<TransferResult> {
    let transfer: Transfer | undefined;
    const result = await this.database.db.transaction().execute((trx) => {
      transfer = new Transfer(trx, this.database.dialect, this.jobs, this.clock).bind(request.mode, user.username);
      return work(transfer);
    });
    // Committed: a worker in this process may take the copies' render jobs now rather than at its next poll.
    if (transfer?.queuedJobs) this.jobs.notify();
    return result;
  }
}

/** One transfer inside one transaction. */
class Transfer {
  private readonly assets: AssetStore;
  private readonly folders: FolderStore;
  private mode: 'move' | 'copy' = 'move';
  /** Render jobs sent for copies whose source was still being rendered. */
  queuedJobs = 0;
  /** Assets this transfer has put in place: sources that a later source (flattened, same name) must not replace. */
  private readonly placed = new Set<string>();
  private user = '';

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DatabaseHandle['dialect'],
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
  ) {
    this.assets = new AssetStore(db);
    this.folders = new FolderStore(db, dialect);
  }

  bind(mode: 'move' | 'copy', user: string): this {
    this.mode = mode;
    this.user = user;
    return this;
  }

  async asset(found: Asset, folderPath: string, filename: string, policy: FilePolicy): Promise<TransferResult> {
    // Read again, locked, inside the transaction: it may have been removed or changed since it was found.
    const asset = await this.lockedAsset(found.id);
    if (!asset) throw notFound(`No asset or folder at ${found.assetPath}`);
    const done = await this.place(asset, await this.folders.storedSpelling(folderPath), filename, policy);
    return { processedCount: done ? 1 : 0, errorCount: 0 };
  }

  async folder(source: string, requestedTarget: string, allowed: ReadonlySet<string> | undefined, request: TransferRequest): Promise<TransferResult> {
    // Listed again inside the transaction: a request running at the same time may have removed or added some.
    // In one order, so that two transfers lock their assets in the same order and never wait for each other.
    const ids = (await this.folders.assetIdsBelow(source)).filter((id) => !allowed || allowed.has(id)).sort();
    // The same folder spelled differently is a rename of its letters' case (moves only: copies onto the source are refused).
    // Only its own name takes the new spelling: the folders above keep theirs, as everywhere else.
    const respelling = requestedTarget.toLowerCase() === source.toLowerCase();
    const slash = requestedTarget.lastIndexOf('/');
    const target = respelling
      ? (slash === 0 ? '' : await this.folders.storedSpelling(requestedTarget.slice(0, slash))) + requestedTarget.slice(slash)
      : await this.folders.storedSpelling(await this.resolveFolderTarget(requestedTarget, request.folderPolicy));
    if (respelling && target === source) throw badRequest(`${source} is already there`);
    if (source.toLowerCase().startsWith(`${target.toLowerCase()}/`)) {
      // Merged into a folder above it, its subfolders would land on their own source paths.
      throw badRequest(`${source} is inside ${target}: a folder cannot be merged into a folder that holds it`);
    }
    const now = this.clock.now();
    // The folders above the target are new names; the target's own is too, unless it keeps the source's.
    const { folderPath: targetParent, filename: targetName } = splitAssetPath(target);
    await this.assets.ensureFolders(targetParent, this.user, now);
    await this.assets.ensureFolders(target, this.user, now, targetName === splitAssetPath(source).filename);
    if (!request.flattenFolders) {
      // The folder structure comes along, empty folders included.
      for (const path of await this.folderTree(source)) await this.assets.ensureFolders(target + path.slice(source.length), this.user, now, true);
    }
    let processedCount = 0;
    let gone = 0;
    for (const id of ids) {
      if (request.cancelled) {
        // A turn for other requests (SQLite never waits), so that a process/cancel can be heard.
        await new Promise((resolve) => setImmediate(resolve));
        if (request.cancelled()) throw new ProcessCancelled();
      }
      const asset = await this.lockedAsset(id);
      if (!asset) {
        // Removed by another transaction since the listing (PostgreSQL reads what others committed meanwhile).
        gone++;
        continue;
      }
      const relative = asset.folderPath.slice(source.length);
      const folderPath = request.flattenFolders ? target : target + relative;
      if (await this.place(asset, folderPath, asset.filename, request.filePolicy)) processedCount++;
    }
    // The source folders go only when everything in them went (no filter, nothing left behind by DO_NOTHING).
    const emptied = processedCount + gone === ids.length && !request.filterQuery;
    if (respelling) await this.folders.respellTree(source, target);
    else if (this.mode === 'move' && emptied) await this.folders.deleteFolderTree(source);
    return { processedCount, errorCount: 0 };
  }

  /**
   * An asset as it is now, locked until the transfer commits on PostgreSQL (SQLite runs one transaction at a time):
   * a concurrent remove waits, or has already happened and the asset is gone, instead of the transfer writing index
   * rows for a deleted asset.
   */
  private lockedAsset(id: string): Promise<Asset | undefined> {
    return this.assets.findById(id, { lock: this.dialect === 'postgres' });
  }

  /** AUTO_RENAME picks `target-1`, `target-2`…; MERGE uses the existing folder; THROW_EXCEPTION refuses. */
  private async resolveFolderTarget(target: string, policy: FolderPolicy): Promise<string> {
    // An asset holds the path: no folder can go there, nor be merged with it; AUTO_RENAME finds another name.
    const asset = await this.assets.existsAtPath(target);
    if (!asset && !(await this.folders.exists(target))) return target;
    if (policy === 'MERGE' && !asset) return (await this.folders.canonicalPath(target)) ?? target;
    if (policy !== 'AUTO_RENAME') throw conflict(`${asset ? 'An asset' : 'A folder'} already exists at ${target}`);
    for (let attempt = 1; attempt <= MAX_RENAMES; attempt++) {
      const candidate = renamedFolder(target, attempt);
      if (!(await this.folders.exists(candidate)) && !(await this.assets.existsAtPath(candidate))) return candidate;
    }
    throw conflict(`No free name for ${target}`);
  }

  private async folderTree(root: string): Promise<string[]> {
    const result: string[] = [];
    const pending = [root];
    while (pending.length > 0) {
      const path = pending.pop()!;
      for (const child of await this.folders.subfolders(path)) {
        result.push(child.path);
        pending.push(child.path);
      }
    }
    return result;
  }

  /** Puts one asset at folderPath/filename, resolving a clash by the file policy; false when nothing was done. */
  private async place(asset: Asset, folderPath: string, requestedName: string, policy: FilePolicy): Promise<boolean> {
    // A name an asset already has goes along as it is (a folder moved with it).
    if (requestedName === asset.filename) assertValidName(requestedName, 'file name');
    else assertNewName(requestedName, 'file name');
    let filename = requestedName;
    if (await this.folders.exists(joinPath(folderPath, filename))) {
      // A folder holds the name: only a new name gets round it.
      if (policy !== 'AUTO_RENAME') throw conflict(`A folder already exists at ${joinPath(folderPath, filename)}`);
      filename = await this.freeName(folderPath, requestedName);
    }
    let existing = await this.assets.findByPath(joinPath(folderPath, filename));
    if (existing?.id === asset.id && this.mode === 'move') existing = undefined; // a rename that only changes case
    if (existing) {
      // Two sources of one name (flattenFolders): the policies that would drop one of them keep both instead.
      const dropsASource = this.placed.has(existing.id) && (policy === 'OVERWRITE' || policy === 'OVERWRITE_IF_NEWER' || policy === 'REMOVE_SOURCE');
      switch (dropsASource ? 'AUTO_RENAME' : policy) {
        case 'THROW_EXCEPTION':
          throw conflict(`An asset already exists at ${existing.assetPath}`);
        case 'DO_NOTHING':
          return false;
        case 'REMOVE_SOURCE':
          if (this.mode === 'move') await this.folders.deleteAssets([asset.id]);
          return this.mode === 'move';
        case 'OVERWRITE_IF_NEWER':
          if (asset.fileModifiedAt <= existing.fileModifiedAt) {
            // The target is as new or newer: it stays, and a moved source is dropped.
            if (this.mode === 'move') await this.folders.deleteAssets([asset.id]);
            return this.mode === 'move';
          }
          await this.folders.deleteAssets([existing.id]);
          break;
        case 'OVERWRITE':
          await this.folders.deleteAssets([existing.id]);
          break;
        case 'AUTO_RENAME':
          filename = await this.freeName(folderPath, requestedName);
          break;
      }
    }
    await this.assets.ensureFolders(folderPath, this.user, this.clock.now());
    const now = this.clock.now();
    const extension = extensionOf(filename);
    const located = {
      folderPath,
      filename,
      assetPath: joinPath(folderPath, filename),
      extension,
      domain: extension === asset.extension ? asset.domain : domainOf(extension),
      mimeType: extension === asset.extension ? asset.mimeType : mimeTypeOf(extension),
      modifiedAt: now,
      modifier: this.user,
    };
    if (this.mode === 'move') {
      const moved: Asset = { ...asset, ...located };
      await this.assets.update(moved);
      await writeSearchIndex(this.db, this.dialect, moved);
      this.placed.add(moved.id);
      return true;
    }
    const copy: Asset = { ...asset, ...located, id: newId(), versionNumber: 1, contentEtag: 1, createdAt: now, creator: this.user };
    this.placed.add(copy.id);
    if (!(await this.assets.insert(copy))) throw conflict(`An asset already exists at ${copy.assetPath}`);
    await this.assets.copyRenditions(asset, copy.id, copy.contentEtag);
    // Renditions still being made for the source are not there to copy: the copy gets its own job.
    if (asset.previewState === 'pending' || asset.thumbnailState === 'pending') {
      await this.jobs.enqueue(this.db, RENDER_JOB, copy.id, { contentEtag: copy.contentEtag });
      this.queuedJobs++;
    }
    await writeSearchIndex(this.db, this.dialect, copy);
    return true;
  }

  private async freeName(folderPath: string, filename: string): Promise<string> {
    for (let attempt = 1; attempt <= MAX_RENAMES; attempt++) {
      const candidate = renamed(filename, attempt);
      const path = joinPath(folderPath, candidate);
      if (!(await this.assets.existsAtPath(path)) && !(await this.folders.exists(path))) return candidate;
    }
    throw conflict(`No free name for ${filename} in ${folderPath}`);
  }
}
