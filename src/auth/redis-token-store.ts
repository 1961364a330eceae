import type { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, RedisScript } from '../lib/redis.js';
import type { AuthTokenStore, StoredToken } from './token-store.js';

export interface RedisAuthTokenStoreOptions {
  /** The absolute session lifetime: Redis drops an entry this long after its creation, even if no sweep runs. */
  absoluteTimeoutMs: number;
  keyPrefix?: string;
}

/*
 * Layout, under the prefix:
 *   token:<tokenHash>        a hash with the StoredToken fields (null fields are left out)
 *   user-tokens:<userId>     a set of that user's token hashes, for revokeAllForUser
 *   tokens-by-last-seen      sorted sets of token hashes scored by lastSeenAt and createdAt, so deleteExpired
 *   tokens-by-created        finds expired entries without scanning the keyspace
 *
 * Every write that touches more than one key is a Lua script rather than MULTI: Redis runs a script as one
 * step, so a create racing revokeAllForUser lands either wholly before it (and is removed with the rest) or
 * wholly after it (and stays a valid session), never half-written. revokeAllForUser also has to read the set
 * to know which keys to delete, which MULTI cannot do without WATCH and retries; and a script's failure is one
 * rejected promise, where MULTI reports errors per command inside a successful reply. Scripts derive key names
 * from the prefix, which suits one Redis (or a Sentinel-managed primary) but not Redis Cluster.
 */
const PRELUDE = `
local prefix = ARGV[1]
local byLastSeen = prefix .. 'tokens-by-last-seen'
local byCreated = prefix .. 'tokens-by-created'
local function tokenKey(tokenHash) return prefix .. 'token:' .. tokenHash end
local function userKey(userId) return prefix .. 'user-tokens:' .. userId end
-- Removes a token and its index entries; 1 if the token itself still existed.
local function dropToken(tokenHash)
  local key = tokenKey(tokenHash)
  local userId = redis.call('HGET', key, 'userId')
  if userId then redis.call('SREM', userKey(userId), tokenHash) end
  redis.call('ZREM', byLastSeen, tokenHash)
  redis.call('ZREM', byCreated, tokenHash)
  return redis.call('DEL', key)
end
`;

// ARGV: prefix, ttlMs, tokenHash, userId, createdAt, lastSeenAt, then field/value pairs of the hash.
const CREATE = new RedisScript(`${PRELUDE}
local tokenHash, userId = ARGV[3], ARGV[4]
local key = tokenKey(tokenHash)
-- Like the table's primary key: a token is never silently replaced.
if redis.call('EXISTS', key) == 1 then return redis.error_reply('ERR token already exists') end
redis.call('HSET', key, unpack(ARGV, 7))
redis.call('PEXPIRE', key, ARGV[2])
-- The set lives as long as the user's newest token.
redis.call('SADD', userKey(userId), tokenHash)
redis.call('PEXPIRE', userKey(userId), ARGV[2])
redis.call('ZADD', byCreated, ARGV[5], tokenHash)
redis.call('ZADD', byLastSeen, ARGV[6], tokenHash)
return 1
`);

// ARGV: prefix, tokenHash, lastSeenAt. Changes nothing when the token is gone, so a logout cannot be undone.
const TOUCH = new RedisScript(`${PRELUDE}
local key = tokenKey(ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'lastSeenAt', ARGV[3])
redis.call('ZADD', byLastSeen, ARGV[3], ARGV[2])
return 1
`);

// ARGV: prefix, tokenHash.
const REVOKE = new RedisScript(`${PRELUDE}
return dropToken(ARGV[2])
`);

// ARGV: prefix, userId.
const REVOKE_ALL_FOR_USER = new RedisScript(`${PRELUDE}
local tokens = redis.call('SMEMBERS', userKey(ARGV[2]))
for _, tokenHash in ipairs(tokens) do dropToken(tokenHash) end
redis.call('DEL', userKey(ARGV[2]))
return #tokens
`);

