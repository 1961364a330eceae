import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer secret: 256 bits from the CSPRNG, URL-safe. Used for session ids, API tokens and CSRF tokens. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The only form in which a secret is stored: its SHA-256, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Whether a presented secret matches a stored hash, in constant time. Hashing first gives both sides the same
 * length, so `timingSafeEqual` never throws; anything that is not a string (a missing or duplicated header)
 * is simply no match.
 */
export function secretMatchesHash(presented: unknown, storedHash: string | null): boolean {
  if (typeof presented !== 'string' || presented === '' || !storedHash) return false;
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
