import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { parseMetadataToReturn, toHit } from '../hits.js';
import type { Params } from '../params.js';
import { addServiceRoute } from '../route.js';
import { metadataFrom, withUpload } from '../upload.js';
import { publicBaseUrl } from '../urls.js';

/** `/services/create` and `/services/update` (protocol §4.1, §4.2). */
export function assetRoutes(app: FastifyInstance, ctx: AppContext): void {
  const hitFor = (request: Parameters<typeof publicBaseUrl>[0], params: Params) => ({
    baseUrl: publicBaseUrl(request, ctx.config),
    metadataToReturn: parseMetadataToReturn(params.get('metadataToReturn')),
    ...(params.bool('appendRequestSecret') ? { signer: ctx.signer } : {}),
  });

  addServiceRoute(app, {
    url: '/services/create',
    methods: ['POST'],
    handler: async (request) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file }) => {
        const asset = await ctx.assets.create(user, {
          folderPath: params.get('folderPath'),
          name: params.get('name') ?? params.get('filename'),
          assetPath: params.get('assetPath'),
          metadata: metadataFrom(params),
          autoRename: params.bool('autoRename', true),
          parseModifications: params.bool('parseMetadataModifications', true),
          file,
        });
        return toHit(asset, hitFor(request, params));
      });
    },
  });

  addServiceRoute(app, {
    url: '/services/update',
    methods: ['POST'],
    handler: async (request) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file }) => {
        const id = params.get('id');
        if (!id) throw badRequest('Parameter id is required');
        // clearCheckoutState is accepted; checkout itself arrives with a later issue.
        const asset = await ctx.assets.update(user, id, {
          metadata: metadataFrom(params),
          parseModifications: params.bool('parseMetadataModifications', true),
          createVersion: params.bool('createVersion', true),
          keepMetadata: params.bool('keepMetadata', false),
          file,
        });
        return toHit(asset, hitFor(request, params));
      });
    },
  });
}
