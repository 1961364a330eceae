import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type Clock, systemClock } from '../lib/clock.js';
import { hashFile, stageToFile } from './stage-file.js';
import { type BlobStore, type ByteRange, type StagedBlob, type StoredBlob } from './blob-store.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;
const PART_SIZE = 8 * 1024 * 1024;
/** S3's limit; larger files get larger parts. */
const MAX_PARTS = 10_000;
/** Parts in flight per upload: memory per upload is at most this many parts. */
const QUEUE_SIZE = 4;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Errors that mean the store could not be reached, not that it refused. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export interface S3BlobStoreOptions {
  /** For S3-compatible servers (MinIO, Ceph, s3rver); AWS when absent. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Both or neither: without them the SDK's default chain (environment, profile, instance role) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `host/bucket/key` URLs instead of `bucket.host/key`: what most S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Keys start with this (e.g. `damson/`; a missing final slash is added), so a bucket can be shared. */
  prefix?: string;
  /** Local disk for staged uploads and local copies: tools such as ExifTool need a real file. */
  localTmpDir: string;
  /**
   * Garbage collection spares blobs and temporary files younger than this (default 24 h): with several nodes,
   * another node may have just uploaded a blob whose database row is not committed yet.
   */
  garbageGraceMs?: number;
  /** `init` creates a missing bucket instead of failing (for development and tests). */
  createBucket?: boolean;
  /**
   * How long connecting may take (default 5 s), and a connection may sit idle (default 60 s): a download whose
   * client stops reading for longer is cut off too (browsers resume a paused video with a range request).
   */
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  clock?: Clock;
}

