import type { Asset } from './asset-store.js';
import type { StoredValue } from './fields.js';
import { baseNameOf } from './paths.js';

/** Every field of an asset, system fields first, as stored values. */
export function assetFields(asset: Asset): Record<string, StoredValue> {
  return {
    assetPath: asset.assetPath,
    folderPath: asset.folderPath,
    filename: asset.filename,
    name: asset.filename,
    baseName: baseNameOf(asset.filename),
    extension: asset.extension,
    assetType: asset.extension,
    assetDomain: asset.domain,
    mimeType: asset.mimeType,
    fileSize: asset.fileSize,
    assetCreated: asset.createdAt,
    assetModified: asset.modifiedAt,
    assetFileModified: asset.fileModifiedAt,
    assetCreator: asset.creator,
    assetModifier: asset.modifier,
    assetFileModifier: asset.fileModifier,
    versionNumber: asset.versionNumber,
    previewState: asset.previewState,
    thumbnailState: asset.thumbnailState,
    contentETag: asset.contentEtag,
    previewETag: asset.previewEtag,
    ...(asset.sha256 ? { sha256: asset.sha256 } : {}),
    ...asset.metadata,
  };
}

