import type { FastifyInstance } from 'fastify';
import type { BrowseLevel } from '../../assets/folder-service.js';
import { badRequest } from '../../lib/errors.js';
import { principalOf } from '../auth-hook.js';
import { type ProcessProgress, reportCounts } from '../../processes/process-service.js';
import type { AppContext } from '../context.js';
import { FULL_PERMISSIONS } from '../hits.js';
import { readParams } from '../params.js';
import { addServiceRoute } from '../route.js';

/** What browse lists by default: containers only (protocol §4.6). */
const DEFAULT_BROWSE_EXTENSIONS = ['collection', 'dossier', 'task'];

/** `/services/browse`, `/services/createFolder` and `/services/remove` (protocol §4.4, §4.6, §4.7). */
export function folderRoutes(app: FastifyInstance, ctx: AppContext): void {
  addServiceRoute(app, {
    url: '/services/browse',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async (request) => {
      const params = await readParams(request);
      const path = params.get('path');
      if (path === undefined) throw badRequest('Parameter path is required');
      const extensions = params.get('includeExtensions')?.trim().toLowerCase() === 'all' ? 'all' : params.has('includeExtensions') ? params.list('includeExtensions').map((e) => e.replace(/^\./, '').toLowerCase()) : DEFAULT_BROWSE_EXTENSIONS;
      const levels = await ctx.folders.browse(path || '/', params.get('fromRoot'), {
        includeFolders: params.bool('includeFolders', true),
        // The documentation says includeAsset, clients send includeAssets: both are honoured.
        includeAssets: params.bool('includeAssets', params.bool('includeAsset', true)),
        extensions,
      });
      return nest(levels);
    },
  });

  addServiceRoute(app, {
    url: '/services/createFolder',
    methods: ['POST'],
    handler: async (request) => {
      const params = await readParams(request);
      const paths = params.all('path');
      if (paths.length === 0) throw badRequest('Parameter path is required (repeat it for several folders)');
      return ctx.folders.createFolders(principalOf(request).user, paths);
    },
  });

  addServiceRoute(app, {
    url: '/services/remove',
    methods: ['POST'],
    handler: async (request) => {
      const params = await readParams(request);
      // Precedence when several selectors are sent: q, then ids, then folderPath (protocol §4.4).
      const q = params.get('q');
      const ids = params.list('ids');
      const folderPath = params.get('folderPath');
      const selector = q ? { query: q } : ids.length > 0 ? { ids } : folderPath ? { folderPath } : undefined;
      if (!selector) throw badRequest('Say what to remove: q, ids or folderPath');
      if (!params.bool('async')) return ctx.folders.remove(selector);
      // One transaction, so it is not cancelable: its counts appear when it is done.
      const work = async (progress: ProcessProgress) => reportCounts(progress, await ctx.folders.remove(selector));
      return { processId: ctx.processes.start(principalOf(request).user.username, 0, work, { cancelable: false }) };
    },
  });
}

type BrowseEntry = Record<string, unknown> & { children?: BrowseEntry[] };

/** The bare browse array; with fromRoot each level's folder entry carries the next level as `children`. */
function nest(levels: BrowseLevel[]): BrowseEntry[] {
  const entriesOf = (level: BrowseLevel): BrowseEntry[] => [
    ...level.folders.map((folder) => ({
      name: folder.name,
      assetPath: folder.path,
      directory: true,
      collection: false,
      browsable: true,
      permissionMask: FULL_PERMISSIONS,
      removing: false,
    })),
    ...level.assets.map((asset) => ({
      name: asset.filename,
      assetPath: asset.assetPath,
      directory: false,
      collection: asset.extension === 'collection',
      id: asset.id,
      ...(asset.extension === 'collection' ? { containerId: asset.id } : {}),
      browsable: false,
      permissionMask: FULL_PERMISSIONS,
    })),
  ];
  const [first, ...rest] = levels;
  const top = entriesOf(first!);
  let parentEntries = top;
  for (const level of rest) {
    const holder = parentEntries.find((entry) => entry.directory === true && String(entry.assetPath).toLowerCase() === level.path.toLowerCase());
    const children = entriesOf(level);
    if (holder) holder.children = children;
    parentEntries = children;
  }
  return top;
}
