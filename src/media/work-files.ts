import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A fresh file name in the caller's work directory, so concurrent renders into one directory never collide. */
export function newOutputPath(workDir: string, role: string, extension: string): string {
  return join(workDir, `${role}-${randomBytes(8).toString('hex')}.${extension}`);
}

/** Size in bytes, or undefined when the file is not there (some tools exit 0 without writing anything). */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Best-effort cleanup of partial outputs after a failure; the original error is what matters. */
export async function removeQuietly(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { force: true }).catch(() => undefined)));
}
