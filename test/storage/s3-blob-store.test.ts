import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobTooLargeError } from '../../src/storage/blob-store.js';
import { isStoreUnavailable, S3BlobStore, type S3BlobStoreOptions } from '../../src/storage/s3-blob-store.js';
import { S3_TEST_CREDENTIALS, S3_TEST_REGION, startS3 } from '../helpers/s3.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Feeds `bytes` in 64 KiB chunks, as an upload arrives. */
function streamOf(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 64 * 1024) chunks.push(bytes.subarray(offset, offset + 64 * 1024));
  return Readable.from(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function streamError(stream: Readable): Promise<Error> {
  try {
    await readAll(stream);
  } catch (error) {
    return error as Error;
  }
  throw new Error('The stream ended without an error');
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP proxy to `targetPort` that drops every connection, and stops listening, once `cutAfter` bytes have passed
 * in the given direction: object storage going away in the middle of a transfer.
 */
async function cuttingProxy(targetPort: number, direction: 'upload' | 'download', cutAfter: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let passed = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    const [source, sink] = direction === 'upload' ? [client, upstream] : [upstream, client];
    sink.pipe(source); // the other direction flows freely
    source.on('data', (chunk: Buffer) => {
      passed += chunk.length;
      if (passed <= cutAfter) return void sink.write(chunk);
      server.close();
      for (const socket of sockets) socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('S3BlobStore against s3rver', () => {
  let s3: Awaited<ReturnType<typeof startS3>>;
  let client: S3Client;
  const cleanups: (() => Promise<unknown> | void)[] = [];
  let storeCount = 0;

  before(async () => {
    s3 = await startS3();
    client = new S3Client({ endpoint: s3.endpoint, region: S3_TEST_REGION, forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    client.destroy();
    await s3.close();
  });

  /** A store with a prefix and temporary directory of its own, so tests see only their own objects. */
  async function newStore(options: Partial<S3BlobStoreOptions> = {}): Promise<S3BlobStore> {
    const localTmpDir = await mkdtemp(join(tmpdir(), 'damson-s3-store-'));
    const store = new S3BlobStore({
      endpoint: s3.endpoint,
      region: S3_TEST_REGION,
      bucket: s3.bucket,
      ...S3_TEST_CREDENTIALS,
      forcePathStyle: true,
      prefix: `store-${++storeCount}/`,
      localTmpDir,
      ...options,
    });
    cleanups.push(() => store.close(), () => rm(localTmpDir, { recursive: true, force: true }));
    await store.init();
    return store;
  }

  async function objectKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  const tmpFiles = (store: S3BlobStore) => readdir(tmpDirOf(store));
  const tmpDirOf = (store: S3BlobStore) => (store as unknown as { tmpDir: string }).tmpDir;

  test('bytes of several sizes come back identical, stored under prefix/blobs/ab/cd/<sha256>', async () => {
    const store = await newStore({ prefix: 'layout' });
    // 20 MiB is three parts of 8 MiB: a real multipart upload.
    for (const size of [0, 1, 100_000, 20 * MiB]) {
      const bytes = randomBytes(size);
      const stored = await store.put(streamOf(bytes));
      assert.deepEqual(stored, { key: sha256(bytes), sha256: sha256(bytes), size });
      assert.equal(sha256(await readAll(store.read(stored.key))), sha256(bytes), `${size} bytes`);
      assert.equal(await store.size(stored.key), size);
      const head = await client.send(
        new HeadObjectCommand({ Bucket: s3.bucket, Key: `layout/blobs/${stored.key.slice(0, 2)}/${stored.key.slice(2, 4)}/${stored.key}` }),
      );
      assert.equal(head.ContentLength, size);
    }
    assert.deepEqual(await tmpFiles(store), []);
  });

  test('list names every blob under the prefix once; remove deletes one and tolerates a missing one', async () => {
    const store = await newStore({ prefix: 'listing/' });
    const keys = [];
    for (let n = 0; n < 3; n += 1) keys.push((await store.put(streamOf(randomBytes(1000 + n)))).key);
    const listed = async () => {
      const found: string[] = [];
      for await (const blob of store.list()) {
        assert.ok(blob.modifiedAt > Date.now() - 60 * 60 * 1000, 'modifiedAt is when it was written');
        found.push(blob.key);
      }
      return found.sort();
    };
    assert.deepEqual(await listed(), [...keys].sort());
    await store.remove(keys[0]!);
    await store.remove(keys[0]!);
    assert.deepEqual(await listed(), keys.slice(1).sort());
  });

  test('ranged reads return exactly the requested bytes, end inclusive', async () => {
    const store = await newStore();
    const bytes = randomBytes(9 * MiB);
    const { key } = await store.put(streamOf(bytes));
    const ranges = [
      { start: 0, end: 0 },
      { start: 0, end: 99 },
      { start: 4 * MiB, end: 4 * MiB + 12_345 },
      { start: 8 * MiB - 10, end: 8 * MiB + 10 },
      { start: bytes.length - 1, end: bytes.length - 1 },
    ];
    for (const range of ranges) {
      assert.deepEqual(await readAll(store.read(key, range)), bytes.subarray(range.start, range.end + 1), JSON.stringify(range));
    }
  });

  test('a reader that stops early (a client gone) ends the download and leaves the store usable', async () => {
    const store = await newStore();
    const bytes = randomBytes(9 * MiB);
    const { key } = await store.put(streamOf(bytes));
    for (let attempt = 0; attempt < 20; attempt++) {
      const stream = store.read(key);
      if (attempt % 2 === 0) await new Promise((resolve) => stream.once('data', resolve));
      stream.destroy();
    }
    assert.equal(sha256(await readAll(store.read(key))), sha256(bytes));
  });

  test('staging keeps a local file for the metadata tools; commit uploads it and removes it', async () => {
    const store = await newStore();
    const bytes = randomBytes(50_000);
    const staged = await store.stage(streamOf(bytes));
    assert.equal(staged.sha256, sha256(bytes));
    assert.deepEqual(await readFile(staged.localPath), bytes);
    assert.equal(await store.size(staged.sha256), undefined, 'nothing is in S3 before commit');
    const stored = await staged.commit();
    assert.equal(await store.size(stored.key), bytes.length);
    assert.equal(existsSync(staged.localPath), false);
    await staged.discard(); // what the upload code does after every request: harmless after a commit
    assert.equal(await store.size(stored.key), bytes.length);
  });

  test('a file over maxBytes is refused and leaves neither an object nor a temporary file', async () => {
    const store = await newStore({ prefix: 'too-large/' });
    await assert.rejects(store.stage(streamOf(randomBytes(5000)), { maxBytes: 4999 }), BlobTooLargeError);
    await assert.rejects(store.put(streamOf(randomBytes(3 * MiB)), { maxBytes: MiB }), BlobTooLargeError);
    assert.deepEqual(await tmpFiles(store), []);
    assert.deepEqual(await objectKeys('too-large/'), []);
  });

  test('discard removes the staged file and uploads nothing', async () => {
    const store = await newStore({ prefix: 'discarded/' });
    const staged = await store.stage(streamOf(randomBytes(10_000)));
    await staged.discard();
    assert.deepEqual(await tmpFiles(store), []);
    assert.deepEqual(await objectKeys('discarded/'), []);
  });

  test('the same content committed twice yields the same key and one object', async () => {
    const store = await newStore({ prefix: 'twice/' });
    const bytes = randomBytes(200_000);
    const first = await (await store.stage(streamOf(bytes))).commit();
    const second = await (await store.stage(streamOf(bytes))).commit();
    const [third, fourth] = await Promise.all([store.put(streamOf(bytes)), store.put(streamOf(bytes))]);
    for (const stored of [second, third, fourth]) assert.deepEqual(stored, first);
    assert.equal((await objectKeys('twice/')).length, 1);
    assert.deepEqual(await readAll(store.read(first.key)), bytes);
    assert.deepEqual(await tmpFiles(store), []);
  });

  test('adoptFile uploads a local file and removes it', async () => {
    const store = await newStore();
    const bytes = randomBytes(70_000);
    const path = join(tmpDirOf(store), 'rendition.jpg');
    await writeFile(path, bytes);
    const stored = await store.adoptFile(path);
    assert.equal(stored.key, sha256(bytes));
    assert.equal(existsSync(path), false);
    assert.deepEqual(await readAll(store.read(stored.key)), bytes);
  });

  test('localCopy downloads the blob to a local file that release removes', async () => {
    const store = await newStore();
    const bytes = randomBytes(3 * MiB);
    const { key } = await store.put(streamOf(bytes));
    const copy = await store.localCopy(key);
    assert.deepEqual(await readFile(copy.path), bytes);
    await copy.release();
    assert.equal(existsSync(copy.path), false);
    assert.deepEqual(await tmpFiles(store), []);
  });

  test('a missing blob: size is undefined, read errors the stream, localCopy rejects, like a missing file', async () => {
    const store = await newStore();
    const missing = sha256(Buffer.from('never stored'));
    assert.equal(await store.size(missing), undefined);
    const error = await streamError(store.read(missing));
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOENT');
    assert.equal(isStoreUnavailable(error), false);
    await assert.rejects(store.localCopy(missing), { code: 'ENOENT' });
    assert.deepEqual(await tmpFiles(store), []);
  });

  test('malformed keys are refused before anything is asked of S3', async () => {
    const store = await newStore();
    for (const key of ['', 'abc', '../../etc/passwd', sha256(Buffer.from('x')).toUpperCase(), `${sha256(Buffer.from('x'))}/`]) {
      assert.throws(() => store.read(key), /Invalid blob key/);
      await assert.rejects(store.size(key), /Invalid blob key/);
      await assert.rejects(store.localCopy(key), /Invalid blob key/);
    }
  });

  test('garbage collection removes only unreferenced blobs older than the grace period', async () => {
    const prefix = 'gc/';
    const patient = await newStore({ prefix }); // default grace: 24 h
    const kept = await patient.put(streamOf(Buffer.from('referenced')));
    const orphan = await patient.put(streamOf(Buffer.from('not referenced')));
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'gc-neighbour/blobs/somebody-else', Body: 'x' }));
    const referenced = async (key: string) => key === kept.key;

    // Too young: another node may be about to commit the row that references it.
    assert.deepEqual(await patient.collectGarbage(referenced), { removed: 0 });
    assert.equal(await patient.size(orphan.key), orphan.size);

    const eager = await newStore({ prefix, garbageGraceMs: 0 });
    assert.deepEqual(await eager.collectGarbage(referenced), { removed: 1 });
    assert.equal(await eager.size(orphan.key), undefined);
    assert.equal(await eager.size(kept.key), kept.size);
    assert.deepEqual(await objectKeys('gc-neighbour/'), ['gc-neighbour/blobs/somebody-else'], 'objects outside the prefix are left alone');
  });

  test('garbage collection removes local temporary files only once they are older than the grace period', async () => {
    const store = await newStore({ garbageGraceMs: 60 * 60 * 1000 });
    const staged = await store.stage(streamOf(randomBytes(1000)));
    const stale = join(tmpDirOf(store), 'left-by-a-crash.part');
    await writeFile(stale, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    assert.deepEqual(await store.collectGarbage(async () => true), { removed: 1 });
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(staged.localPath), true, 'an upload in progress keeps its file');
    await staged.discard();
  });

  test('garbage collection pages through more than one listing (1000 objects)', async () => {
    const prefix = 'many/';
    const keys = Array.from({ length: 1005 }, (_, index) => sha256(Buffer.from(`blob ${index}`)));
    // Set up with plain unsigned PUTs (s3rver takes them): five times faster than through the SDK.
    for (let index = 0; index < keys.length; index += 50) {
      await Promise.all(
        keys.slice(index, index + 50).map(async (key) => {
          const url = `${s3.endpoint}/${s3.bucket}/${prefix}blobs/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
          assert.equal((await fetch(url, { method: 'PUT', body: 'x' })).status, 200);
        }),
      );
    }
    const store = await newStore({ prefix, garbageGraceMs: 0 });
    const even = new Set(keys.filter((_, index) => index % 2 === 0));
    assert.deepEqual(await store.collectGarbage(async (key) => even.has(key)), { removed: 502 });
    assert.equal((await objectKeys(prefix)).length, 503);
  });

  test('init finds a missing bucket, and creates it only when asked to', async () => {
    await assert.rejects(newStore({ bucket: 'damson-missing' }), /bucket damson-missing does not exist/);
    const store = await newStore({ bucket: 'damson-created', createBucket: true });
    const { key } = await store.put(streamOf(Buffer.from('in a new bucket')));
    assert.equal(await store.size(key), 15);
  });

  test('an unreachable store rejects (and says it is unavailable) without leaving files or crashing', async () => {
    const initError = await newStore({ endpoint: `http://127.0.0.1:${await closedPort()}` }).catch((error: unknown) => error);
    assert.ok(isStoreUnavailable(initError), `init: ${String(initError)}`);

    const offline = new S3BlobStore({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: S3_TEST_REGION,
      bucket: s3.bucket,
      ...S3_TEST_CREDENTIALS,
      forcePathStyle: true,
      localTmpDir: await mkdtemp(join(tmpdir(), 'damson-s3-offline-')),
    });
    cleanups.push(() => offline.close(), () => rm(tmpDirOf(offline), { recursive: true, force: true }));
    const unavailable = (error: unknown) => isStoreUnavailable(error);
    const key = sha256(Buffer.from('anything'));

    // Staging is local (the upload is still being received); the commit is what needs S3.
    const staged = await offline.stage(streamOf(randomBytes(1000)));
    await assert.rejects(staged.commit(), unavailable);
    assert.equal(existsSync(staged.localPath), true, 'kept until the caller discards it');
    await staged.discard();
    await assert.rejects(offline.put(streamOf(randomBytes(1000))), unavailable);
    assert.deepEqual(await tmpFiles(offline), []);
    await assert.rejects(offline.size(key), unavailable);
    assert.ok(unavailable(await streamError(offline.read(key))));
    await assert.rejects(offline.localCopy(key), unavailable);
    assert.deepEqual(await tmpFiles(offline), []);
    await assert.rejects(offline.collectGarbage(async () => false), unavailable);
  });

  test('a connection dropped in the middle of an upload or a download is an error, not a crash', async () => {
    const port = Number(new URL(s3.endpoint).port);
    const bytes = randomBytes(20 * MiB);

    const upload = await cuttingProxy(port, 'upload', 10 * MiB);
    cleanups.push(() => upload.close());
    const uploader = await newStore({ endpoint: `http://127.0.0.1:${upload.port}`, prefix: 'cut/' });
    await assert.rejects(uploader.put(streamOf(bytes)), (error) => isStoreUnavailable(error));
    assert.deepEqual(await tmpFiles(uploader), []);
    assert.deepEqual(await objectKeys('cut/'), [], 'no partial object');

    const { key } = await (await newStore({ prefix: 'cut/' })).put(streamOf(bytes));
    const download = await cuttingProxy(port, 'download', 5 * MiB);
    cleanups.push(() => download.close());
    const downloader = await newStore({ endpoint: `http://127.0.0.1:${download.port}`, prefix: 'cut/' });
    const error = await streamError(downloader.read(key));
    assert.ok(isStoreUnavailable(error), String(error));
    await assert.rejects(downloader.localCopy(key), (error) => isStoreUnavailable(error));
    assert.deepEqual(await tmpFiles(downloader), []);
  });

  test('isStoreUnavailable tells outages from refusals', () => {
    const withStatus = (status: number) => Object.assign(new Error('S3 said no'), { $metadata: { httpStatusCode: status } });
    assert.equal(isStoreUnavailable(withStatus(503)), true);
    assert.equal(isStoreUnavailable(withStatus(500)), true);
    assert.equal(isStoreUnavailable(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), true);
    assert.equal(isStoreUnavailable(new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })])), true);
    assert.equal(isStoreUnavailable(withStatus(403)), false);
    assert.equal(isStoreUnavailable(withStatus(404)), false);
    assert.equal(isStoreUnavailable(withStatus(501)), false);
    assert.equal(isStoreUnavailable(new BlobTooLargeError(10)), false);
    assert.equal(isStoreUnavailable(undefined), false);
  });
});
