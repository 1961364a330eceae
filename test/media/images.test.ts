import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { UnreadableMediaError } from '../../src/media/errors.js';
import { probeImage, renderImageRenditions, renderImageSpec, type RenderedFile } from '../../src/media/images.js';
import { closeFixtureTools, makeJpegWithExif, makePngWithAlpha, makeRandomFile, markerSize } from '../helpers/media-fixtures.js';

type Rgba = [r: number, g: number, b: number, a: number];

/** The pixel at (x, y) of an image file, as RGBA (alpha 255 when the file has none). */
async function pixelAt(path: string, x: number, y: number): Promise<Rgba> {
  const { data, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * 4;
  return [data[offset] ?? -1, data[offset + 1] ?? -1, data[offset + 2] ?? -1, data[offset + 3] ?? -1];
}

const isRed = ([r, g, b]: Rgba) => r > 200 && g < 60 && b < 60;
const isWhite = ([r, g, b, a]: Rgba) => r > 245 && g > 245 && b > 245 && a === 255;
const isOpaqueBlue = ([r, g, b, a]: Rgba) => r < 40 && g < 40 && b > 200 && a === 255;

/** The file is what the RenderedFile says it is. */
async function assertDescribes(file: RenderedFile, format: string, mimeType: string): Promise<void> {
  const metadata = await sharp(file.path).metadata();
  assert.equal(metadata.format, format);
  assert.equal(file.mimeType, mimeType);
  assert.equal(metadata.width, file.width);
  assert.equal(metadata.height, file.height);
  assert.equal((await stat(file.path)).size, file.size);
}

function assertFitsInside(file: RenderedFile, maxWidth: number, maxHeight: number): void {
  assert.ok(file.width <= maxWidth && file.height <= maxHeight, `${file.width}x${file.height} exceeds ${maxWidth}x${maxHeight}`);
  assert.ok(file.width === maxWidth || file.height === maxHeight, `${file.width}x${file.height} does not touch ${maxWidth}x${maxHeight}`);
}

describe('images', () => {
  let dir: string;
  let workDir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damson-images-'));
    workDir = await mkdtemp(join(tmpdir(), 'damson-images-work-'));
  });
  after(async () => {
    await closeFixtureTools();
    await rm(dir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  describe('renderImageRenditions', () => {
    it('fits a 12-megapixel photo into a 1600 preview and a 256 thumbnail, keeping the aspect ratio', async () => {
      const source = await makeJpegWithExif(dir, { width: 4000, height: 3000 });
      const { preview, thumbnail } = await renderImageRenditions(source, workDir);
      assert.deepEqual([preview.width, preview.height], [1600, 1200]);
      assert.deepEqual([thumbnail.width, thumbnail.height], [256, 192]);
      await assertDescribes(preview, 'jpeg', 'image/jpeg');
      await assertDescribes(thumbnail, 'jpeg', 'image/jpeg');
      assert.ok(preview.path.startsWith(workDir) && thumbnail.path.startsWith(workDir));
      assert.ok(isRed(await pixelAt(preview.path, 20, 20)), 'marker at the top left of the preview');
      assert.ok(isRed(await pixelAt(thumbnail.path, 5, 5)), 'marker at the top left of the thumbnail');
      assert.ok(!isRed(await pixelAt(thumbnail.path, 250, 5)));
    });

    it('never enlarges a small image', async () => {
      const source = await makeJpegWithExif(dir, { width: 300, height: 200 });
      const { preview, thumbnail } = await renderImageRenditions(source, workDir);
      assert.deepEqual([preview.width, preview.height], [300, 200]);
      assertFitsInside(thumbnail, 256, 256);
      assert.equal(thumbnail.width, 256);
      assert.ok(Math.abs(thumbnail.height - 171) <= 1);

      const tiny = await makeJpegWithExif(dir, { width: 40, height: 90 });
      const small = await renderImageRenditions(tiny, workDir);
      assert.deepEqual([small.preview.width, small.preview.height], [40, 90]);
      assert.deepEqual([small.thumbnail.width, small.thumbnail.height], [40, 90]);
    });

    it('fits portrait and extreme panorama shapes inside the bounds', async () => {
      const tall = await renderImageRenditions(await makeJpegWithExif(dir, { width: 1000, height: 2500 }), workDir);
      assert.deepEqual([tall.preview.width, tall.preview.height], [640, 1600]);
      assertFitsInside(tall.thumbnail, 256, 256);
      const wide = await renderImageRenditions(await makeJpegWithExif(dir, { width: 3200, height: 40 }), workDir);
      assert.deepEqual([wide.preview.width, wide.preview.height], [1600, 20]);
      assert.equal(wide.thumbnail.width, 256);
      assert.ok(wide.thumbnail.height >= 1 && wide.thumbnail.height <= 4);
    });

    it('applies EXIF orientation 6: dimensions swap and the top-left marker ends up top right', async () => {
      // Stored 400x300 with the marker top left; orientation 6 displays it turned 90° clockwise, 300x400.
      const turned = await makeJpegWithExif(dir, { width: 400, height: 300, orientation: 6 });
      const { preview, thumbnail } = await renderImageRenditions(turned, workDir);
      assert.deepEqual([preview.width, preview.height], [300, 400]);
      assert.deepEqual([thumbnail.width, thumbnail.height], [192, 256]);
      const half = Math.floor(markerSize(400, 300) / 2);
      assert.ok(isRed(await pixelAt(preview.path, 300 - half, half)), 'marker top right');
      assert.ok(!isRed(await pixelAt(preview.path, half, half)), 'no marker top left');
      assert.ok(!isRed(await pixelAt(preview.path, 300 - half, 400 - half)), 'no marker bottom right');
      assert.ok(isRed(await pixelAt(thumbnail.path, 192 - 10, 10)));
      assert.ok(!isRed(await pixelAt(thumbnail.path, 10, 10)));

      // Control: the same file without orientation keeps the marker top left.
      const upright = await renderImageRenditions(await makeJpegWithExif(dir, { width: 400, height: 300 }), workDir);
      assert.deepEqual([upright.preview.width, upright.preview.height], [400, 300]);
      assert.ok(isRed(await pixelAt(upright.preview.path, half, half)));
    });

    it('flattens transparency onto white, since JPEG has no alpha', async () => {
      const source = await makePngWithAlpha(dir, 200, 100);
      const { preview, thumbnail } = await renderImageRenditions(source, workDir);
      assert.deepEqual([preview.width, preview.height], [200, 100]);
      assert.ok(isWhite(await pixelAt(preview.path, 20, 50)), 'transparent half is white, not black');
      assert.ok(isOpaqueBlue(await pixelAt(preview.path, 180, 50)));
      assert.ok(isWhite(await pixelAt(thumbnail.path, 10, 30)));
      assert.equal((await sharp(preview.path).metadata()).channels, 3);
    });

    it('copies no metadata into the outputs', async () => {
      const source = await makeJpegWithExif(dir, {
        width: 600,
        height: 400,
        description: 'secret description',
        extraTags: { GPSLatitude: 52.37, GPSLatitudeRef: 'N', GPSLongitude: 4.89, GPSLongitudeRef: 'E' },
      });
      assert.ok((await sharp(source).metadata()).exif, 'the source has EXIF');
      const { preview, thumbnail } = await renderImageRenditions(source, workDir);
      for (const file of [preview, thumbnail]) {
        const metadata = await sharp(file.path).metadata();
        assert.equal(metadata.exif, undefined);
        assert.equal(metadata.iptc, undefined);
        assert.equal(metadata.xmp, undefined);
      }
    });

    it('writes uniquely named files, so renders into one directory never collide', async () => {
      const source = await makeJpegWithExif(dir, { width: 64, height: 64 });
      const first = await renderImageRenditions(source, workDir);
      const second = await renderImageRenditions(source, workDir);
      const paths = new Set([first.preview.path, first.thumbnail.path, second.preview.path, second.thumbnail.path]);
      assert.equal(paths.size, 4);
      for (const path of paths) assert.ok((await stat(path)).size > 0);
    });
  });

  describe('renderImageSpec', () => {
    it('renders a custom jpg with its quality, fitted and oriented', async () => {
      const source = await makeJpegWithExif(dir, { width: 2000, height: 1000, orientation: 6 });
      const high = await renderImageSpec(source, { maxWidth: 500, maxHeight: 350, format: 'jpg', quality: 95 }, workDir);
      const low = await renderImageSpec(source, { maxWidth: 500, maxHeight: 350, format: 'jpg', quality: 20 }, workDir);
      assert.deepEqual([high.width, high.height], [175, 350]);
      await assertDescribes(high, 'jpeg', 'image/jpeg');
      assert.ok(low.size < high.size, `quality 20 (${low.size} bytes) should be smaller than 95 (${high.size} bytes)`);
    });

    it('keeps transparency in webp and png, and flattens it in jpg', async () => {
      const source = await makePngWithAlpha(dir, 400, 200);
      const webp = await renderImageSpec(source, { maxWidth: 100, maxHeight: 100, format: 'webp', quality: 80 }, workDir);
      const png = await renderImageSpec(source, { maxWidth: 100, maxHeight: 100, format: 'png', quality: 80 }, workDir);
      const jpg = await renderImageSpec(source, { maxWidth: 100, maxHeight: 100, format: 'jpg', quality: 80 }, workDir);
      await assertDescribes(webp, 'webp', 'image/webp');
      await assertDescribes(png, 'png', 'image/png');
      for (const file of [webp, png, jpg]) assert.deepEqual([file.width, file.height], [100, 50]);
      assert.equal((await pixelAt(webp.path, 5, 25))[3], 0, 'webp keeps the transparent half');
      assert.equal((await pixelAt(png.path, 5, 25))[3], 0, 'png keeps the transparent half');
      assert.ok(isOpaqueBlue(await pixelAt(png.path, 95, 25)));
      assert.ok(isWhite(await pixelAt(jpg.path, 5, 25)), 'jpg is flattened onto white');
    });

    it('never enlarges', async () => {
      const source = await makeJpegWithExif(dir, { width: 120, height: 80 });
      const file = await renderImageSpec(source, { maxWidth: 4096, maxHeight: 4096, format: 'png', quality: 80 }, workDir);
      assert.deepEqual([file.width, file.height], [120, 80]);
    });
  });

  describe('probeImage', () => {
    it('reports displayed dimensions and format from the header', async () => {
      assert.deepEqual(await probeImage(await makeJpegWithExif(dir, { width: 400, height: 300 })), { width: 400, height: 300, format: 'jpeg' });
      assert.deepEqual(await probeImage(await makeJpegWithExif(dir, { width: 400, height: 300, orientation: 6 })), {
        width: 300,
        height: 400,
        format: 'jpeg',
      });
      assert.deepEqual(await probeImage(await makeJpegWithExif(dir, { width: 400, height: 300, orientation: 3 })), {
        width: 400,
        height: 300,
        format: 'jpeg',
      });
      assert.deepEqual(await probeImage(await makePngWithAlpha(dir, 30, 20)), { width: 30, height: 20, format: 'png' });
    });

    it('is undefined for anything that is not an image', async () => {
      assert.equal(await probeImage((await makeRandomFile(dir, 4096, 'jpg')).path), undefined);
      assert.equal(await probeImage(join(dir, 'does-not-exist.jpg')), undefined);
      assert.equal(await probeImage(dir), undefined);
    });
  });

  describe('bad input', () => {
    it('rejects random bytes named .jpg with an UnreadableMediaError naming the file, and writes nothing', async () => {
      const emptyWorkDir = await mkdtemp(join(tmpdir(), 'damson-images-empty-'));
      try {
        const { path } = await makeRandomFile(dir, 64 * 1024, 'jpg');
        const name = path.slice(dir.length + 1);
        await assert.rejects(renderImageRenditions(path, emptyWorkDir), (error: unknown) => {
          assert.ok(error instanceof UnreadableMediaError);
          assert.ok(error.message.startsWith(`Cannot render image ${name}: `), error.message);
          assert.match(error.message, /unsupported image format/);
          return true;
        });
        await assert.rejects(renderImageSpec(path, { maxWidth: 100, maxHeight: 100, format: 'png', quality: 80 }, emptyWorkDir), UnreadableMediaError);
        await assert.rejects(renderImageRenditions(join(dir, 'missing.jpg'), emptyWorkDir), UnreadableMediaError);
        assert.deepEqual(await readdir(emptyWorkDir), []);
      } finally {
        await rm(emptyWorkDir, { recursive: true, force: true });
      }
    });

    it('refuses an image whose header claims more pixels than the limit, before decoding it', async () => {
      const path = join(dir, 'bomb.png');
      await writeFile(path, await pngClaiming(100_000, 100_000));
      const started = Date.now();
      await assert.rejects(renderImageRenditions(path, workDir), (error: unknown) => {
        assert.ok(error instanceof UnreadableMediaError);
        assert.match(error.message, /pixel limit/);
        return true;
      });
      assert.ok(Date.now() - started < 2_000);
    });

    it('rejects a truncated JPEG instead of rendering half a picture', async () => {
      const whole = await makeJpegWithExif(dir, { width: 800, height: 600 });
      const bytes = await sharp(whole).toBuffer();
      const path = join(dir, 'truncated.jpg');
      await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await assert.rejects(renderImageRenditions(path, workDir), UnreadableMediaError);
    });
  });
});

/** A real 1x1 PNG whose header is rewritten to claim width x height (with a valid CRC, so only the size is wrong). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer());
  // Signature (8) + length (4) + "IHDR" (4), then width and height; the CRC covers type and data (17 bytes).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
