import type { Asset } from './asset-store.js';
import { encodeValue, fieldDefinition, formatDate, formatSize, METADATA_COMPLETE, type StoredValue } from './fields.js';
import { baseNameOf } from './paths.js';

/**
 * Every field of an asset as the API shows it (protocol §3.3), system fields first: dates and sizes as
 * `{value, formatted}`, as `encodeValue` writes them (a test holds the two to that). A search page shapes 50 of
 * these, so the system fields are a literal: V8 keeps such an object in fast mode, which builds and serialises
 * several times faster than one grown key by key.
 */
export function assetMetadata(asset: Asset): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    assetPath: asset.assetPath,
    folderPath: asset.folderPath,
    filename: asset.filename,
    name: asset.filename,
    baseName: baseNameOf(asset.filename),
    extension: asset.extension,
    assetType: asset.extension,
    assetDomain: asset.domain,
    mimeType: asset.mimeType,
    fileSize: { value: asset.fileSize, formatted: formatSize(asset.fileSize) },
    assetCreated: { value: asset.createdAt, formatted: formatDate(asset.createdAt) },
    assetModified: { value: asset.modifiedAt, formatted: formatDate(asset.modifiedAt) },
    assetFileModified: { value: asset.fileModifiedAt, formatted: formatDate(asset.fileModifiedAt) },
    assetCreator: asset.creator,
    assetModifier: asset.modifier,
    assetFileModifier: asset.fileModifier,
    versionNumber: asset.versionNumber,
    previewState: asset.previewState,
    thumbnailState: asset.thumbnailState,
    contentETag: asset.contentEtag,
    previewETag: asset.previewEtag,
    [METADATA_COMPLETE]: 'true',
  };
  if (asset.sha256) metadata.sha256 = asset.sha256;
  const stored = asset.metadata;
  // Stored metadata naming a system field takes that field's place.
  for (const name in stored) metadata[name] = encodeValue(fieldDefinition(name), stored[name]!);
  return metadata;
}

/** Every field of an asset as a stored value (what the search index holds): assetMetadata without the formatting. */
export function assetFields(asset: Asset): Record<string, StoredValue> {
  const fields: Record<string, StoredValue> = {};
  for (const [name, value] of Object.entries(assetMetadata(asset))) {
    fields[name] = isFormatted(value) ? value.value : (value as StoredValue);
  }
  return fields;
}

const isFormatted = (value: unknown): value is { value: StoredValue; formatted: string } =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && 'formatted' in value;
