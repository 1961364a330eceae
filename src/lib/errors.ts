/**
 * An error a caller can act on: it carries the HTTP status the wire reports as `errorcode`, and a message
 * safe to show. Anything else that escapes a handler is reported as a generic 500 and logged.
 */
export class DamsonError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'DamsonError';
  }
}

export const badRequest = (message: string): DamsonError => new DamsonError(400, message);
export const notLoggedIn = (): DamsonError => new DamsonError(401, 'Not logged in');
export const forbidden = (message: string): DamsonError => new DamsonError(403, message);
export const notFound = (message = 'Not found'): DamsonError => new DamsonError(404, message);
export const conflict = (message: string): DamsonError => new DamsonError(409, message);
export const tooManyRequests = (message: string, retryAfterSeconds: number): DamsonError =>
  new DamsonError(429, message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
/** A store the request needs (database, Redis, object storage) cannot be reached: fail closed, ask to retry. */
export const serviceUnavailable = (message: string, retryAfterSeconds = 5): DamsonError =>
  new DamsonError(503, message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
