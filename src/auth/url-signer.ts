import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';

export const REQUEST_SECRET_PARAMETER = 'requestSecret';
const SIGNING_KEY_SETTING = 'url_signing_key';

/**
 * Signs file URLs for `appendRequestSecret`: the secret is `<expiry>.<HMAC-SHA256(path, expiry)>`, so it opens
 * exactly one path until it expires, with or without a session (also after the caller logged out).
 */
export class UrlSigner {
  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** The key every node shares, created once and kept in the database. */
  static async load(db: Kysely<Database>, clock: Clock, ttlMs: number): Promise<UrlSigner> {
    await db
      .insertInto('settings')
      .values({ key: SIGNING_KEY_SETTING, value: randomBytes(32).toString('hex') })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return UrlSigner.read(db, clock, ttlMs);
  }

  /** The key `load` made, on a read-only connection (search threads). */
  static async read(db: Kysely<Database>, clock: Clock, ttlMs: number): Promise<UrlSigner> {
    const row = await db.selectFrom('settings').select('value').where('key', '=', SIGNING_KEY_SETTING).executeTakeFirstOrThrow();
    return new UrlSigner(Buffer.from(row.value, 'hex'), clock, ttlMs);
  }

  sign(path: string): string {
    const expires = this.clock.now() + this.ttlMs;
    return `${expires}.${this.mac(path, expires).toString('base64url')}`;
  }

  verify(path: string, secret: string): boolean {
    const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(secret);
    if (!match) return false;
    const expires = Number(match[1]);
    if (expires < this.clock.now()) return false;
    const expected = this.mac(path, expires);
    const given = Buffer.from(match[2]!, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(path: string, expires: number): Buffer {
    return createHmac('sha256', this.key).update(`${expires}\n${path}`).digest();
  }
}
