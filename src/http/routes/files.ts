import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Asset } from '../../assets/asset-store.js';
import { baseNameOf, isValidAssetPath } from '../../assets/paths.js';
import { badRequest, DamsonError, notFound } from '../../lib/errors.js';
import { UnreadableMediaError, withoutPaths } from '../../media/errors.js';
import { DEFAULT_PREVIEW_BOUNDS, parsePreviewSpec } from '../../media/preview-spec.js';
import { defaultPreviewName, THUMBNAIL } from '../../renditions/rendition-service.js';
import type { AppContext } from '../context.js';
import { readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { sendBlob } from '../send-blob.js';

/**
 * Originals, previews and thumbnails (protocol §6): `/file/{id}[/*\/{name}]` (also the legacy `////{name}`),
 * `/preview/{id | assetPath}[/previews/{spec}][/*\/{name}]`, `/thumbnail/{id | assetPath}[/*\/{name}]`. The trailing
 * name only names the download. A login or a `requestSecret` for the exact path opens them.
 */
export function fileRoutes(app: FastifyInstance, ctx: AppContext): void {
  const route = (prefix: string, handler: (request: FastifyRequest, reply: FastifyReply, segments: string[]) => Promise<FastifyReply>) =>
    addServiceRoute(app, {
      url: `${prefix}/*`,
      methods: ['GET'],
      urlSecret: true,
      handler: (request, reply) => handler(request, reply, String((request.params as Record<string, string>)['*'] ?? '').split('/')),
    });

  route('/file', async (request, reply, [id = '']) => {
    const params = await readParams(request);
    const asset = await ctx.assets.get(id);
    const version = params.int('version', asset.versionNumber, 1, asset.versionNumber);
    const file = version === asset.versionNumber ? asset : (await ctx.assetStore.listVersions(asset.id)).find((v) => v.versionNumber === version);
    if (!file?.blobKey || !file.sha256) throw notFound(version === asset.versionNumber ? 'This asset has no file' : `Version ${version} has no file`);
    return sendBlob(request, reply, ctx.blobs, {
      key: file.blobKey,
      size: file.fileSize,
      etag: file.sha256,
      mimeType: file.mimeType,
      filename: file.filename,
      forceDownload: params.bool('forceDownload'),
      immutable: params.get('_') === String(asset.contentEtag) && version === asset.versionNumber,
    });
  });

  /**
   * The asset a preview or thumbnail URL names, and the segments after it: by id (`/preview/{id}/…`), or by its
   * path (protocol §6.2: `/preview/Demo Zone/Images/x.jpg/previews/…`), which ends where `previews` or `*` follows
   * it, or at the end. The longest path that names an asset wins (a folder may be called `previews`).
   */
  async function assetOf(segments: string[]): Promise<{ asset: Asset; rest: string[] }> {
    const [first = '', next] = segments;
    if (segments.length === 1 || next === 'previews' || next === '*') {
      const byId = await ctx.assets.get(first).catch((error: unknown) => {
        if (error instanceof DamsonError && error.status === 404) return undefined;
        throw error;
      });
      if (byId) return { asset: byId, rest: segments.slice(1) };
    }
    for (let end = segments.length; end >= 1; end--) {
      if (end < segments.length && segments[end] !== 'previews' && segments[end] !== '*') continue;
      const path = `/${segments.slice(0, end).join('/')}`;
      // Only a path an asset could have (no control characters, which PostgreSQL refuses outright).
      if (!isValidAssetPath(path)) continue;
      const byPath = await ctx.assetStore.findByPath(path);
      if (byPath) return { asset: byPath, rest: segments.slice(end) };
    }
    throw notFound(`No asset with the id or path ${segments.join('/').slice(0, 200)}`);
  }

  route('/thumbnail', async (request, reply, segments) => {
    const { asset } = await assetOf(segments);
    return sendRendition(request, reply, asset, THUMBNAIL, `${baseNameOf(asset.filename)}_thumb.jpg`);
  });

  route('/preview', async (request, reply, segments) => {
    const { asset, rest: [marker, spec] } = await assetOf(segments);
    const requested = marker === 'previews' && spec ? spec : defaultPreviewName(asset);
    const name = `${baseNameOf(asset.filename)}_preview${requested.slice(requested.lastIndexOf('.'))}`;
    if (requested === defaultPreviewName(asset) || requested === 'maxWidth_1600_maxHeight_1600.jpg') {
      return sendRendition(request, reply, asset, requested, name);
    }
    const custom = parsePreviewSpec(requested, DEFAULT_PREVIEW_BOUNDS);
    if (!custom) throw badRequest(`Unsupported preview "${requested.slice(0, 100)}": use maxWidth_N_maxHeight_M[_quality_Q].jpg, .png or .webp (at most ${DEFAULT_PREVIEW_BOUNDS.maxDimension} pixels)`);
    if (asset.domain !== 'image' || !asset.blobKey) throw notFound('Custom previews are made for images only');
    const rendition = await ctx.renditions.customPreview(asset, custom).catch((error: unknown) => {
      // A file that is not really an image (a truncated or mislabelled upload): as for a failed standard preview.
      if (error instanceof UnreadableMediaError) throw notFound(`No preview: rendering failed (${withoutPaths(error.message.split('\n')[0]!).slice(0, 200)})`);
      throw error;
    });
    return sendBlob(request, reply, ctx.blobs, {
      key: rendition.blobKey,
      size: rendition.fileSize,
      etag: rendition.blobKey,
      mimeType: rendition.mimeType,
      filename: name,
      forceDownload: false,
      immutable: (request.query as Record<string, unknown>)._ === String(asset.previewEtag),
    });
  });

  async function sendRendition(request: FastifyRequest, reply: FastifyReply, asset: Asset, renditionName: string, filename: string) {
    const rendition = await ctx.assetStore.findRendition(asset.id, renditionName);
    if (!rendition || rendition.contentEtag !== asset.contentEtag) {
      // `ir` and others retry a 409 ("not available yet") after a pause; a failed or impossible one is 404.
      if (asset.previewState === 'pending') throw new DamsonError(409, 'The preview is not ready yet; try again shortly');
      throw notFound(asset.previewState === 'failed' ? `No preview: rendering failed (${withoutPaths(asset.renditionError ?? 'unknown error')})` : 'This asset has no such preview');
    }
    return sendBlob(request, reply, ctx.blobs, {
      key: rendition.blobKey,
      size: rendition.fileSize,
      etag: rendition.blobKey,
      mimeType: rendition.mimeType,
      filename,
      forceDownload: false,
      immutable: (request.query as Record<string, unknown>)._ === String(asset.previewEtag),
    });
  }
}
