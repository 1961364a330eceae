import type { FastifyInstance } from 'fastify';
import { ROLE_SUPERUSER } from '../../auth/user-service.js';
import { forbidden } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import type { Metrics } from '../metrics.js';
import { addServiceRoute } from '../route.js';

/**
 * `GET /services/system/metrics`: Prometheus text for super users only (a scraper uses a super user's API token
 * as `Authorization: Bearer …`). Route patterns and counts are not secret, but they are not everyone's business.
 */
export function systemRoutes(app: FastifyInstance, metrics: Metrics): void {
  addServiceRoute(app, {
    url: '/services/system/metrics',
    methods: ['GET'],
    handler: async (request, reply) => {
      if (!principalOf(request).user.authorities.includes(ROLE_SUPERUSER)) throw forbidden('Metrics are for super users');
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  });
}
