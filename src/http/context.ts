import type { AssetService } from '../assets/asset-service.js';
import type { AssetStore } from '../assets/asset-store.js';
import type { BulkService } from '../assets/bulk-service.js';
import type { FolderService } from '../assets/folder-service.js';
import type { TransferService } from '../assets/transfer-service.js';
import type { AuthService } from '../auth/auth-service.js';
import type { UrlSigner } from '../auth/url-signer.js';
import type { UserService } from '../auth/user-service.js';
import type { Config } from '../config.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import type { ProcessService } from '../processes/process-service.js';
import type { RenditionService } from '../renditions/rendition-service.js';
import type { SearchService } from '../search/search-service.js';
import type { BlobStore } from '../storage/blob-store.js';

/** What route modules are given: configuration and the services they call. Routes never touch stores. */
export interface AppContext {
  config: Config;
  clock: Clock;
  database: DatabaseHandle;
  auth: AuthService;
  users: UserService;
  assets: AssetService;
  /** Read-only lookups for the download routes (versions, renditions). */
  assetStore: AssetStore;
  blobs: BlobStore;
  renditions: RenditionService;
  signer: UrlSigner;
  search: SearchService;
  folders: FolderService;
  bulk: BulkService;
  processes: ProcessService;
  transfers: TransferService;
}
