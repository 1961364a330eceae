import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Asset, AssetStore, type Rendition } from '../assets/asset-store.js';
import type { DatabaseHandle } from '../db/database.js';
import type { Clock } from '../lib/clock.js';
import { renderImageRenditions, renderImageSpec, type RenderedFile } from '../media/images.js';
import { renderPdfRenditions } from '../media/pdf.js';
import { DEFAULT_PREVIEW_SPEC_NAME, type RenditionSpec, specName } from '../media/preview-spec.js';
import { renderVideoRenditions } from '../media/video.js';
import type { BlobStore } from '../storage/blob-store.js';

export const THUMBNAIL = 'thumbnail';
export const IMAGE_PREVIEW = DEFAULT_PREVIEW_SPEC_NAME;
export const VIDEO_PREVIEW = 'maxWidth_480_maxHeight_360.mp4';
export const RENDER_JOB = 'render';

/** The domains Damson renders previews for; everything else gets previewState `no`. */
export function isRenderable(domain: string): boolean {
  return domain === 'image' || domain === 'video' || domain === 'pdf';
}

/** The rendition `/preview/{id}` serves without a spec. */
export function defaultPreviewName(asset: Asset): string {
  return asset.domain === 'video' ? VIDEO_PREVIEW : IMAGE_PREVIEW;
}

/** Makes thumbnails and previews with the media tools and keeps them in the blob store. */
export class RenditionService {
  private readonly inFlight = new Map<string, Promise<Rendition>>();

  private readonly assets: AssetStore;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly blobs: BlobStore,
    private readonly workRoot: string,
    private readonly clock: Clock,
    private readonly toolTimeoutMs: number,
  ) {
    this.assets = new AssetStore(database.db);
  }

  /** The render job: thumbnail and default preview(s) for the asset's current file. */
  async renderStandard(assetId: string, contentEtag: number): Promise<void> {
    const asset = await this.assets.findById(assetId);
    // The asset is gone or has a newer file (with its own job): nothing to do.
    if (!asset || asset.contentEtag !== contentEtag || !asset.blobKey) return;
    const renditions = await this.withSource(asset.blobKey, async (sourcePath, workDir) => {
      const outputs: Array<[string, RenderedFile]> = [];
      if (asset.domain === 'image') {
        const { preview, thumbnail } = await renderImageRenditions(sourcePath, workDir);
        outputs.push([IMAGE_PREVIEW, preview], [THUMBNAIL, thumbnail]);
      } else if (asset.domain === 'video') {
        const { poster, preview, thumbnail } = await renderVideoRenditions(sourcePath, workDir, this.toolTimeoutMs);
        outputs.push([IMAGE_PREVIEW, poster], [VIDEO_PREVIEW, preview], [THUMBNAIL, thumbnail]);
      } else if (asset.domain === 'pdf') {
        const { preview, thumbnail } = await renderPdfRenditions(sourcePath, workDir, this.toolTimeoutMs);
        outputs.push([IMAGE_PREVIEW, preview], [THUMBNAIL, thumbnail]);
      }
      const stored: Rendition[] = [];
      for (const [name, file] of outputs) stored.push(await this.adopt(asset, name, file));
      return stored;
    });
    if (renditions.length === 0) return;
    // The renditions and the new state appear together: one commit, not one per row.
    await this.database.db.transaction().execute(async (trx) => {
      const assets = new AssetStore(trx);
      for (const rendition of renditions) await assets.saveRendition(rendition);
      await assets.setRenditionStates(asset.id, contentEtag, { previewState: 'yes', thumbnailState: 'yes', renditionError: null, bumpPreviewEtag: true });
    });
  }

  /** After the last failed attempt: say so on the asset instead of retrying forever. */
  async markFailed(assetId: string, contentEtag: number, reason: string): Promise<void> {
    await this.assets.setRenditionStates(assetId, contentEtag, { previewState: 'failed', thumbnailState: 'failed', renditionError: reason, bumpPreviewEtag: false });
  }

  /** A custom preview of an image, rendered on first request and kept; concurrent requests share one render. */
  async customPreview(asset: Asset, spec: RenditionSpec): Promise<Rendition> {
    const name = specName(spec);
    const cached = await this.assets.findRendition(asset.id, name);
    if (cached && cached.contentEtag === asset.contentEtag) return cached;
    const key = `${asset.id}/${asset.contentEtag}/${name}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.withSource(asset.blobKey!, async (sourcePath, workDir) => {
        const rendition = await this.adopt(asset, name, await renderImageSpec(sourcePath, spec, workDir));
        await this.assets.saveRendition(rendition);
        return rendition;
      }).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Moves a rendered file into the blob store and describes it; the caller saves the row. */
  private async adopt(asset: Asset, name: string, file: RenderedFile): Promise<Rendition> {
    const blob = await this.blobs.adoptFile(file.path);
    return {
      assetId: asset.id,
      name,
      contentEtag: asset.contentEtag,
      blobKey: blob.key,
      mimeType: file.mimeType,
      fileSize: blob.size,
      width: file.width,
      height: file.height,
      createdAt: this.clock.now(),
    };
  }

  private async withSource<T>(blobKey: string, work: (sourcePath: string, workDir: string) => Promise<T>): Promise<T> {
    const source = await this.blobs.localCopy(blobKey);
    const workDir = await mkdtemp(join(this.workRoot, 'render-'));
    try {
      return await work(source.path, workDir);
    } finally {
      await rm(workDir, { recursive: true, force: true });
      await source.release();
    }
  }
}
