import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { hashFile, stageToFile } from './stage-file.js';
import { type BlobStore, type ByteRange, type StagedBlob, type StoredBlob } from './blob-store.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `<root>/blobs/ab/cd/<sha256>`. Every write goes to `<root>/tmp` first, is hashed while it
 * streams, fsynced, and only then renamed into place (and the directory fsynced), so a crash at any moment leaves
 * either a complete blob or a temporary file that the next start sweeps away.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.blobDir = join(root, 'blobs');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  async put(source: Readable, options: { maxBytes?: number } = {}): Promise<StoredBlob> {
    return (await this.stage(source, options)).commit();
  }

  async stage(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const tmpPath = this.newTmpPath();
    const { size, sha256 } = await stageToFile(source, tmpPath, maxBytes);
    return {
      size,
      sha256,
      localPath: tmpPath,
      commit: () => this.commit(tmpPath, sha256, size),
      discard: () => rm(tmpPath, { force: true }),
    };
  }

  async adoptFile(path: string): Promise<StoredBlob> {
    // Work files live under <root>/tmp, on the same file system: hash, fsync and rename, no second copy.
    const { size, sha256 } = await hashFile(path);
    try {
      return await this.commit(path, sha256, size);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      return this.put(createReadStream(path));
    }
  }

  read(key: string, range?: ByteRange): Readable {
    return createReadStream(this.pathOf(key), range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch {
      return undefined;
    }
  }

  async localCopy(key: string): Promise<{ path: string; release(): Promise<void> }> {
    // Blobs are immutable and GC runs only at start, so the stored file itself can be handed out.
    return { path: this.pathOf(key), release: async () => {} };
  }

  async *list(): AsyncIterable<{ key: string; modifiedAt: number }> {
    for (const first of await safeReaddir(this.blobDir)) {
      for (const second of await safeReaddir(join(this.blobDir, first))) {
        for (const name of await safeReaddir(join(this.blobDir, first, second))) {
          if (!KEY_PATTERN.test(name)) continue;
          const info = await stat(join(this.blobDir, first, second, name)).catch(() => undefined);
          if (info) yield { key: name, modifiedAt: info.mtimeMs };
        }
      }
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async collectGarbage(isReferenced: (key: string) => Promise<boolean>): Promise<{ removed: number }> {
    let removed = 0;
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
      removed++;
    }
    for (const first of await safeReaddir(this.blobDir)) {
      for (const second of await safeReaddir(join(this.blobDir, first))) {
        for (const name of await safeReaddir(join(this.blobDir, first, second))) {
          if (KEY_PATTERN.test(name) && (await isReferenced(name))) continue;
          await rm(join(this.blobDir, first, second, name), { force: true });
          removed++;
        }
      }
    }
    return { removed };
  }

  private async commit(tmpPath: string, sha256: string, size: number): Promise<StoredBlob> {
    await fsyncPath(tmpPath);
    const finalPath = this.pathOf(sha256);
    const directory = join(finalPath, '..');
    await mkdir(directory, { recursive: true });
    // Same bytes under the same name: an existing blob is as good as ours.
    await rename(tmpPath, finalPath);
    await fsyncPath(directory);
    return { key: sha256, size, sha256 };
  }

  private pathOf(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new Error(`Invalid blob key ${key}`);
    return join(this.blobDir, key.slice(0, 2), key.slice(2, 4), key);
  }

  private newTmpPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function safeReaddir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}
