import { availableParallelism } from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/**
 * argon2id with explicit parameters, at OWASP's recommended minimum (m=19456 KiB, t=2, p=1).
 * Hashing runs on libuv's thread pool, so logins never block the event loop.
 */
export const ARGON2_PARAMETERS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Longer passwords fail at once, without hashing: hashing megabytes is a denial-of-service lever. */
export const PASSWORD_MAX_BYTES = 1024;

export function isPasswordTooLong(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES;
}

/**
 * At most this many hashes run at once: a burst of logins would otherwise take every core and starve the event
 * loop, so that every other request waited for the burst. One core stays free; extra logins queue here.
 */
const MAX_CONCURRENT_HASHES = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, ARGON2_PARAMETERS));
}

/** Checks a password against an argon2 or (imported, legacy) bcrypt hash. Malformed hashes never match. */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    if (/^\$2[aby]\$/.test(storedHash)) return await limited(() => bcrypt.compare(password, storedHash));
    return await limited(() => verify(storedHash, password));
  } catch {
    return false;
  }
}

/** True when a hash is not argon2id with at least our parameters, so a successful login should replace it. */
export function needsRehash(storedHash: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
  if (!match) return true;
  const [, memory, time, parallelism] = match.map(Number);
  return (
    memory! < ARGON2_PARAMETERS.memoryCost || time! < ARGON2_PARAMETERS.timeCost || parallelism! < ARGON2_PARAMETERS.parallelism
  );
}
