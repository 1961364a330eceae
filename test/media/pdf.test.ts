import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { renderPdfRenditions } from '../../src/media/pdf.js';
import { MediaToolError } from '../../src/media/tools.js';
import { makePdf, makeRandomFile, missingToolsReason, PDF_BOX, PDF_PAGE } from '../helpers/media-fixtures.js';

const TIMEOUT_MS = 60_000;

async function grayAt(path: string, x: number, y: number): Promise<number> {
  const { data, info } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
  return data[y * info.width + x] ?? -1;
}

describe('renderPdfRenditions', { skip: await missingToolsReason('pdftoppm') }, () => {
  let dir: string;
  let workDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damson-pdf-'));
    workDir = await mkdtemp(join(tmpdir(), 'damson-pdf-work-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('renders the first page with its longer side at 1600, and a thumbnail from it', async () => {
    const source = await makePdf(dir, 3);
    const { preview, thumbnail } = await renderPdfRenditions(source, workDir, TIMEOUT_MS);
    const scale = 1600 / PDF_PAGE.height;
    assert.equal(preview.height, 1600);
    assert.ok(Math.abs(preview.width - Math.round(PDF_PAGE.width * scale)) <= 1, `width ${preview.width}`);
    assert.equal(preview.mimeType, 'image/jpeg');
    const metadata = await sharp(preview.path).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height], ['jpeg', preview.width, preview.height]);
    assert.equal((await stat(preview.path)).size, preview.size);

    // The page's black box is drawn where the PDF put it (PDF y runs up from the bottom).
    const boxCenterX = Math.round((PDF_BOX.x + PDF_BOX.width / 2) * scale);
    const boxCenterY = Math.round((PDF_PAGE.height - PDF_BOX.y - PDF_BOX.height / 2) * scale);
    assert.ok((await grayAt(preview.path, boxCenterX, boxCenterY)) < 40, 'black box is black');
    assert.ok((await grayAt(preview.path, boxCenterX, Math.round(PDF_PAGE.height * scale * 0.5))) > 240, 'page is white elsewhere');

    assert.equal(thumbnail.height, 256);
    assert.ok(thumbnail.width <= 256 && Math.abs(thumbnail.width - Math.round((256 * PDF_PAGE.width) / PDF_PAGE.height)) <= 1);
    assert.equal((await sharp(thumbnail.path).metadata()).format, 'jpeg');
    assert.notEqual(thumbnail.path, preview.path);
  });

  it('fails with MediaToolError "failed" and pdftoppm\'s reason for a file that is not a PDF, leaving nothing behind', async () => {
    const emptyWorkDir = await mkdtemp(join(tmpdir(), 'damson-pdf-empty-'));
    try {
      const { path } = await makeRandomFile(dir, 16 * 1024, 'pdf');
      await assert.rejects(renderPdfRenditions(path, emptyWorkDir, TIMEOUT_MS), (error: unknown) => {
        assert.ok(error instanceof MediaToolError);
        assert.equal(error.reason, 'failed');
        assert.equal(error.tool, 'pdftoppm');
        assert.match(error.message, /^pdftoppm failed: \S/);
        return true;
      });
      assert.deepEqual(await readdir(emptyWorkDir), []);
    } finally {
      await rm(emptyWorkDir, { recursive: true, force: true });
    }
  });
});
