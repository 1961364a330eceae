import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectRedis, redisReady, type RedisLogger } from '../../src/lib/redis.js';

/** The Redis the tests use; each test run writes under a key prefix of its own and removes it after. */
export function redisUrlForTests(): string {
  return process.env.DAMSON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

let availability: Promise<string | undefined> | undefined;

/**
 * Undefined when Redis answers, else the reason it does not (for `skip`). Under CI=true an unreachable Redis is
 * a failure, not a skip.
 */
export async function redisUnavailableReason(): Promise<string | undefined> {
  availability ??= (async () => {
    const client = new Redis(redisUrlForTests(), {
      lazyConnect: true,
      connectTimeout: 2000,
      retryStrategy: () => null,
      disconnectTimeout: 100, // else a 2 s timer outlives the failed connection and delays the exit
    });
    let cause: Error | undefined; // the socket's error says more than connect()'s "Connection is closed."
    client.on('error', (error: Error) => (cause ??= error));
    try {
      await client.connect();
      await client.ping();
      return undefined;
    } catch (error) {
      return `Redis at ${redisUrlForTests().replace(/\/\/[^@]*@/, '//')} is not reachable: ${(cause ?? (error as Error)).message}`;
    } finally {
      client.disconnect();
    }
  })();
  const reason = await availability;
  if (reason && process.env.CI === 'true') throw new Error(`${reason} (required under CI=true)`);
  return reason;
}

/** Keeps the expected "Redis is unavailable" warnings out of the test output. */
export const silentRedisLogger: RedisLogger = { warn: () => {}, info: () => {} };

/** A key prefix no other test run uses. */
export function uniqueKeyPrefix(): string {
  return `damson-test:${randomUUID()}:`;
}

/** A connected client, configured as Damson configures its own. */
export async function connectTestRedis(): Promise<Redis> {
  const client = connectRedis(redisUrlForTests(), { logger: silentRedisLogger });
  await redisReady(client);
  return client;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
