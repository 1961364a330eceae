import { basename } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { UnreadableMediaError } from './errors.js';
import { DEFAULT_PREVIEW_SPEC, THUMBNAIL_SPEC, type RenditionFormat, type RenditionSpec } from './preview-spec.js';
import { newOutputPath, removeQuietly } from './work-files.js';

/** A file written by the media layer, described well enough to store and serve it. */
export interface RenderedFile {
  path: string;
  mimeType: string;
  width: number;
  height: number;
  size: number;
}

/** sharp's own default (0x3FFF²), stated so the limit is visible: larger images are refused before decoding. */
const MAX_INPUT_PIXELS = 268_402_689;
/** A decompression bomb under the pixel limit can still take minutes; no real photo needs this long. */
const MAX_SECONDS_PER_IMAGE = 120;
const WHITE = '#ffffff';

const MIME_TYPES: Readonly<Record<RenditionFormat, string>> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

// Every render reads a file once; libvips' operation cache would only hold memory and the open descriptors of
// originals that may be deleted right after.
sharp.cache(false);

/** Decoded, oriented sRGB pixels at their final size, kept raw so several outputs can be encoded without decoding again. */
interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * The default preview and the thumbnail of an image. The source is decoded once and reduced to preview size
 * (JPEG sources shrink while decoding); both files are encoded from those pixels.
 */
export async function renderImageRenditions(sourcePath: string, workDir: string): Promise<{ preview: RenderedFile; thumbnail: RenderedFile }> {
  // Both outputs are JPEG, which has no alpha: flattening once here also keeps the shared buffer at 3 channels.
  const pixels = await decodeFitted(sourcePath, DEFAULT_PREVIEW_SPEC);
  const previewPath = newOutputPath(workDir, 'preview', DEFAULT_PREVIEW_SPEC.format);
  const thumbnailPath = newOutputPath(workDir, 'thumbnail', THUMBNAIL_SPEC.format);
  try {
    const [preview, thumbnail] = await Promise.all([
      write(fromPixels(pixels), DEFAULT_PREVIEW_SPEC, previewPath),
      write(fitInside(fromPixels(pixels), THUMBNAIL_SPEC), THUMBNAIL_SPEC, thumbnailPath),
    ]);
    return { preview, thumbnail };
  } catch (error) {
    await removeQuietly(previewPath, thumbnailPath);
    throw error;
  }
}

/** One custom preview: oriented, sRGB, fitted inside the spec and never enlarged; alpha is kept unless jpg. */
export async function renderImageSpec(sourcePath: string, spec: RenditionSpec, workDir: string): Promise<RenderedFile> {
  const pixels = await decodeFitted(sourcePath, spec);
  const path = newOutputPath(workDir, 'custom', spec.format);
  try {
    return await write(fromPixels(pixels), spec, path);
  } catch (error) {
    await removeQuietly(path);
    throw error;
  }
}

/** Dimensions as displayed (EXIF orientation applied) and format, from the header only; undefined if not an image. */
export async function probeImage(path: string): Promise<{ width: number; height: number; format: string } | undefined> {
  try {
    const metadata = await sharp(path, { limitInputPixels: false }).metadata();
    const turned = metadata.orientation !== undefined && metadata.orientation >= 5 && metadata.orientation <= 8;
    return {
      width: turned ? metadata.height : metadata.width,
      height: turned ? metadata.width : metadata.height,
      format: metadata.format,
    };
  } catch {
    return undefined;
  }
}

/**
 * Decodes the source straight to the spec's size. Any failure here is about the input (not an image, corrupt,
 * over the pixel limit), so it becomes an UnreadableMediaError; failures writing outputs are left as they are.
 */
async function decodeFitted(sourcePath: string, spec: RenditionSpec): Promise<Pixels> {
  let image = fitInside(
    sharp(sourcePath, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
      .timeout({ seconds: MAX_SECONDS_PER_IMAGE })
      .autoOrient()
      .toColourspace('srgb'),
    spec,
  );
  if (spec.format === 'jpg') image = image.flatten({ background: WHITE });
  try {
    const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw new UnreadableMediaError(`Cannot render image ${basename(sourcePath)}: ${(error as Error).message}`, { cause: error });
  }
}

function fromPixels(pixels: Pixels): Sharp {
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } });
}

function fitInside(image: Sharp, spec: RenditionSpec): Sharp {
  return image.resize(spec.maxWidth, spec.maxHeight, { fit: 'inside', withoutEnlargement: true });
}

/** Encodes without copying metadata (sharp's default), so no EXIF or GPS position leaks into a preview. */
async function write(image: Sharp, spec: RenditionSpec, path: string): Promise<RenderedFile> {
  const info = await encode(image, spec).toFile(path);
  return { path, mimeType: MIME_TYPES[spec.format], width: info.width, height: info.height, size: info.size };
}

function encode(image: Sharp, spec: RenditionSpec): Sharp {
  switch (spec.format) {
    case 'jpg':
      return image.jpeg({ quality: spec.quality, mozjpeg: false });
    case 'png':
      return image.png();
    case 'webp':
      return image.webp({ quality: spec.quality });
  }
}
