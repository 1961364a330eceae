import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** The credentials s3rver accepts. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3_TEST_REGION = 'us-east-1';

interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer: Server;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rver;

// s3rver ships no type declarations: load it through require and type the little the tests use.
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;

/**
 * Starts an in-process S3 server (s3rver) on 127.0.0.1, a random port and a fresh directory, with one bucket.
 * `close` stops it and removes the directory. Clients use S3_TEST_CREDENTIALS, S3_TEST_REGION and path-style URLs.
 */
export async function startS3(): Promise<{ endpoint: string; bucket: string; close(): Promise<void> }> {
  patchS3rver();
  const directory = await mkdtemp(join(tmpdir(), 'damson-s3-'));
  const bucket = 'damson-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    async close() {
      const closing = server.close();
      // Keep-alive sockets and streams a test left open would otherwise hold close() up.
      server.httpServer.closeAllConnections();
      await closing;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

let patched = false;

/** Works around two s3rver 3.7 faults, once per process. */
function patchS3rver(): void {
  if (patched) return;
  patched = true;
  allowContinuationTokens();
  honourFirstByteRange();
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES ('des'), which OpenSSL 3 (Node 17 and later)
 * keeps in its legacy provider, off unless node runs with --openssl-legacy-provider: every truncated listing, so
 * every paginated one, fails with a 500 (ERR_OSSL_EVP_UNSUPPORTED). 3DES with the same key three times computes
 * exactly single DES and is in the default provider, so 'des' alone is mapped to it; no other cipher is touched.
 */
function allowContinuationTokens(): void {
  type Factory = (algorithm: string, key: Buffer, ...rest: unknown[]) => unknown;
  const mutableCrypto = crypto as unknown as Record<'createCipheriv' | 'createDecipheriv', Factory>;
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = mutableCrypto[name];
    mutableCrypto[name] = (algorithm, key, ...rest) =>
      algorithm.toLowerCase() === 'des' ? original('des-ede3-cbc', Buffer.concat([key, key, key]), ...rest) : original(algorithm, key, ...rest);
  }
}

/**
 * s3rver reads the range end with `end || Infinity`, so `Range: bytes=0-0` (the first byte, which players and
 * download managers ask for) gets the whole object. Real S3 sends one byte; so does s3rver after this.
 */
function honourFirstByteRange(): void {
  interface RangedObject {
    content: Readable | null;
    range?: { start: number; end: number };
  }
  interface FilesystemStore {
    getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<RangedObject | null>;
    getResourcePath(bucket: string, key: string, resource: string): string;
  }
  const store = (require('s3rver/lib/stores/filesystem.js') as { prototype: FilesystemStore }).prototype;
  const getObject = store.getObject;
  store.getObject = async function (this: FilesystemStore, bucket, key, options) {
    const object = await getObject.call(this, bucket, key, options);
    if (object?.content && options?.end === 0) {
      object.content.destroy();
      object.content = createReadStream(this.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 });
      object.range = { start: 0, end: 0 };
    }
    return object;
  };
}
