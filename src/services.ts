import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { AssetService } from './assets/asset-service.js';
import { BulkService } from './assets/bulk-service.js';
import { FolderService } from './assets/folder-service.js';
import { TransferService } from './assets/transfer-service.js';
import { AssetStore } from './assets/asset-store.js';
import { AuthService } from './auth/auth-service.js';
import { UrlSigner } from './auth/url-signer.js';
import { RedisLoginThrottleStore } from './auth/redis-throttle-store.js';
import { RedisAuthTokenStore } from './auth/redis-token-store.js';
import { type LoginThrottleStore, SqlLoginThrottleStore } from './auth/throttle-store.js';
import { type AuthTokenStore, SqlAuthTokenStore } from './auth/token-store.js';
import { UserService } from './auth/user-service.js';
import { UserStore } from './auth/user-store.js';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/database.js';
import { type JobQueue, TableJobQueue } from './jobs/job-queue.js';
import { PgBossJobQueue } from './jobs/pg-boss-queue.js';
import { DEFAULT_WORKER_OPTIONS, type JobHandler } from './jobs/worker.js';
import type { Clock } from './lib/clock.js';
import { closeRedis, connectRedis, type RedisLogger, redisReady } from './lib/redis.js';
import { EmbeddedMetadataReader } from './media/embedded-metadata.js';
import { ProcessService } from './processes/process-service.js';
import { RENDER_JOB, RenditionService } from './renditions/rendition-service.js';
import { SearchService } from './search/search-service.js';
import { localSearcher, type Searcher } from './http/search-answer.js';
import { SearchThreads } from './http/search-threads.js';
import type { BlobStore } from './storage/blob-store.js';
import { FsBlobStore } from './storage/fs-blob-store.js';
import { S3BlobStore } from './storage/s3-blob-store.js';

export interface Services {
  auth: AuthService;
  users: UserService;
}

/** Connections to the engines several nodes share besides the database: Redis when configured. */
export interface SharedStores {
  redis: Redis | undefined;
  close(): Promise<void>;
}

/** How long a starting node waits for Redis before it starts anyway (answering 503 until Redis is back). */
const REDIS_START_WAIT_MS = 10_000;

export async function openSharedStores(config: Config, log?: RedisLogger): Promise<SharedStores> {
  if (!config.redisUrl) return { redis: undefined, close: async () => {} };
  const redis = connectRedis(config.redisUrl, log ? { logger: log } : {});
  await redisReady(redis, REDIS_START_WAIT_MS).catch(() => undefined);
  return { redis, close: () => closeRedis(redis) };
}

/**
 * Wires the stores into the services; the HTTP app and the CLI share this. Sessions, API tokens and login
 * throttling live in Redis when there is one (shared by every node), else in the database.
 */
export function createServices(database: DatabaseHandle, config: Config, clock: Clock, shared?: SharedStores): Services {
  const userStore = new UserStore(database);
  const redis = shared?.redis;
  const absoluteTimeoutMs = config.sessionMaxHours * 3_600_000;
  const keyPrefix = config.redisKeyPrefix;
  const tokenStore: AuthTokenStore = redis ? new RedisAuthTokenStore(redis, { absoluteTimeoutMs, keyPrefix }) : new SqlAuthTokenStore(database);
  const throttleStore: LoginThrottleStore = redis ? new RedisLoginThrottleStore(redis, { keyPrefix }) : new SqlLoginThrottleStore(database.db);
  const auth = new AuthService(userStore, tokenStore, throttleStore, clock, {
    idleTimeoutMs: config.sessionIdleMinutes * 60_000,
    absoluteTimeoutMs,
    maxFailuresPerAccount: config.loginMaxFailuresPerAccount,
    maxFailuresPerIp: config.loginMaxFailuresPerIp,
    throttleWindowMs: config.loginThrottleWindowMinutes * 60_000,
    maxSessionsPerUser: config.maxSessionsPerUser,
  });
  return { auth, users: new UserService(userStore, tokenStore, clock) };
}

export interface AssetRuntime {
  assets: AssetService;
  assetStore: AssetStore;
  blobs: BlobStore & { init(): Promise<void> };
  renditions: RenditionService;
  signer: UrlSigner;
  search: SearchService;
  /** Answers `/services/search`. */
  searcher: Searcher;
  folders: FolderService;
  bulk: BulkService;
  processes: ProcessService;
  transfers: TransferService;
  jobs: JobQueue;
  /** Stops the worker (finishing jobs in hand) and the metadata reader's processes. */
  close(): Promise<void>;
}

