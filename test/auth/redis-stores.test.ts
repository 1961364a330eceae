import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisLoginThrottleStore } from '../../src/auth/redis-throttle-store.js';
import { RedisAuthTokenStore } from '../../src/auth/redis-token-store.js';
import type { StoredToken } from '../../src/auth/token-store.js';
import { closeRedis, connectRedis, isRedisUnavailable, pingRedis, redisReady } from '../../src/lib/redis.js';
import { connectTestRedis, deleteKeys, redisUnavailableReason, redisUrlForTests, silentRedisLogger, uniqueKeyPrefix } from '../helpers/redis.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-01-15T09:00:00Z');

const skip = (await redisUnavailableReason()) ?? false;

function newToken(userId: string, overrides: Partial<StoredToken> = {}): StoredToken {
  return {
    tokenHash: randomBytes(32).toString('base64url'),
    kind: 'session',
    userId,
    csrfHash: randomBytes(32).toString('base64url'),
    clientType: 'web',
    clientId: null,
    createdAt: T0,
    lastSeenAt: T0,
    ...overrides,
  };
}

describe('Redis stores', { skip }, () => {
  const prefix = uniqueKeyPrefix();
  // Two connections stand for two Damson nodes sharing one Redis.
  let nodeA: Redis;
  let nodeB: Redis;
  let tokensA: RedisAuthTokenStore;
  let tokensB: RedisAuthTokenStore;
  let throttleA: RedisLoginThrottleStore;
  let throttleB: RedisLoginThrottleStore;

  before(async () => {
    [nodeA, nodeB] = await Promise.all([connectTestRedis(), connectTestRedis()]);
    tokensA = new RedisAuthTokenStore(nodeA, { absoluteTimeoutMs: 12 * HOUR, keyPrefix: prefix });
    tokensB = new RedisAuthTokenStore(nodeB, { absoluteTimeoutMs: 12 * HOUR, keyPrefix: prefix });
    throttleA = new RedisLoginThrottleStore(nodeA, { keyPrefix: prefix });
    throttleB = new RedisLoginThrottleStore(nodeB, { keyPrefix: prefix });
  });
  after(async () => {
    if (nodeA) await deleteKeys(nodeA, prefix);
    await Promise.all([nodeA && closeRedis(nodeA), nodeB && closeRedis(nodeB)]);
  });

  describe('tokens', () => {
    it('create, find, touch and revoke round-trip, nulls included', async () => {
      const session = newToken('user-1');
      const api = newToken('user-1', { kind: 'api', csrfHash: null, clientType: null, clientId: 'integration-7' });
      await tokensA.create(session);
      await tokensA.create(api);
      assert.deepEqual(await tokensA.find(session.tokenHash), session);
      assert.deepEqual(await tokensA.find(api.tokenHash), api);
      assert.equal(await tokensA.find(randomBytes(32).toString('base64url')), undefined);

      await tokensA.touch(session.tokenHash, T0 + 5 * MINUTE);
      assert.deepEqual(await tokensA.find(session.tokenHash), { ...session, lastSeenAt: T0 + 5 * MINUTE });

      await tokensA.revoke(session.tokenHash);
      assert.equal(await tokensA.find(session.tokenHash), undefined);
      assert.deepEqual(await tokensA.find(api.tokenHash), api, 'revoking one token leaves the others');
      await tokensA.revoke(session.tokenHash); // revoking twice is harmless
    });

    it('stores only what it is given (hashes), and gives every entry a TTL', async () => {
      const token = newToken('user-ttl');
      await tokensA.create(token);
      const ttl = await nodeA.pttl(`${prefix}token:${token.tokenHash}`);
      assert.ok(ttl > 12 * HOUR - MINUTE && ttl <= 12 * HOUR, `token TTL ${ttl}`);
      const setTtl = await nodeA.pttl(`${prefix}user-tokens:user-ttl`);
      assert.ok(setTtl > 12 * HOUR - MINUTE && setTtl <= 12 * HOUR, `user set TTL ${setTtl}`);
      await tokensA.touch(token.tokenHash, T0 + MINUTE);
      assert.ok((await nodeA.pttl(`${prefix}token:${token.tokenHash}`)) <= ttl, 'activity does not extend the absolute lifetime');
    });

    it('refuses to replace an existing token, like the primary key does', async () => {
      const token = newToken('user-dup');
      await tokensA.create(token);
      await assert.rejects(tokensB.create({ ...token, userId: 'someone-else' }), /token already exists/);
      assert.deepEqual(await tokensA.find(token.tokenHash), token);
    });

    it('a touch after a revoke does not bring the session back', async () => {
      const token = newToken('user-2');
      await tokensA.create(token);
      await tokensB.revoke(token.tokenHash);
      await tokensA.touch(token.tokenHash, T0 + MINUTE);
      assert.equal(await tokensA.find(token.tokenHash), undefined);
      assert.equal(await nodeA.exists(`${prefix}token:${token.tokenHash}`), 0, 'no partial entry was written');
    });

    it("listForUser lists one user's live tokens, from either node", async () => {
      const mine = [newToken('user-5'), newToken('user-5', { kind: 'api', csrfHash: null })];
      for (const token of [...mine, newToken('user-6')]) await tokensA.create(token);
      const byHash = (tokens: StoredToken[]) => [...tokens].sort((a, b) => a.tokenHash.localeCompare(b.tokenHash));
      assert.deepEqual(byHash(await tokensB.listForUser('user-5')), byHash(mine));
      await tokensB.revoke(mine[0]!.tokenHash);
      assert.deepEqual(await tokensA.listForUser('user-5'), [mine[1]]);
      assert.deepEqual(await tokensA.listForUser('nobody'), []);
    });

    it("revokeAllForUser removes every token of that user and leaves another user's", async () => {
      const mine = [newToken('user-3'), newToken('user-3', { kind: 'api', csrfHash: null }), newToken('user-3')];
      const theirs = newToken('user-4');
      for (const token of [...mine, theirs]) await tokensA.create(token);
      await tokensB.revokeAllForUser('user-3');
      for (const token of mine) assert.equal(await tokensA.find(token.tokenHash), undefined);
      assert.deepEqual(await tokensA.find(theirs.tokenHash), theirs);
      assert.equal(await nodeA.exists(`${prefix}user-tokens:user-3`), 0);
      await tokensA.revokeAllForUser('nobody'); // a user without tokens is fine
    });

    it('a create racing revokeAllForUser either survives whole or is removed whole', async () => {
      const userId = 'user-race';
      const created: StoredToken[] = [];
      const work: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        const token = newToken(userId);
        created.push(token);
        work.push((i % 2 ? tokensA : tokensB).create(token));
        if (i % 10 === 5) work.push((i % 3 ? tokensB : tokensA).revokeAllForUser(userId));
      }
      await Promise.all(work);
      const members = new Set(await nodeA.smembers(`${prefix}user-tokens:${userId}`));
      let survivors = 0;
      for (const token of created) {
        const found = await tokensB.find(token.tokenHash);
        if (found) {
          survivors++;
          assert.deepEqual(found, token);
          assert.ok(members.has(token.tokenHash), 'a surviving token is listed for its user, so a later revokeAllForUser finds it');
        } else {
          assert.equal(members.has(token.tokenHash), false);
        }
      }
      assert.equal(members.size, survivors);
      await tokensA.revokeAllForUser(userId);
      for (const token of created) assert.equal(await tokensB.find(token.tokenHash), undefined);
    });

    it('keeps working after Redis forgets its scripts (as after a restart)', async () => {
      const token = newToken('user-flush');
      await tokensA.create(token);
      await nodeB.script('FLUSH');
      await tokensA.touch(token.tokenHash, T0 + MINUTE);
      assert.equal((await tokensB.find(token.tokenHash))?.lastSeenAt, T0 + MINUTE);
      await tokensB.revoke(token.tokenHash);
      assert.equal(await tokensA.find(token.tokenHash), undefined);
    });

    it('two nodes see each other’s writes at once: create on A, find on B; touch on B, see it on A; revoke on B, gone on A', async () => {
      const token = newToken('user-5');
      await tokensA.create(token);
      assert.deepEqual(await tokensB.find(token.tokenHash), token);
      await tokensB.touch(token.tokenHash, T0 + 2 * MINUTE);
      assert.equal((await tokensA.find(token.tokenHash))?.lastSeenAt, T0 + 2 * MINUTE);
      await tokensB.revoke(token.tokenHash);
      assert.equal(await tokensA.find(token.tokenHash), undefined);
    });

    it('deleteExpired drops entries idle since before the idle cutoff or created before the created cutoff (strictly), and nothing else', async () => {
      // A prefix of its own: the other tests' tokens would be expired by these cutoffs too.
      const sweepA = new RedisAuthTokenStore(nodeA, { absoluteTimeoutMs: 12 * HOUR, keyPrefix: `${prefix}sweep:` });
      const sweepB = new RedisAuthTokenStore(nodeB, { absoluteTimeoutMs: 12 * HOUR, keyPrefix: `${prefix}sweep:` });
      const userId = 'user-sweep';
      const idleCutoff = T0 + 10 * HOUR;
      const createdCutoff = T0;
      const idle = newToken(userId, { createdAt: T0 + HOUR, lastSeenAt: idleCutoff - 1 });
      const old = newToken(userId, { createdAt: createdCutoff - 1, lastSeenAt: idleCutoff + HOUR });
      const atIdleCutoff = newToken(userId, { createdAt: T0 + HOUR, lastSeenAt: idleCutoff });
      const atCreatedCutoff = newToken(userId, { createdAt: createdCutoff, lastSeenAt: idleCutoff + HOUR });
      const touchedBack = newToken(userId, { createdAt: T0 + HOUR, lastSeenAt: T0 + HOUR });
      const revoked = newToken(userId, { createdAt: createdCutoff - HOUR, lastSeenAt: createdCutoff - HOUR });
      for (const token of [idle, old, atIdleCutoff, atCreatedCutoff, touchedBack, revoked]) await sweepA.create(token);
      await sweepA.touch(touchedBack.tokenHash, idleCutoff + MINUTE);
      await sweepA.revoke(revoked.tokenHash);

      assert.equal(await sweepB.deleteExpired(idleCutoff, createdCutoff), 2);
      assert.equal(await sweepA.find(idle.tokenHash), undefined);
      assert.equal(await sweepA.find(old.tokenHash), undefined);
      for (const kept of [atIdleCutoff, atCreatedCutoff]) assert.deepEqual(await sweepA.find(kept.tokenHash), kept);
      assert.equal((await sweepA.find(touchedBack.tokenHash))?.lastSeenAt, idleCutoff + MINUTE, 'the touch moved it out of reach');
      assert.deepEqual(
        new Set(await nodeA.smembers(`${prefix}sweep:user-tokens:${userId}`)),
        new Set([atIdleCutoff.tokenHash, atCreatedCutoff.tokenHash, touchedBack.tokenHash]),
      );
      assert.equal(await sweepB.deleteExpired(idleCutoff, createdCutoff), 0, 'a second sweep finds nothing');
    });
  });

  describe('login throttle', () => {
    const WINDOW = 15 * MINUTE;
    const record = (store: RedisLoginThrottleStore, key: string, now: number) => store.recordFailure(key, now, now - WINDOW);

    it('counts failures in fixed windows exactly as the SQL store does', async () => {
      const key = 'account:alice';
      assert.equal(await throttleA.get(key), undefined);
      await record(throttleA, key, T0);
      assert.deepEqual(await throttleB.get(key), { failures: 1, windowStartedAt: T0 });
      await record(throttleB, key, T0 + 5 * MINUTE);
      // Not at the window's last millisecond: the key expires in real time when the window ends, so a failure
      // 1 ms before the end would leave the key 1 ms to live and the next read would race it.
      await record(throttleA, key, T0 + 10 * MINUTE);
      assert.deepEqual(await throttleA.get(key), { failures: 3, windowStartedAt: T0 }, 'failures inside the window add up');

      // A window that started exactly at the cutoff is over: it restarts at now with one failure.
      await record(throttleA, key, T0 + WINDOW);
      assert.deepEqual(await throttleA.get(key), { failures: 1, windowStartedAt: T0 + WINDOW });
      await record(throttleA, key, T0 + WINDOW + MINUTE);
      assert.deepEqual(await throttleA.get(key), { failures: 2, windowStartedAt: T0 + WINDOW });
      // Long after the window, it restarts too.
      await record(throttleB, key, T0 + 10 * HOUR);
      assert.deepEqual(await throttleA.get(key), { failures: 1, windowStartedAt: T0 + 10 * HOUR });

      await throttleB.reset(key);
      assert.equal(await throttleA.get(key), undefined);
      await throttleA.reset('account:never-failed');
      assert.equal(await throttleA.deleteExpired(T0 + 20 * HOUR), 0);
    });

    it('keys are separate', async () => {
      await record(throttleA, 'ip:192.0.2.1', T0);
      await record(throttleA, 'ip:192.0.2.1', T0 + 1);
      await record(throttleA, 'ip:192.0.2.2', T0 + 2);
      assert.equal((await throttleB.get('ip:192.0.2.1'))?.failures, 2);
      assert.equal((await throttleB.get('ip:192.0.2.2'))?.failures, 1);
    });

    it('50 concurrent failures from two nodes are all counted', async () => {
      const key = 'account:contested';
      await Promise.all(Array.from({ length: 50 }, (_, i) => record(i % 2 ? throttleA : throttleB, key, T0 + i)));
      assert.deepEqual(await throttleA.get(key), { failures: 50, windowStartedAt: T0 });
    });

    it('a window disappears from Redis when it ends', async () => {
      const key = 'account:short-window';
      const now = Date.now();
      await throttleA.recordFailure(key, now, now - 200); // a 200 ms window
      const ttl = await nodeA.pttl(`${prefix}throttle:${key}`);
      assert.ok(ttl > 0 && ttl <= 200, `TTL ${ttl}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await throttleA.get(key), undefined);
      assert.equal(await nodeA.exists(`${prefix}throttle:${key}`), 0);
    });
  });

  describe('when Redis is unavailable', () => {
    it('every operation rejects quickly with an error isRedisUnavailable recognises, and nothing crashes', async () => {
      const port = await closedPort();
      const client = connectRedis(`redis://127.0.0.1:${port}`, { logger: silentRedisLogger });
      try {
        const tokens = new RedisAuthTokenStore(client, { absoluteTimeoutMs: HOUR, keyPrefix: prefix });
        const throttle = new RedisLoginThrottleStore(client, { keyPrefix: prefix });
        await new Promise((resolve) => setTimeout(resolve, 300)); // let a few connection attempts fail
        const token = newToken('user-down');
        const operations: [string, () => Promise<unknown>][] = [
          ['create', () => tokens.create(token)],
          ['find', () => tokens.find(token.tokenHash)],
          ['touch', () => tokens.touch(token.tokenHash, T0)],
          ['revoke', () => tokens.revoke(token.tokenHash)],
          ['revokeAllForUser', () => tokens.revokeAllForUser('user-down')],
          ['deleteExpired', () => tokens.deleteExpired(T0, T0)],
          ['throttle.get', () => throttle.get('ip:192.0.2.9')],
          ['recordFailure', () => throttle.recordFailure('ip:192.0.2.9', T0, T0 - MINUTE)],
          ['reset', () => throttle.reset('ip:192.0.2.9')],
        ];
        for (const [name, operation] of operations) {
          const started = Date.now();
          const error = await operation().then(
            () => assert.fail(`${name} succeeded without Redis`),
            (rejection: unknown) => rejection,
          );
          assert.ok(Date.now() - started < 2000, `${name} took ${Date.now() - started} ms`);
          assert.equal(isRedisUnavailable(error), true, `${name}: ${(error as Error).message}`);
        }
        assert.equal(await pingRedis(client), false);
        await assert.rejects(redisReady(client, 200), /not ready/);
      } finally {
        await closeRedis(client);
      }
    });

    it('a node fails fast while Redis is away and recovers by itself when it returns', async () => {
      const proxy = await startProxy();
      const client = connectRedis(proxy.url, { logger: silentRedisLogger, maxReconnectDelayMs: 200 });
      try {
        await redisReady(client);
        const throttle = new RedisLoginThrottleStore(client, { keyPrefix: prefix });
        await throttle.recordFailure('ip:198.51.100.1', T0, T0 - MINUTE);

        await proxy.stop();
        const started = Date.now();
        const error = await throttle.get('ip:198.51.100.1').then(() => assert.fail('answered without Redis'), (rejection: unknown) => rejection);
        assert.ok(Date.now() - started < 2000);
        assert.equal(isRedisUnavailable(error), true, (error as Error).message);
        assert.equal(await pingRedis(client), false);

        await proxy.start();
        await redisReady(client, 3000);
        assert.equal(await pingRedis(client), true);
        assert.deepEqual(await throttle.get('ip:198.51.100.1'), { failures: 1, windowStartedAt: T0 });
      } finally {
        await closeRedis(client);
        await proxy.stop();
      }
    });

    it('a Redis that stops answering makes commands time out as unavailable', async () => {
      const proxy = await startProxy();
      const client = connectRedis(proxy.url, { logger: silentRedisLogger, commandTimeoutMs: 300 });
      try {
        await redisReady(client);
        proxy.paused = true;
        const store = new RedisAuthTokenStore(client, { absoluteTimeoutMs: HOUR, keyPrefix: prefix });
        const started = Date.now();
        const error = await store.find('x').then(() => assert.fail('answered while paused'), (rejection: unknown) => rejection);
        assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
        assert.equal(isRedisUnavailable(error), true, (error as Error).message);
      } finally {
        await closeRedis(client);
        await proxy.stop();
      }
    });

    it('isRedisUnavailable does not mistake other errors for an outage', async () => {
      await nodeA.set(`${prefix}a-string`, 'x');
      const wrongType = await nodeA.hgetall(`${prefix}a-string`).catch((error: unknown) => error);
      assert.match((wrongType as Error).message, /WRONGTYPE/);
      assert.equal(isRedisUnavailable(wrongType), false);
      assert.equal(isRedisUnavailable(new Error('something else')), false);
      assert.equal(isRedisUnavailable('Connection is closed.'), false);
      assert.equal(isRedisUnavailable(undefined), false);
      assert.equal(isRedisUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
      const refused = Object.assign(new Error('connect ECONNREFUSED ::1:6379'), { code: 'ECONNREFUSED' });
      assert.equal(isRedisUnavailable(new AggregateError([refused])), true);
      assert.equal(isRedisUnavailable(new Error('wrapped', { cause: new Error('Command timed out') })), true);
    });
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Proxy {
  url: string;
  /** While true, the proxy swallows what clients send: Redis looks hung. */
  paused: boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A TCP proxy to the test Redis that can be taken away and brought back on the same port. */
async function startProxy(): Promise<Proxy> {
  const target = new URL(redisUrlForTests());
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const proxy: Proxy = {
    url: '',
    paused: false,
    async start() {
      server = createServer((downstream) => {
        const upstream = connect(Number(target.port || 6379), target.hostname);
        for (const socket of [downstream, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
        }
        downstream.on('data', (chunk) => proxy.paused || upstream.write(chunk));
        upstream.on('data', (chunk) => downstream.write(chunk));
        downstream.on('close', () => upstream.destroy());
        upstream.on('close', () => downstream.destroy());
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      const url = new URL(redisUrlForTests());
      url.hostname = '127.0.0.1';
      url.port = String(port);
      proxy.url = url.href;
    },
    async stop() {
      if (!server) return;
      const stopping = new Promise((resolve) => server!.close(resolve));
      for (const socket of sockets) socket.destroy();
      await stopping;
      server = undefined;
    },
  };
  await proxy.start();
  return proxy;
}