/**
 * Blobs as objects `<prefix>blobs/ab/cd/<sha256>` in an S3 bucket, for deployments of several nodes. Uploads are
 * staged on local disk first (hashed while they stream, and readable by the metadata tools), then sent with a
 * multipart upload, which S3 makes visible only once complete: a key never names partial bytes.
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly blobPrefix: string;
  private readonly tmpDir: string;
  private readonly graceMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: S3BlobStoreOptions) {
    const { accessKeyId, secretAccessKey } = options;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
      requestHandler: { connectionTimeout: options.connectTimeoutMs ?? 5000, socketTimeout: options.idleTimeoutMs ?? 60_000 },
    });
    const prefix = options.prefix ?? '';
    this.blobPrefix = `${prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`}blobs/`;
    this.bucket = options.bucket;
    this.tmpDir = options.localTmpDir;
    this.graceMs = options.garbageGraceMs ?? DAY_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** Checks that the bucket answers (creating it only when asked to) and makes the local temporary directory. */
  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (!this.options.createBucket) throw new Error(`The S3 bucket ${this.bucket} does not exist`, { cause: error });
      const region = this.options.region;
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the default location and must not be named.
          CreateBucketConfiguration: region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint },
        }),
      );
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  async put(source: Readable, options: { maxBytes?: number } = {}): Promise<StoredBlob> {
    const staged = await this.stage(source, options);
    try {
      return await staged.commit();
    } finally {
      await staged.discard();
    }
  }

  async stage(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const tmpPath = this.newTmpPath('part');
    const { size, sha256 } = await stageToFile(source, tmpPath, maxBytes);
    return {
      size,
      sha256,
      localPath: tmpPath,
      commit: async () => {
        const stored = await this.upload(tmpPath, sha256, size);
        await rm(tmpPath, { force: true });
        return stored;
      },
      discard: () => rm(tmpPath, { force: true }),
    };
  }

  async adoptFile(path: string): Promise<StoredBlob> {
    const { size, sha256 } = await hashFile(path);
    const stored = await this.upload(path, sha256, size);
    await rm(path, { force: true });
    return stored;
  }

  read(key: string, range?: ByteRange): Readable {
    const objectKey = this.objectKey(key);
    const output = new PassThrough();
    this.streamObject(objectKey, range, output).catch((error: unknown) =>
      output.destroy(isNotFound(error) ? blobNotFound(key, error) : (error as Error)),
    );
    return output;
  }

  async size(key: string): Promise<number | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return head.ContentLength;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async localCopy(key: string): Promise<{ path: string; release(): Promise<void> }> {
    const objectKey = this.objectKey(key);
    const path = this.newTmpPath('copy');
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      await pipeline(response.Body as Readable, createWriteStream(path, { flags: 'wx' }));
    } catch (error) {
      await rm(path, { force: true });
      throw isNotFound(error) ? blobNotFound(key, error) : error;
    }
    return { path, release: () => rm(path, { force: true }) };
  }

  /**
   * Removes unreferenced blobs, local temporary files and abandoned multipart uploads, each only once older than
   * the grace period: younger ones may belong to work still in progress here or on another node.
   */
  async *list(): AsyncIterable<{ key: string; modifiedAt: number }> {
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.blobPrefix, ContinuationToken: continuationToken }));
      for (const object of page.Contents ?? []) {
        const key = object.Key ? this.blobKeyOf(object.Key) : undefined;
        if (key) yield { key, modifiedAt: object.LastModified?.getTime() ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async remove(key: string): Promise<void> {
    await this.deleteObjects([this.objectKey(key)]);
  }

  async collectGarbage(isReferenced: (key: string) => Promise<boolean>): Promise<{ removed: number }> {
    const cutoff = this.clock.now() - this.graceMs;
    let removed = 0;
    for (const name of await safeReaddir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const modified = await stat(path).then((info) => info.mtimeMs, () => undefined);
      if (modified === undefined || modified > cutoff) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    }
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.blobPrefix, ContinuationToken: continuationToken }),
      );
      const doomed: string[] = [];
      for (const object of page.Contents ?? []) {
        if (!object.Key || (object.LastModified?.getTime() ?? 0) > cutoff) continue;
        // Anything else under the prefix is not a blob: removed like a stray file in the file-system store.
        const key = this.blobKeyOf(object.Key);
        if (key !== undefined && (await isReferenced(key))) continue;
        doomed.push(object.Key);
      }
      removed += await this.deleteObjects(doomed);
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return { removed: removed + (await this.abortStaleUploads(cutoff)) };
  }

  /** Deletes up to 1000 objects in one request (a listing page is at most that). */
  private async deleteObjects(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const result = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
    );
    const failure = result.Errors?.[0];
    if (failure) throw new Error(`Could not delete ${result.Errors!.length} objects, ${failure.Key}: ${failure.Code} ${failure.Message}`);
    return keys.length;
  }

  /**
   * Aborts multipart uploads begun before `cutoff` (a node that died mid-upload leaves its parts billed but
   * invisible). Best effort: some S3-compatible servers (s3rver among them) do not implement this, and a bucket
   * lifecycle rule can do the same job; only an unreachable store is reported.
   */
  private async abortStaleUploads(cutoff: number): Promise<number> {
    let aborted = 0;
    try {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.blobPrefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || (upload.Initiated?.getTime() ?? 0) > cutoff) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
          aborted++;
        }
        [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
      } while (keyMarker);
    } catch (error) {
      if (isStoreUnavailable(error)) throw error;
    }
    return aborted;
  }

  private async streamObject(objectKey: string, range: ByteRange | undefined, output: PassThrough): Promise<void> {
    // A consumer that goes away (client disconnected) before S3 answers cancels the request; later, pipeline does.
    const abort = new AbortController();
    const cancel = () => abort.abort();
    output.once('close', cancel);
    let body: Readable;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
        { abortSignal: abort.signal },
      );
      body = response.Body as Readable;
      // A server that ignored the range would send more bytes than the caller announced to its client.
      if (range && (response.ContentLength ?? 0) > range.end - range.start + 1) {
        body.destroy();
        throw new Error(`Object storage answered ${response.ContentRange ?? 'with the whole object'} to a request for bytes ${range.start}-${range.end}`);
      }
    } finally {
      output.off('close', cancel);
    }
    await pipeline(body, output);
  }

  /** Sends a local file under its content address, unless the store has those bytes already. */
  private async upload(path: string, sha256: string, size: number): Promise<StoredBlob> {
    const key = this.objectKey(sha256);
    // Same key, same bytes: an object another node (or an earlier try) uploaded is as good as ours.
    if ((await this.size(sha256)) !== size) {
      const body = createReadStream(path);
      try {
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: key, Body: body },
          partSize: Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS)),
          queueSize: QUEUE_SIZE,
          // A failed upload is aborted, so its parts are not left behind.
          leavePartsOnError: false,
        }).done();
      } finally {
        body.destroy();
      }
    }
    return { key: sha256, size, sha256 };
  }

  private objectKey(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`Invalid blob key ${key}`);
    return `${this.blobPrefix}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
  }

  /** The content address an object key holds, if it is laid out as `objectKey` makes them. */
  private blobKeyOf(objectKey: string): string | undefined {
    const key = objectKey.slice(this.blobPrefix.length).split('/').pop() ?? '';
    return KEY_PATTERN.test(key) && this.objectKey(key) === objectKey ? key : undefined;
  }

  private newTmpPath(kind: 'part' | 'copy'): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.${kind}`);
  }
}

/**
 * True when `error` means object storage could not be reached or failed on its side (refused or dropped
 * connections, timeouts, 5xx answers), so the request may succeed later: the HTTP layer answers 503. A 501 (a
 * feature the server lacks) will not get better by retrying and is not counted.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, $metadata, errors, cause } = error as {
    code?: unknown;
    name?: unknown;
    $metadata?: { httpStatusCode?: number };
    errors?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (name === 'TimeoutError') return true;
  const status = $metadata?.httpStatusCode;
  if (status !== undefined && status >= 500 && status !== 501) return true;
  // Connecting to a host name with several addresses fails with one AggregateError holding each attempt's error.
  if (Array.isArray(errors) && errors.some(isStoreUnavailable)) return true;
  return cause !== undefined && cause !== error && isStoreUnavailable(cause);
}

function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || $metadata?.httpStatusCode === 404;
}

/** Shaped like the file-system store's error for a missing file, so callers can treat both alike. */
function blobNotFound(key: string, cause: unknown): Error {
  return Object.assign(new Error(`Blob ${key} not found`, { cause }), { code: 'ENOENT' });
}

async function safeReaddir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}
