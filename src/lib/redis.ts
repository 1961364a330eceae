import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

/** Prefix of every key Damson writes, so it can share a Redis with other applications (and tests with each other). */
export const DEFAULT_KEY_PREFIX = 'damson:';

/** The part of a pino/Fastify logger this module uses. */
export interface RedisLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface RedisConnectOptions {
  /** How long one connection attempt may take. */
  connectTimeoutMs?: number;
  /** How long a command may wait for its answer (a hung or partitioned Redis). */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts. */
  maxReconnectDelayMs?: number;
  logger?: RedisLogger;
}

/**
 * A client that fails fast while Redis is down, so requests get a 503 at once instead of piling up, and that
 * keeps reconnecting in the background, so a node recovers by itself when Redis returns. Commands sent before
 * the first connection is ready fail too: wait with `redisReady` at start.
 */
export function connectRedis(url: string, options: RedisConnectOptions = {}): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const client = new Redis(url, {
    // No queueing while disconnected: a command either runs now or rejects now.
    enableOfflineQueue: false,
    // A command caught by a dropped connection is retried on one reconnection at most, then rejected.
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    // Capped exponential backoff, with jitter so that many nodes do not all reconnect in the same instant.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, maxDelay) + Math.floor(Math.random() * 100),
  });
  const logger = options.logger ?? consoleLogger;
  // Without a listener an 'error' event would be unhandled. Log once per outage, not once per attempt, and only
  // the error's code and message: never the URL, which may carry a password.
  let down = false;
  client.on('error', (error: Error & { code?: string }) => {
    if (down) return;
    down = true;
    logger.warn({ code: error.code, message: error.message }, 'Redis is unavailable; reconnecting in the background');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({}, 'Redis is available again');
  });
  return client;
}

const consoleLogger: RedisLogger = {
  warn: (details, message) => console.warn(message, details),
  info: (details, message) => console.info(message, details),
};

/** Resolves once the client is connected; rejects after `timeoutMs` (the client keeps trying in the background). */
export function redisReady(client: Redis, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const timer = setTimeout(() => done(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
    client.on('ready', onReady);
  });
}

/** For a readiness check: true only when Redis answers now. */
export async function pingRedis(client: Redis, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([client.ping().then((answer) => answer === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes politely when connected, at once otherwise; stops the reconnection attempts either way. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNAVAILABLE_MESSAGES = [
  /^Connection is closed/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^Command timed out/,
  /^Command aborted due to connection close/,
  /^connect ETIMEDOUT/,
  /^Socket timeout/,
  // Redis answers but cannot serve yet: still loading its data, or a replica without its master.
  /^(LOADING|MASTERDOWN|TRYAGAIN) /,
];

/** Whether an error means "Redis cannot be reached right now" (answer 503), as opposed to a bug (500). */
export function isRedisUnavailable(error: unknown): boolean {
  return unavailable(error, 0);
}

function unavailable(error: unknown, depth: number): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  // A wrapped cause, or one of several connection attempts (IPv6 and IPv4) that all failed.
  const inner = error instanceof AggregateError ? error.errors : [error.cause];
  return inner.some((candidate) => unavailable(candidate, depth + 1));
}

/** A Lua script run by its SHA1, sent in full only when Redis does not know it yet (after a restart, say). */
export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
