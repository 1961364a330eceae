import type { FastifyInstance } from 'fastify';
import type { AssetVersion } from '../../assets/asset-store.js';
import { encodeValue, fieldDefinition } from '../../assets/fields.js';
import { badRequest } from '../../lib/errors.js';
import type { AppContext } from '../context.js';
import { FULL_PERMISSIONS } from '../hits.js';
import { readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { publicBaseUrl } from '../urls.js';

/** The actions Damson records so far: the ones that create a version (detail level 1 and up). */
type VersionAction = 'CREATE' | 'CHECKIN';

/**
 * `GET|POST /services/asset/history` (protocol §4.9), for the version-creating actions: the first file (CREATE)
 * and every later one (CHECKIN), newest first, each with a link to download that version's file.
 */
export function historyRoutes(app: FastifyInstance, ctx: AppContext): void {
  addServiceRoute(app, {
    url: '/services/asset/history',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async (request) => {
      const params = await readParams(request);
      const id = params.get('id');
      if (!id) throw badRequest('Parameter id is required');
      const start = params.int('start', 0, 0, Number.MAX_SAFE_INTEGER);
      const num = params.int('num', 1000, 0, 10_000);
      const detailLevel = params.int('detailLevel', 0, 0, 5);
      const wanted = params.has('actions') ? new Set(params.list('actions').map((action) => action.toUpperCase())) : null;
      const { asset, versions } = await ctx.assets.versions(id);
      const baseUrl = publicBaseUrl(request, ctx.config);
      const entries = versions
        .map((version) => ({ version, action: (version.versionNumber === 1 ? 'CREATE' : 'CHECKIN') as VersionAction }))
        .filter(({ action }) => detailLevel > 0 || wanted === null || wanted.has(action));
      const entry = (version: AssetVersion, action: VersionAction) => ({
        usageStatsRecord: {
          id: null,
          logDate: version.createdAt,
          userName: version.createdBy,
          userGroups: [],
          clientType: null,
          remoteAddr: null,
          remoteHost: null,
          action,
          assetId: asset.id,
          assetPath: asset.assetPath,
          assetType: asset.extension,
          assetDomain: asset.domain,
          sourceAssetPath: null,
          sourceAssetId: null,
          changedMetadata: null,
          details: null,
        },
        hit: {
          id: asset.id,
          permissions: FULL_PERMISSIONS,
          metadata: {
            versionNumber: version.versionNumber,
            filename: version.filename,
            mimeType: version.mimeType,
            fileSize: encodeValue(fieldDefinition('fileSize'), version.fileSize),
            ...(version.sha256 ? { sha256: version.sha256 } : {}),
          },
          ...(version.blobKey ? { originalUrl: `${baseUrl}/file/${asset.id}/*/${encodeURIComponent(version.filename)}?version=${version.versionNumber}` } : {}),
          relation: null,
        },
        versionCreatingAction: true,
      });
      return { totalHits: entries.length, hits: entries.slice(start, start + num).map(({ version, action }) => entry(version, action)) };
    },
  });
}
