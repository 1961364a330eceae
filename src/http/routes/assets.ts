import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameOriginTarget } from '../../auth/logout-redirect.js';
import { badRequest } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { parseMetadataToReturn, toHit } from '../hits.js';
import type { Params } from '../params.js';
import { addServiceRoute } from '../route.js';
import { metadataFrom, withUpload } from '../upload.js';
import { hitBaseUrl, publicBaseUrl } from '../urls.js';

/** `/services/create` and `/services/update` (protocol §4.1, §4.2). */
export function assetRoutes(app: FastifyInstance, ctx: AppContext): void {
  /** How the answer's hit is shaped; checked before anything changes, so a refusal leaves nothing behind. */
  const hitFor = (request: Parameters<typeof hitBaseUrl>[0], params: Params) => {
    const sign = params.bool('appendRequestSecret');
    const baseUrl = hitBaseUrl(request, ctx.config, sign);
    return { baseUrl, metadataToReturn: parseMetadataToReturn(params.get('metadataToReturn')), ...(sign ? { signer: ctx.signer } : {}) };
  };

  /**
   * `nextUrl` (protocol §4.1, §4.2): after success, a redirect there, with `${id}` the asset's id. A path on this
   * server only, as Elvis 5.9+ requires; checked before anything changes, so a refused one leaves nothing behind.
   */
  const nextUrlOf = (request: FastifyRequest, params: Params): ((id: string) => string) | undefined => {
    const nextUrl = params.get('nextUrl');
    if (nextUrl === undefined || nextUrl === '') return undefined;
    const baseUrl = `${publicBaseUrl(request, ctx.config)}/`;
    const target = (id: string) => sameOriginTarget(nextUrl.replaceAll('${id}', id), baseUrl);
    if (target('x') === undefined) throw badRequest('nextUrl must be a path on this server, such as /detail.html?id=${id}');
    return (id) => target(id) ?? '/';
  };
  /** The hit as JSON, or the redirect a `nextUrl` asked for. */
  const answer = (reply: FastifyReply, hit: Record<string, unknown>, next: ((id: string) => string) | undefined) =>
    next ? reply.redirect(next(String(hit.id)), 301) : hit;

  addServiceRoute(app, {
    url: '/services/create',
    methods: ['POST'],
    handler: async (request, reply) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file, abandoned }) => {
        const hit = hitFor(request, params);
        const next = nextUrlOf(request, params);
        const metadata = metadataFrom(params);
        // The location from parameters or, as the contract allows, from the metadata JSON: a parameter wins over
        // anything in the JSON (a `filename` parameter over a JSON `name`, a `folderPath` one over a JSON `assetPath`).
        const inJson = (name: string) => (typeof metadata[name] === 'string' && params.get(name) === undefined ? (metadata[name] as string) : undefined);
        const asset = await ctx.assets.create(user, {
          folderPath: params.get('folderPath') ?? inJson('folderPath'),
          name: params.get('name') ?? params.get('filename') ?? inJson('name') ?? inJson('filename'),
          assetPath: params.get('assetPath') ?? (params.get('folderPath') === undefined ? inJson('assetPath') : undefined),
          metadata,
          autoRename: params.bool('autoRename', true),
          parseModifications: params.bool('parseMetadataModifications', true),
          file,
          abandoned,
        });
        return answer(reply, toHit(asset, hit), next);
      });
    },
  });

  addServiceRoute(app, {
    url: '/services/update',
    methods: ['POST'],
    handler: async (request, reply) => {
      const { user } = principalOf(request);
      return withUpload(request, ctx.blobs, ctx.config.maxUploadBytes, async ({ params, file, abandoned }) => {
        const id = params.get('id');
        if (!id) throw badRequest('Parameter id is required');
        const hit = hitFor(request, params);
        const next = nextUrlOf(request, params);
        // clearCheckoutState is accepted; checkout itself arrives with a later issue.
        const asset = await ctx.assets.update(user, id, {
          metadata: metadataFrom(params),
          parseModifications: params.bool('parseMetadataModifications', true),
          createVersion: params.bool('createVersion', true),
          keepMetadata: params.bool('keepMetadata', false),
          file,
          abandoned,
        });
        return answer(reply, toHit(asset, hit), next);
      });
    },
  });
}
