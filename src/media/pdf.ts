import { basename, resolve } from 'node:path';
import { UnreadableMediaError } from './errors.js';
import { probeImage, renderImageSpec, type RenderedFile } from './images.js';
import { DEFAULT_PREVIEW_SPEC, DEFAULT_QUALITY, THUMBNAIL_SPEC } from './preview-spec.js';
import { runTool } from './tools.js';
import { fileSize, newOutputPath, removeQuietly } from './work-files.js';

/**
 * The first page as a JPEG whose longer side is 1600 (a page is vector art, so scaling up loses nothing), and a
 * thumbnail made from it. pdftoppm is killed after `timeoutMs`.
 */
export async function renderPdfRenditions(sourcePath: string, workDir: string, timeoutMs: number): Promise<{ preview: RenderedFile; thumbnail: RenderedFile }> {
  const path = newOutputPath(workDir, 'preview', 'jpg');
  // pdftoppm appends the extension to the name it is given.
  const outputRoot = path.slice(0, -'.jpg'.length);
  try {
    await runTool(
      'pdftoppm',
      [
        '-f', '1', '-l', '1', '-singlefile',
        '-scale-to', String(Math.max(DEFAULT_PREVIEW_SPEC.maxWidth, DEFAULT_PREVIEW_SPEC.maxHeight)),
        // The crop box is the part of the page that viewers show; the media box may include bleed and marks.
        '-cropbox',
        '-jpeg', '-jpegopt', `quality=${DEFAULT_QUALITY}`,
        // An absolute path can never be mistaken for an option.
        resolve(sourcePath),
        outputRoot,
      ],
      { timeoutMs },
    );
    const size = await fileSize(path);
    const dimensions = size ? await probeImage(path) : undefined;
    if (!size || !dimensions) throw new UnreadableMediaError(`pdftoppm rendered nothing for ${basename(sourcePath)}`);
    const preview: RenderedFile = { path, mimeType: 'image/jpeg', width: dimensions.width, height: dimensions.height, size };
    const thumbnail = await renderImageSpec(path, THUMBNAIL_SPEC, workDir);
    return { preview, thumbnail };
  } catch (error) {
    await removeQuietly(path);
    throw error;
  }
}