// ARGV: prefix, idleCutoff, createdCutoff, batch size. Returns {tokens deleted, index entries visited}.
const DELETE_EXPIRED = new RedisScript(`${PRELUDE}
local deleted, visited = 0, 0
for _, index in ipairs({{byLastSeen, ARGV[2]}, {byCreated, ARGV[3]}}) do
  -- '(' makes the bound exclusive, as the SQL store's "<".
  local hashes = redis.call('ZRANGEBYSCORE', index[1], '-inf', '(' .. index[2], 'LIMIT', 0, ARGV[4])
  for _, tokenHash in ipairs(hashes) do
    visited = visited + 1
    deleted = deleted + dropToken(tokenHash)
  end
end
return {deleted, visited}
`);

/** Small batches keep each script short, so it never holds up other clients for long. */
const SWEEP_BATCH = 500;

/** Sessions and API tokens in Redis, shared by every node; nothing is cached, so a logout counts everywhere at once. */
export class RedisAuthTokenStore implements AuthTokenStore {
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly client: Redis,
    options: RedisAuthTokenStoreOptions,
  ) {
    if (!Number.isSafeInteger(options.absoluteTimeoutMs) || options.absoluteTimeoutMs <= 0) {
      throw new Error('absoluteTimeoutMs must be a positive whole number of milliseconds');
    }
    this.prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.ttlMs = options.absoluteTimeoutMs;
  }

  async create(token: StoredToken): Promise<void> {
    const fields: (string | number)[] = ['kind', token.kind, 'userId', token.userId, 'createdAt', token.createdAt, 'lastSeenAt', token.lastSeenAt];
    if (token.csrfHash !== null) fields.push('csrfHash', token.csrfHash);
    if (token.clientType !== null) fields.push('clientType', token.clientType);
    if (token.clientId !== null) fields.push('clientId', token.clientId);
    const args = [this.prefix, this.ttlMs, token.tokenHash, token.userId, token.createdAt, token.lastSeenAt, ...fields];
    await CREATE.run(this.client, [], args);
  }

  async find(tokenHash: string): Promise<StoredToken | undefined> {
    const entry = await this.client.hgetall(`${this.prefix}token:${tokenHash}`);
    if (entry.kind !== 'session' && entry.kind !== 'api') return undefined; // missing (or not ours): not a token
    if (entry.userId === undefined) return undefined;
    return {
      tokenHash,
      kind: entry.kind,
      userId: entry.userId,
      csrfHash: entry.csrfHash ?? null,
      clientType: entry.clientType ?? null,
      clientId: entry.clientId ?? null,
      createdAt: Number(entry.createdAt),
      lastSeenAt: Number(entry.lastSeenAt),
    };
  }

  async touch(tokenHash: string, lastSeenAt: number): Promise<void> {
    await TOUCH.run(this.client, [], [this.prefix, tokenHash, lastSeenAt]);
  }

  async revoke(tokenHash: string): Promise<void> {
    await REVOKE.run(this.client, [], [this.prefix, tokenHash]);
  }

  async listForUser(userId: string): Promise<StoredToken[]> {
    const hashes = await this.client.smembers(`${this.prefix}user-tokens:${userId}`);
    const tokens = await Promise.all(hashes.map((hash) => this.find(hash)));
    // The set may still name an entry that expired on its own: find() skips those.
    return tokens.filter((token): token is StoredToken => token !== undefined && token.userId === userId);
  }

  async countActive(idleCutoff: number): Promise<number> {
    return this.client.zcount(`${this.prefix}tokens-by-last-seen`, idleCutoff, '+inf');
  }

  async revokeAllForUser(userId: string): Promise<void> {
    await REVOKE_ALL_FOR_USER.run(this.client, [], [this.prefix, userId]);
  }

  async deleteExpired(idleCutoff: number, createdCutoff: number): Promise<number> {
    let total = 0;
    for (;;) {
      const [deleted, visited] = (await DELETE_EXPIRED.run(this.client, [], [this.prefix, idleCutoff, createdCutoff, SWEEP_BATCH])) as [number, number];
      total += deleted;
      if (visited === 0) return total;
    }
  }
}
