import { randomBytes, randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';

export interface Photo {
  path: string;
  bytes: number;
}

/** Where the detail comes from before it is enlarged to full size: one source pixel becomes an 8×8 block. */
const DETAIL_FACTOR = 8;

/**
 * A camera-like JPEG: a smooth random scene (gradients and waves) with blurred mid-frequency texture, enlarged to
 * full size, plus per-pixel luminance grain like a sensor's, encoded at `quality` with camera EXIF tags. Random
 * content makes every file different (Damson's blob store would deduplicate equal files) and hard to compress, so
 * a 4000×3000 image at quality 90 is about 5 MB, like a real 12-megapixel photo.
 */
export async function makePhoto(dir: string, index: number, options: { width: number; height: number; quality: number }): Promise<Photo> {
  const { width, height, quality } = options;
  const smallWidth = Math.max(2, Math.ceil(width / DETAIL_FACTOR));
  const smallHeight = Math.max(2, Math.ceil(height / DETAIL_FACTOR));
  const seed = randomBytes(16);
  const texture = randomBytes(smallWidth * smallHeight * 2);
  const small = Buffer.allocUnsafe(smallWidth * smallHeight * 3);
  for (let y = 0; y < smallHeight; y++) {
    for (let x = 0; x < smallWidth; x++) {
      const pixel = y * smallWidth + x;
      // Mostly luminance texture with a little colour noise, as in real photos.
      const luma = (texture[pixel * 2]! - 128) * 0.3;
      for (let c = 0; c < 3; c++) {
        const gradient = seed[c]! * (1 - y / smallHeight) + seed[c + 3]! * (y / smallHeight);
        const wave = 40 * Math.sin(x / (6 + seed[6 + c]! / 6) + seed[9]!) * Math.cos(y / (8 + seed[12 + c]! / 6));
        const chroma = ((texture[pixel * 2 + 1]! >> (c * 2)) & 3) * 4 - 6;
        const value = gradient * 0.7 + wave + luma + chroma + 30;
        small[pixel * 3 + c] = value < 0 ? 0 : value > 255 ? 255 : value;
      }
    }
  }
  const pixels = await sharp(small, { raw: { width: smallWidth, height: smallHeight, channels: 3 } })
    .resize(width, height, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();
  const grain = randomFillSync(Buffer.allocUnsafe(width * height));
  for (let offset = 0, pixel = 0; offset < pixels.length; offset += 3, pixel++) {
    const noise = (grain[pixel]! >> 3) - 16;
    for (let c = 0; c < 3; c++) {
      const value = pixels[offset + c]! + noise;
      pixels[offset + c] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  const path = join(dir, `photo-${String(index).padStart(4, '0')}.jpg`);
  const info = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .withExif({
      IFD0: {
        Make: 'Damson Bench',
        Model: 'Synthetic 12MP',
        Software: 'bench/lib/photos.ts',
        DateTime: '2024:06:01 12:00:00',
        ImageDescription: `Benchmark photo ${index}`,
        Artist: 'Damson',
        Copyright: 'CC0',
      },
    })
    .toFile(path);
  return { path, bytes: info.size };
}
