import { createServer, METHODS, type ServerOptions } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { sql } from 'kysely';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/database.js';
import { authenticateRequests } from './http/auth-hook.js';
import type { AppContext } from './http/context.js';
import { corsForOrigins } from './http/cors.js';
import { clientErrorHandler, errorHandler, notFoundHandler, sendError } from './http/errors.js';
import { loggerOptions } from './http/logging.js';
import { assetRoutes } from './http/routes/assets.js';
import { fileRoutes } from './http/routes/files.js';
import { Metrics } from './http/metrics.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import { systemRoutes } from './http/routes/system.js';
import { historyRoutes } from './http/routes/history.js';
import { webClientRoutes } from './http/routes/web-client.js';
import { profileRoutes } from './http/routes/profile.js';
import { bulkRoutes } from './http/routes/bulk.js';
import { fieldRoutes } from './http/routes/fields.js';
import { folderRoutes } from './http/routes/folders.js';
import { searchRoutes } from './http/routes/search.js';
import { sessionRoutes } from './http/routes/session.js';
import { BODY_LIMIT_BYTES } from './http/params.js';
import { addSecurityHeaders } from './http/security-headers.js';
import { isCrossSiteRequest } from './http/urls.js';
import { type Clock, systemClock } from './lib/clock.js';
import { pingRedis } from './lib/redis.js';
import { createAssetRuntime, createServices, openSharedStores } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    damson: AppContext;
  }
}

export interface AppOptions {
  config: Config;
  clock?: Clock;
  /** Where JSON log lines go (stdout by default); tests capture them. */
  logStream?: NodeJS.WritableStream;
  /** An already opened database; by default the app opens (and on close, closes) the configured one. */
  database?: DatabaseHandle;
}

