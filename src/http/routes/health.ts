import type { FastifyInstance } from 'fastify';
import { addServiceRoute } from '../route.js';

/** One dependency `/readyz` checks: resolves when reachable, rejects (or times out) when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

const CHECK_TIMEOUT_MS = 2000;
const RETRY_AFTER_SECONDS = 5;

/**
 * `GET /healthz`: the process is alive (restart it if not). `GET /readyz`: every store this node needs answers
 * and migrations are done (send it traffic only then). Neither needs a login, and neither says more than
 * ok/unreachable per store, so they are safe to expose to a load balancer.
 */
export function healthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[]): void {
  // Anyone may ask, so requests that come while the stores are being checked share that check: a flood of
  // /readyz costs the stores one round trip at a time, not one per request.
  let checking: Promise<ReadonlyArray<readonly [string, 'ok' | 'unreachable']>> | undefined;
  const checkAll = () =>
    (checking ??= Promise.all(checks.map(async ({ name, check }) => [name, (await withTimeout(check())) ? 'ok' : 'unreachable'] as const)).finally(() => {
      checking = undefined;
    }));

  addServiceRoute(app, {
    url: '/healthz',
    methods: ['GET'],
    auth: 'none',
    handler: async () => ({ status: 'alive' }),
  });

  addServiceRoute(app, {
    url: '/readyz',
    methods: ['GET'],
    auth: 'none',
    handler: async (_request, reply) => {
      const results = await checkAll();
      const failing = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
      if (failing.length === 0) return { status: 'ready', checks: Object.fromEntries(results) };
      reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS));
      return { errorcode: 503, message: `Not ready: ${failing.join(', ')} unreachable`, checks: Object.fromEntries(results) };
    },
  });
}

async function withTimeout(work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
