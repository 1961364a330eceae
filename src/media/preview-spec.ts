export type RenditionFormat = 'jpg' | 'png' | 'webp';

/** What a rendition looks like: fitted inside maxWidth × maxHeight (never enlarged), in one format. */
export interface RenditionSpec {
  maxWidth: number;
  maxHeight: number;
  format: RenditionFormat;
  /** 1..100 for jpg and webp; png is lossless, so there it is carried but ignored (and always the default). */
  quality: number;
}

export const DEFAULT_QUALITY = 80;

export const THUMBNAIL_SPEC: RenditionSpec = Object.freeze({ maxWidth: 256, maxHeight: 256, format: 'jpg', quality: DEFAULT_QUALITY });
export const DEFAULT_PREVIEW_SPEC: RenditionSpec = Object.freeze({ maxWidth: 1600, maxHeight: 1600, format: 'jpg', quality: DEFAULT_QUALITY });
export const DEFAULT_PREVIEW_SPEC_NAME = 'maxWidth_1600_maxHeight_1600.jpg';

/** What a client may ask for: every custom preview is rendered on demand, so its size must be bounded. */
export interface PreviewSpecBounds {
  maxDimension: number;
  formats: readonly RenditionFormat[];
}

export const DEFAULT_PREVIEW_BOUNDS: PreviewSpecBounds = Object.freeze({
  maxDimension: 4096,
  formats: Object.freeze(['jpg', 'png', 'webp'] as const),
});

/**
 * The whole grammar at once, so nothing but these exact segments gets through: numbers without leading zeros
 * (one spelling per value keeps cache keys unique) and at most 5 digits before the bounds check.
 */
const SPEC_NAME = /^maxWidth_([1-9][0-9]{0,4})_maxHeight_([1-9][0-9]{0,4})(?:_quality_([1-9][0-9]{0,2}))?\.(jpg|jpeg|png|webp)$/;

/** Longer than any valid name; refuses huge inputs before the regular expression sees them. */
const MAX_NAME_LENGTH = 64;

/**
 * Parses an Assets preview name such as `maxWidth_500_maxHeight_350_quality_90.jpg` (`.jpeg` means jpg).
 * Returns undefined for anything else; never throws, since the name comes straight from a URL.
 */
export function parsePreviewSpec(name: string, bounds: PreviewSpecBounds = DEFAULT_PREVIEW_BOUNDS): RenditionSpec | undefined {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH) return undefined;
  const match = SPEC_NAME.exec(name);
  if (!match) return undefined;
  const [, width, height, quality, extension] = match;
  const format: RenditionFormat = extension === 'jpeg' ? 'jpg' : (extension as RenditionFormat);
  const spec: RenditionSpec = {
    maxWidth: Number(width),
    maxHeight: Number(height),
    format,
    // png ignores quality; normalising it keeps one cache entry per distinct png.
    quality: quality === undefined || format === 'png' ? DEFAULT_QUALITY : Number(quality),
  };
  if (spec.maxWidth > bounds.maxDimension || spec.maxHeight > bounds.maxDimension) return undefined;
  if (spec.quality > 100 || !bounds.formats.includes(format)) return undefined;
  return spec;
}

/** The canonical name of a spec, used as its cache key: parsing it gives the same spec back. */
export function specName(spec: RenditionSpec): string {
  const quality = spec.format !== 'png' && spec.quality !== DEFAULT_QUALITY ? `_quality_${spec.quality}` : '';
  return `maxWidth_${spec.maxWidth}_maxHeight_${spec.maxHeight}${quality}.${spec.format}`;
}
