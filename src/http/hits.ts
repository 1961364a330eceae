import { assetMetadata } from '../assets/asset-fields.js';
import type { Asset } from '../assets/asset-store.js';
import { baseNameOf } from '../assets/paths.js';
import { REQUEST_SECRET_PARAMETER, type UrlSigner } from '../auth/url-signer.js';
import { defaultPreviewName } from '../renditions/rendition-service.js';

/** All permissions until access control arrives: VIEW, PREVIEW, NON_WATERMARKED, ORIGINAL, METADATA, EDIT, RENAME, MOVE, CREATE, DELETE. */
export const FULL_PERMISSIONS = 'VPWUMERXCD';

/** Fields returned for `metadataToReturn=` (empty): enough to place and name an asset. */
const MINIMAL_FIELDS = ['assetPath', 'filename', 'assetDomain', 'assetType'];

export interface HitOptions {
  /** Absolute base URL (public URL + base path) that hit URLs start with. */
  baseUrl: string;
  /** undefined = all fields; otherwise the field names to return. */
  metadataToReturn: readonly string[] | undefined;
  /** Present when the caller asked for `appendRequestSecret`. */
  signer?: UrlSigner;
}

/** `metadataToReturn`: missing or `all` (also among names: `all,name`) → every field; empty → a minimal set; else the listed fields. */
export function parseMetadataToReturn(raw: string | undefined): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.some((name) => name.toLowerCase() === 'all')) return undefined;
  return names.length === 0 ? MINIMAL_FIELDS : names;
}

/** The Assets search hit shape (protocol §3.3): the one place hits are shaped. A search page shapes 50 of them. */
export function toHit(asset: Asset, options: HitOptions) {
  const all = assetMetadata(asset);
  const wanted = options.metadataToReturn;
  let metadata = all;
  if (wanted) {
    metadata = {};
    for (const name in all) if (wanted.includes(name)) metadata[name] = all[name];
  }
  const { id, filename } = asset;
  const base = baseNameOf(filename);
  const hit: Record<string, unknown> = { id, permissions: FULL_PERMISSIONS };
  if (asset.thumbnailState === 'yes') hit.thumbnailUrl = hitUrl(options, `/thumbnail/${id}/*/${encodeURIComponent(`${base}_thumb.jpg`)}`, asset.previewEtag);
  if (asset.previewState === 'yes') {
    const previewName = defaultPreviewName(asset);
    const previewFile = `${base}_preview${previewName.slice(previewName.lastIndexOf('.'))}`;
    hit.previewUrl = hitUrl(options, `/preview/${id}/previews/${previewName}/*/${encodeURIComponent(previewFile)}`, asset.previewEtag);
  }
  if (asset.blobKey) hit.originalUrl = hitUrl(options, `/file/${id}/*/${encodeURIComponent(filename)}`, asset.contentEtag);
  hit.metadata = metadata;
  return hit;
}

function hitUrl(options: HitOptions, path: string, cacheBuster: number): string {
  const secret = options.signer ? `&${REQUEST_SECRET_PARAMETER}=${options.signer.sign(new URL(options.baseUrl + path).pathname)}` : '';
  return `${options.baseUrl}${path}?_=${cacheBuster}${secret}`;
}
