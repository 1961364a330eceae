import type { Asset } from '../assets/asset-store.js';
import { assetFields } from '../assets/asset-fields.js';
import { encodeValue, fieldDefinition } from '../assets/fields.js';
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

/** `metadataToReturn`: missing or `all` → every field; empty → a minimal set; else the listed fields. */
export function parseMetadataToReturn(raw: string | undefined): readonly string[] | undefined {
  if (raw === undefined || raw.trim().toLowerCase() === 'all') return undefined;
  const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
  return names.length === 0 ? MINIMAL_FIELDS : names;
}

/** The Assets search hit shape (protocol §3.3): the one place hits are shaped. */
export function toHit(asset: Asset, options: HitOptions) {
  const fields = assetFields(asset);
  const wanted = options.metadataToReturn;
  const metadata: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (wanted && !wanted.includes(name)) continue;
    metadata[name] = encodeValue(fieldDefinition(name), value);
  }
  const base = baseNameOf(asset.filename);
  const url = (path: string, cacheBuster: number) => {
    const secret = options.signer ? `&${REQUEST_SECRET_PARAMETER}=${options.signer.sign(new URL(options.baseUrl + path).pathname)}` : '';
    return `${options.baseUrl}${path}?_=${cacheBuster}${secret}`;
  };
  const previewName = defaultPreviewName(asset);
  const previewExtension = previewName.slice(previewName.lastIndexOf('.'));
  return {
    id: asset.id,
    permissions: FULL_PERMISSIONS,
    ...(asset.thumbnailState === 'yes' ? { thumbnailUrl: url(`/thumbnail/${asset.id}/*/${encodeURIComponent(`${base}_thumb.jpg`)}`, asset.previewEtag) } : {}),
    ...(asset.previewState === 'yes'
      ? { previewUrl: url(`/preview/${asset.id}/previews/${previewName}/*/${encodeURIComponent(`${base}_preview${previewExtension}`)}`, asset.previewEtag) }
      : {}),
    ...(asset.blobKey ? { originalUrl: url(`/file/${asset.id}/*/${encodeURIComponent(asset.filename)}`, asset.contentEtag) } : {}),
    metadata,
  };
}
