import { randomBytes } from 'node:crypto';

/**
 * A new 22-character URL-safe id (`[A-Za-z0-9_-]{22}`), the format Assets clients validate.
 * 16 random bytes give 128 bits; base64url of 16 bytes is exactly 22 characters.
 */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}
