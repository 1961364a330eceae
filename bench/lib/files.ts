import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MiB } from './report.js';

/** How long a transfer took and its rate. */
export interface Transfer {
  seconds: number;
  mibPerSecond: number;
}

export function transfer(bytes: number, ms: number): Transfer {
  return { seconds: ms / 1000, mibPerSecond: bytes / MiB / (ms / 1000) };
}

/** `bytes` pseudo-random bytes streamed to `path` 1 MiB at a time (never whole in memory); returns their SHA-256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let written = 0; written < bytes; written += MiB) {
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(MiB, bytes - written)));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return hash.digest('hex');
}

/** SHA-256 of a file, or of the bytes `start` to `end` (inclusive) of it. */
export async function hashFile(path: string, range?: { start: number; end: number }): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB, ...range })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