const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;
/** Finished jobs are kept this long for inspection, then deleted. */
const JOB_HISTORY_MS = 24 * 60 * 60 * 1000;
const JSESSIONID_PATH_PARAMETER = /;jsessionid=[^/?#]*/gi;

/** Fastify takes a hop count as a function; every other form of the setting passes through. */
function fastifyTrustProxy(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

/**
 * A request that trickles in (headers or body) slower than the request timeout allows gets 408; Node checks the
 * timeouts every `connectionsCheckingInterval`, so that is a second rather than the default thirty.
 */
function slowClientLimits(config: Config): ServerOptions {
  const requestTimeout = config.requestTimeoutSeconds * 1000;
  return {
    requestTimeout,
    // Real clients send their headers in one go.
    headersTimeout: Math.min(30_000, config.idleTimeoutSeconds * 1000, requestTimeout || Number.MAX_SAFE_INTEGER),
    connectionsCheckingInterval: 1000,
  };
}

/** Builds the whole application from configuration. `main` and the tests build it the same way. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const database = options.database ?? (await openDatabase(config));

  const app = Fastify({
    logger: loggerOptions(config.logLevel, options.logStream),
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: BODY_LIMIT_BYTES,
    // Old Assets clients append `;jsessionid=…` to paths; it carries nothing Damson uses.
    rewriteUrl: (request) => (request.url ?? '/').replace(JSESSIONID_PATH_PARAMETER, ''),
    clientErrorHandler,
    // Errors raised before routing (a path with invalid percent-encoding) get the same JSON body.
    frameworkErrors: (error, _request, reply) => sendError(reply, 400, `Malformed request: ${error.message}`, config.errorsAsHttp200),
    forceCloseConnections: 'idle',
    // One line per request (below) instead of Fastify's two: logging is a fifth of a small request's cost.
    logController: new LogController({ disableRequestLogging: true }),
    // Slow clients must not hold the server: no byte for this long closes the connection.
    connectionTimeout: config.idleTimeoutSeconds * 1000,
    serverFactory: (handler) => {
      const server = createServer(slowClientLimits(config), handler);
      // An `Expect` Node does not know is refused by Node itself, before Fastify: give it the usual JSON shape.
      server.on('checkExpectation', (_request, response) => {
        response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', connection: 'close' });
        response.end(JSON.stringify({ errorcode: 417, message: 'Unsupported Expect header: only 100-continue is understood' }));
      });
      // CONNECT (a proxy tunnel) never reaches Fastify, and without a listener Node just drops the connection.
      server.on('connect', (_request, socket) => {
        const body = JSON.stringify({ errorcode: 405, message: 'Method CONNECT is not allowed here' });
        socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      });
      return server;
    },
  });
  // Every standard method is routable, so an unexpected one meets the same auth rules and a clear 405.
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method);
  }
  const shared = await openSharedStores(config, app.log);
  const { auth, users } = createServices(database, config, clock, shared);
  const runtime = await createAssetRuntime(database, config, clock, app.log);
  const { jobs } = runtime;
  const { jobs: _jobs, close: _close, ...assetServices } = runtime;
  const context: AppContext = { config, clock, database, auth, users, ...assetServices };
  app.decorate('damson', context);
  app.decorateRequest('principal', null);
  app.decorateRequest('credentialSource', null);

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT_BYTES });
  await app.register(fastifyMultipart, { limits: { fieldSize: BODY_LIMIT_BYTES, fields: 1000, parts: 2000 } });

  // Callback hooks rather than async ones for what runs on every response and has nothing to wait for.
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });
  const metrics = new Metrics({ jobsByState: () => jobs.counts(), activeSessions: () => auth.activeSessions() });
  metrics.observe(app);
  app.setErrorHandler(errorHandler(config.errorsAsHttp200, (error) => metrics.storeUnavailable(error)));
  app.setNotFoundHandler(notFoundHandler(config.errorsAsHttp200));
  if (config.corsOrigins.length > 0) app.addHook('onRequest', corsForOrigins(config.corsOrigins));
  app.addHook('onRequest', authenticateRequests(auth, runtime.signer, (request) => isCrossSiteRequest(request, config)));
  app.addHook('onSend', addSecurityHeaders);

  const readiness: ReadinessCheck[] = [{ name: 'database', check: () => sql`SELECT 1`.execute(database.db) }];
  const { redis } = shared;
  if (redis) readiness.push({ name: 'redis', check: async () => (await pingRedis(redis)) || Promise.reject(new Error('no answer')) });
  // Asking for the size of a blob that cannot exist is a round trip to the object store and nothing more.
  if (config.s3) readiness.push({ name: 'storage', check: () => runtime.blobs.size('0'.repeat(64)) });
  await app.register(
    async (scope) => {
      healthRoutes(scope, readiness);
      systemRoutes(scope, metrics);
      // A worker node runs background jobs; it answers health checks and nothing else.
      if (config.role === 'worker') return;
      webClientRoutes(scope);
      sessionRoutes(scope, context);
      profileRoutes(scope);
      assetRoutes(scope, context);
      historyRoutes(scope, context);
      fileRoutes(scope, context);
      searchRoutes(scope, context);
      folderRoutes(scope, context);
      fieldRoutes(scope);
      bulkRoutes(scope, context);
    },
    { prefix: config.basePath },
  );


  const housekeeping = setInterval(() => {
    auth.sweepExpired().catch((error: unknown) => app.log.warn({ err: error }, 'session sweep failed'));
    jobs.deleteDoneBefore(clock.now() - JOB_HISTORY_MS).catch((error: unknown) => app.log.warn({ err: error }, 'job sweep failed'));
  }, HOUSEKEEPING_INTERVAL_MS);
  housekeeping.unref();
  // Jobs start once the app is ready (not on an api-only node), and stop (finishing the ones in hand) before the
  // database closes.
  app.addHook('onReady', async () => {
    if (config.role !== 'api') await jobs.startWorking();
  });
  app.addHook('onClose', async () => {
    clearInterval(housekeeping);
    await runtime.close();
    await shared.close();
    if (!options.database) await database.close();
  });
  return app;
}
