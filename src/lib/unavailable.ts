import { isRedisUnavailable } from './redis.js';

/**
 * Whether an error means "a store this request needs cannot be reached right now" (database, Redis, object
 * storage), as opposed to a bug or bad input. Such requests fail closed with 503 and Retry-After: never an
 * unauthenticated pass, never a 500 that looks like Damson's fault. Nodes recover on their own: every store
 * client reconnects in the background.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** PostgreSQL SQLSTATEs for a server that is going away or not accepting connections (class 08 and 57P0x). */
const POSTGRES_UNAVAILABLE = /^(08\d{3}|57P0[1-3])$/;
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i, // pg, when the server goes away mid-query
  /connection is closed/i, // ioredis
  /stream isn't writeable/i, // ioredis with the offline queue off
  /max(imum)? ?retries/i, // ioredis MaxRetriesPerRequestError
  /timeout exceeded when trying to connect/i, // pg pool
];
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout']);

export function isStoreUnavailable(error: unknown): boolean {
  if (isRedisUnavailable(error)) return true;
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const { code, name, message, $metadata } = current as { code?: unknown; name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
    if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    // The AWS SDK: a 5xx from the object store.
    if (($metadata?.httpStatusCode ?? 0) >= 500) return true;
    // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1).
    if (Array.isArray((current as { errors?: unknown }).errors) && (current as { errors: unknown[] }).errors.some((inner) => isStoreUnavailable(inner))) return true;
  }
  return false;
}

/** The disk (or the database's disk) is full: 507, and nothing half-written is kept. */
export function isOutOfSpace(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    const { code } = current as { code?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === '53100') return true;
  }
  return false;
}