/** Files in S3-compatible object storage when configured (shared by every node), else under the data directory. */
export function createBlobStore(config: Config, clock: Clock): AssetRuntime['blobs'] {
  if (!config.s3) return new FsBlobStore(config.dataDir);
  const { accessKeyId, secretAccessKey, endpoint, ...s3 } = config.s3;
  return new S3BlobStore({
    ...s3,
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : {}),
    localTmpDir: join(config.dataDir, 'tmp'),
    clock,
  });
}

/** PostgreSQL deployments share pg-boss; the embedded one keeps its jobs in a SQLite table. */
export function createJobQueue(database: DatabaseHandle, config: Config, clock: Clock, handlers: Record<string, JobHandler>, log: FastifyBaseLogger): JobQueue {
  const workerOptions = { ...DEFAULT_WORKER_OPTIONS, concurrency: config.workerConcurrency, leaseMs: config.jobLeaseSeconds * 1000 };
  if (database.dialect === 'postgres' && config.databaseUrl) {
    return new PgBossJobQueue(database.db, handlers, log, { ...workerOptions, connectionString: config.databaseUrl, schema: database.schema ?? 'public', retryDelaySeconds: config.jobRetrySeconds });
  }
  const backoffMs = (attempt: number) => config.jobRetrySeconds * 1000 * 4 ** (attempt - 1);
  return new TableJobQueue(database.db, database.dialect, clock, handlers, log, { ...workerOptions, backoffMs });
}

/**
 * The file side: blob store (swept of orphans from a crash before anything else runs), metadata extraction,
 * renditions and the job worker that makes them.
 */
export async function createAssetRuntime(database: DatabaseHandle, config: Config, clock: Clock, log: FastifyBaseLogger): Promise<AssetRuntime> {
  const assetStore = new AssetStore(database.db);
  const blobs = createBlobStore(config, clock);
  await blobs.init();
  const swept = await blobs.collectGarbage((key) => assetStore.isBlobReferenced(key));
  if (swept.removed > 0) log.info({ removed: swept.removed }, 'removed unreferenced and temporary files left by an earlier run');

  const toolTimeoutMs = config.toolTimeoutSeconds * 1000;
  const embedded = new EmbeddedMetadataReader({ timeoutMs: toolTimeoutMs });
  const renditions = new RenditionService(database, blobs, join(config.dataDir, 'tmp'), clock, toolTimeoutMs);
  const handlers: Record<string, JobHandler> = {
    [RENDER_JOB]: {
      run: (job) => renditions.renderStandard(job.assetId!, Number(job.payload.contentEtag)),
      giveUp: (job, reason) => renditions.markFailed(job.assetId!, Number(job.payload.contentEtag), reason),
    },
  };
  const jobs = createJobQueue(database, config, clock, handlers, log);
  await jobs.init();
  const assets = new AssetService(database, clock, (path) => embedded.read(path), jobs);
  const requestSecretMs = config.requestSecretMinutes * 60_000;
  const signer = await UrlSigner.load(database.db, clock, requestSecretMs);
  const reindexed = await assets.reindexMissing();
  if (reindexed > 0) log.info({ reindexed }, 'indexed assets written before the search index existed');
  const search = new SearchService(database, clock);
  // Searches of the API run off the event loop on SQLite; the services' own lookups (bulk, move, copy) stay on
  // the main connection, where they see the transaction they are part of.
  const searchThreads =
    database.dialect === 'sqlite' && database.file && config.searchThreads > 0 ? new SearchThreads({ file: database.file, requestSecretMs }, config.searchThreads, clock) : undefined;
  const processes = new ProcessService(clock);
  return {
    assets,
    assetStore,
    blobs,
    renditions,
    signer,
    search,
    searcher: searchThreads ?? localSearcher(search, signer),
    folders: new FolderService(database, search, clock),
    bulk: new BulkService(assets, search, processes),
    processes,
    transfers: new TransferService(database, search, jobs, clock),
    jobs,
    async close() {
      await jobs.stop();
      await embedded.close();
      await searchThreads?.close();
    },
  };
}
