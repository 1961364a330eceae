import type { FastifyInstance } from 'fastify';
import { ROLE_SUPERUSER } from '../../auth/user-service.js';
import { badRequest } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { metadataFrom } from '../upload.js';

/** `/services/updatebulk` and the `process/info` / `process/cancel` pair for `async=true` (protocol §4.3, §4.12). */
export function bulkRoutes(app: FastifyInstance, ctx: AppContext): void {
  addServiceRoute(app, {
    url: '/services/updatebulk',
    methods: ['POST'],
    handler: async (request) => {
      const params = await readParams(request);
      const q = params.get('q');
      if (!q) throw badRequest('Parameter q is required: updatebulk changes every asset the query finds');
      return ctx.bulk.updateByQuery(principalOf(request).user, q, metadataFrom(params), params.bool('parseMetadataModifications', true), params.bool('async'));
    },
  });

  const caller = (request: Parameters<typeof principalOf>[0]) => {
    const { user } = principalOf(request);
    return { username: user.username, superuser: user.authorities.includes(ROLE_SUPERUSER) };
  };
  const processId = async (request: Parameters<typeof readParams>[0]) => {
    const id = (await readParams(request)).get('processId');
    if (!id) throw badRequest('Parameter processId is required');
    return id;
  };

  addServiceRoute(app, {
    url: '/services/process/info',
    methods: ['GET', 'POST'],
    handler: async (request) => ctx.processes.info(await processId(request), caller(request)),
  });

  addServiceRoute(app, {
    url: '/services/process/cancel',
    methods: ['POST'],
    handler: async (request) => ctx.processes.cancel(await processId(request), caller(request)),
  });
}
