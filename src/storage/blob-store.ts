import type { Readable } from 'node:stream';

export interface StoredBlob {
  /** Content address: the SHA-256 (hex) of the bytes. */
  key: string;
  size: number;
  sha256: string;
}

export interface StagedBlob {
  size: number;
  sha256: string;
  /** Where the staged bytes are on local disk (for metadata extraction before committing). */
  localPath: string;
  /** Makes the blob durable under its content address. */
  commit(): Promise<StoredBlob>;
  /** Removes the temporary copy. */
  discard(): Promise<void>;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Where file bytes live. Blobs are content-addressed and immutable: a key always names the same bytes, so a blob
 * is written once and only garbage collection removes it. A blob is complete and durable before `put` resolves.
 */
export interface BlobStore {
  /**
   * Streams `source` to temporary storage, hashing it on the way. Rejects (leaving nothing behind) when the
   * stream fails or exceeds `maxBytes`. The caller then commits the staged blob, or discards it.
   */
  stage(source: Readable, options?: { maxBytes?: number }): Promise<StagedBlob>;
  /** `stage` and `commit` in one step. */
  put(source: Readable, options?: { maxBytes?: number }): Promise<StoredBlob>;
  /**
   * Takes a local file (a rendition a tool just wrote) into the store. The file is moved, not copied, when the
   * store is on the same disk: the caller must not use the path afterwards.
   */
  adoptFile(path: string): Promise<StoredBlob>;
  read(key: string, range?: ByteRange): Readable;
  size(key: string): Promise<number | undefined>;
  /** A path on local disk holding the blob, for tools that need one; `release` when done. */
  localCopy(key: string): Promise<{ path: string; release(): Promise<void> }>;
  /** Every blob in the store, with when it was written (for `damson fsck`). */
  list(): AsyncIterable<{ key: string; modifiedAt: number }>;
  /** Deletes one blob; a missing one is not an error. */
  remove(key: string): Promise<void>;
  /** Removes every blob whose key `isReferenced` denies, and any leftover temporary files. */
  collectGarbage(isReferenced: (key: string) => Promise<boolean>): Promise<{ removed: number }>;
}

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The file is larger than the maximum of ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}
