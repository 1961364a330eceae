import type { FastifyInstance } from 'fastify';
import { FILE_POLICIES, FOLDER_POLICIES } from '../../assets/transfer-service.js';
import { ROLE_SUPERUSER } from '../../auth/user-service.js';
import { badRequest } from '../../lib/errors.js';
import { reportCounts } from '../../processes/process-service.js';
import { principalOf } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { toHit } from '../hits.js';
import { readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { hitBaseUrl } from '../urls.js';
import { metadataFrom } from '../upload.js';

/** `/services/updatebulk`, `move`, `copy`, and `process/info` / `process/cancel` for `async=true` (protocol §4.3, §4.5, §4.12). */
export function bulkRoutes(app: FastifyInstance, ctx: AppContext): void {
  addServiceRoute(app, {
    url: '/services/updatebulk',
    methods: ['POST'],
    handler: async (request) => {
      // By id: a JSON array of {id, metadata}, answered with the updated assets.
      if (Array.isArray(request.body)) {
        const entries = request.body.map((entry: unknown) => {
          const { id, metadata } = (entry ?? {}) as { id?: unknown; metadata?: unknown };
          if (typeof id !== 'string' || metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
            throw badRequest('Each update must be {"id": "…", "metadata": {…}}');
          }
          return { id, metadata: metadata as Record<string, unknown> };
        });
        const hit = { baseUrl: hitBaseUrl(request, ctx.config, false), metadataToReturn: undefined };
        return (await ctx.bulk.updateByIds(principalOf(request).user, entries)).map((asset) => toHit(asset, hit));
      }
      const params = await readParams(request);
      const q = params.get('q');
      if (!q) throw badRequest('Parameter q is required: updatebulk changes every asset the query finds');
      return ctx.bulk.updateByQuery(principalOf(request).user, q, metadataFrom(params), params.bool('parseMetadataModifications', true), params.bool('async'));
    },
  });

  for (const mode of ['move', 'copy'] as const) {
    addServiceRoute(app, {
      url: `/services/${mode}`,
      methods: ['POST'],
      handler: async (request) => {
        const params = await readParams(request);
        const source = params.get('source');
        const target = params.get('target');
        if (!source || !target) throw badRequest('Parameters source and target are required');
        const transfer = {
          mode,
          source,
          target,
          folderPolicy: policy(params.get('folderReplacePolicy'), FOLDER_POLICIES, 'folderReplacePolicy'),
          filePolicy: policy(params.get('fileReplacePolicy'), FILE_POLICIES, 'fileReplacePolicy'),
          filterQuery: params.get('filterQuery') || undefined,
          flattenFolders: params.bool('flattenFolders'),
        };
        const { user } = principalOf(request);
        if (!params.bool('async')) return ctx.transfers.transfer(user, transfer);
        // In the background the whole transfer is still one transaction: its counts appear when it is done, and a
        // cancel rolls all of it back.
        return {
          processId: ctx.processes.start(user.username, 0, async (progress) =>
            reportCounts(progress, await ctx.transfers.transfer(user, { ...transfer, cancelled: () => progress.cancelled })),
          ),
        };
      },
    });
  }

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
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async (request) => ctx.processes.info(await processId(request), caller(request)),
  });

  addServiceRoute(app, {
    url: '/services/process/cancel',
    methods: ['POST'],
    handler: async (request) => ctx.processes.cancel(await processId(request), caller(request)),
  });
}

function policy<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T {
  if (value === undefined || value === '') return allowed[0]!;
  const upper = value.toUpperCase() as T;
  if (!allowed.includes(upper)) throw badRequest(`${name} must be one of ${allowed.join(', ')}`);
  return upper;
}
