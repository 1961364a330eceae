import type { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, RedisScript } from '../lib/redis.js';
import type { FailureWindow, LoginThrottleStore } from './throttle-store.js';

/*
 * KEYS[1]: the window's hash (failures, windowStartedAt). ARGV: now, windowCutoff.
 * The same fixed window as SqlLoginThrottleStore.recordFailure, in one step so that concurrent failures on
 * several nodes are all counted. The key expires when its window ends (the window is now - windowCutoff long),
 * which is when callers stop looking at it anyway.
 */
const RECORD_FAILURE = new RedisScript(`
local now, cutoff = tonumber(ARGV[1]), tonumber(ARGV[2])
local started = tonumber(redis.call('HGET', KEYS[1], 'windowStartedAt'))
if started == nil or started <= cutoff then
  started = now
  redis.call('HSET', KEYS[1], 'failures', 1, 'windowStartedAt', ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], 'failures', 1)
end
redis.call('PEXPIRE', KEYS[1], math.max(1, math.floor(started - cutoff)))
return 1
`);

export interface RedisLoginThrottleStoreOptions {
  keyPrefix?: string;
}

/** Failed-login counters in Redis, shared by every node. */
export class RedisLoginThrottleStore implements LoginThrottleStore {
  private readonly prefix: string;

  constructor(
    private readonly client: Redis,
    options: RedisLoginThrottleStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  }

  async get(key: string): Promise<FailureWindow | undefined> {
    const [failures, windowStartedAt] = await this.client.hmget(this.keyFor(key), 'failures', 'windowStartedAt');
    if (failures == null || windowStartedAt == null) return undefined;
    return { failures: Number(failures), windowStartedAt: Number(windowStartedAt) };
  }

  async recordFailure(key: string, now: number, windowCutoff: number): Promise<void> {
    await RECORD_FAILURE.run(this.client, [this.keyFor(key)], [now, windowCutoff]);
  }

  async reset(key: string): Promise<void> {
    await this.client.del(this.keyFor(key));
  }

  /** Nothing to do: every window expires by itself when it ends. */
  async deleteExpired(_windowCutoff: number): Promise<number> {
    return 0;
  }

  private keyFor(key: string): string {
    return `${this.prefix}throttle:${key}`;
  }
}
