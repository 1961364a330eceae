import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { parseMetadataToReturn, toHit } from '../hits.js';
import type { Params } from '../params.js';
import { addServiceRoute } from '../route.js';
import { metadataFrom, withUpload } from '../upload.js';
import { hitBaseUrl } from '../urls.js';

/** `/services/create` and `/services/update` (protocol §4.1, §4.2). */
export function assetRoutes(app: FastifyInstance, ctx: AppContext): void {
  /** How the answer's hit is shaped; checked before anything changes, so a refusal leaves nothing behind. */
  const hitFor = (request: Parameters<typeof hitBaseUrl>[0], params: Params) => {
    const sign = params.bool('appendRequestSecret');
    const baseUrl = hitBaseUrl(request, ctx.config, sign);
    return { baseUrl, metadataToReturn: parseMetadataToReturn(params.get('metadataToReturn')), ...(sign ? { signer: ctx.signer } : {}) };
  };

  addServiceRoute(app, {
    url: '/services/create',
    methods: ['POST'],
    handler: async (request) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file, abandoned }) => {
        const hit = hitFor(request, params);
        const asset = await ctx.assets.create(user, {
          folderPath: params.get('folderPath'),
          name: params.get('name') ?? params.get('filename'),
          assetPath: params.get('assetPath'),
          metadata: metadataFrom(params),
          autoRename: params.bool('autoRename', true),
          parseModifications: params.bool('parseMetadataModifications', true),
          file,
          abandoned,
        });
        return toHit(asset, hit);
      });
    },
  });

  addServiceRoute(app, {
    url: '/services/update',
    methods: ['POST'],
    handler: async (request) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file, abandoned }) => {
        const id = params.get('id');
        if (!id) throw badRequest('Parameter id is required');
        const hit = hitFor(request, params);
        // clearCheckoutState is accepted; checkout itself arrives with a later issue.
        const asset = await ctx.assets.update(user, id, {
          metadata: metadataFrom(params),
          parseModifications: params.bool('parseMetadataModifications', true),
          createVersion: params.bool('createVersion', true),
          keepMetadata: params.bool('keepMetadata', false),
          file,
          abandoned,
        });
        return toHit(asset, hit);
      });
    },
  });
}
