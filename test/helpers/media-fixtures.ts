import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExifTool, type WriteTags } from 'exiftool-vendored';
import sharp from 'sharp';
import { isToolAvailable, runTool } from '../../src/media/tools.js';

/**
 * Media files made on the fly (nothing binary is committed). Every maker writes a new, uniquely named file into
 * `dir` and returns its path. Call closeFixtureTools() in `after`, or the exiftool process keeps node alive.
 */

let exiftool: ExifTool | undefined;

function fixtureExifTool(): ExifTool {
  exiftool ??= new ExifTool({ maxProcs: 1 });
  return exiftool;
}

export async function closeFixtureTools(): Promise<void> {
  const running = exiftool;
  exiftool = undefined;
  await running?.end();
}

function newPath(dir: string, stem: string, extension: string): string {
  return join(dir, `${stem}-${randomBytes(6).toString('hex')}.${extension}`);
}

/**
 * Colours of the stored (un-rotated) test image: a red block in the top-left corner on a blue-green gradient,
 * so any rotation or mirroring moves the red to a different corner.
 */
export const MARKER_RGB = [255, 0, 0] as const;

/** The marker block's side in stored pixels: a quarter of the shorter side. */
export function markerSize(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.min(width, height) / 4));
}

function markedPixels(width: number, height: number): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  const marker = markerSize(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const offset = (y * width + x) * 3;
      const inMarker = x < marker && y < marker;
      pixels[offset] = inMarker ? MARKER_RGB[0] : 0;
      pixels[offset + 1] = inMarker ? MARKER_RGB[1] : Math.round((255 * x) / Math.max(1, width - 1));
      pixels[offset + 2] = inMarker ? MARKER_RGB[2] : Math.round((255 * y) / Math.max(1, height - 1));
    }
  }
  return pixels;
}

export interface JpegFixtureOptions {
  width: number;
  height: number;
  /** EXIF orientation 1..8 (6 = the camera was turned, display rotated 90° clockwise). */
  orientation?: number;
  description?: string;
  title?: string;
  keywords?: string[];
  copyright?: string;
  artist?: string;
  /** 'YYYY:MM:DD HH:MM:SS', optionally followed by an offset such as '+02:00' (then OffsetTimeOriginal is written too). */
  dateTimeOriginal?: string;
  make?: string;
  model?: string;
  /** Any further tags, written as given (GPS, exposure, ...). */
  extraTags?: WriteTags;
}

/** A JPEG with the marker pattern (stored orientation) and the requested EXIF/IPTC/XMP tags. */
export async function makeJpegWithExif(dir: string, options: JpegFixtureOptions): Promise<string> {
  const path = newPath(dir, 'photo', 'jpg');
  await sharp(markedPixels(options.width, options.height), { raw: { width: options.width, height: options.height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(path);
  const tags: WriteTags = { ...options.extraTags };
  // With MWG (exiftool-vendored's default) these names write EXIF, IPTC and XMP together, as cameras and DAMs do.
  // The '#' writes the number itself; plain Orientation expects exiftool's text ("Rotate 90 CW").
  if (options.orientation !== undefined) tags['Orientation#'] = options.orientation;
  if (options.description !== undefined) tags.Description = options.description;
  if (options.title !== undefined) {
    tags.Title = options.title;
    tags.ObjectName = options.title;
  }
  if (options.keywords !== undefined) tags.Keywords = options.keywords;
  if (options.copyright !== undefined) tags.Copyright = options.copyright;
  if (options.artist !== undefined) tags.Creator = options.artist;
  if (options.dateTimeOriginal !== undefined) tags.DateTimeOriginal = options.dateTimeOriginal;
  if (options.make !== undefined) tags.Make = options.make;
  if (options.model !== undefined) tags.Model = options.model;
  if (Object.keys(tags).length > 0) await fixtureExifTool().write(path, tags, { writeArgs: ['-overwrite_original'] });
  return path;
}

/** A PNG whose left half is fully transparent black and whose right half is opaque blue. */
export async function makePngWithAlpha(dir: string, width: number, height: number): Promise<string> {
  const path = newPath(dir, 'alpha', 'png');
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const offset = (y * width + x) * 4;
      // Transparent pixels are black, so dropping the alpha instead of flattening would show black, not white.
      if (x >= width / 2) pixels.set([0, 0, 255, 255], offset);
    }
  }
  await sharp(pixels, { raw: { width, height, channels: 4 } }).png().toFile(path);
  return path;
}

/** An H.264 MP4 of ffmpeg's test pattern, with a sine tone as AAC audio if asked. Dimensions must be even. */
export async function makeVideo(dir: string, options: { seconds: number; width: number; height: number; withAudio: boolean }): Promise<string> {
  const path = newPath(dir, 'video', 'mp4');
  const duration = String(options.seconds);
  const audio = options.withAudio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${duration}`] : [];
  await runTool(
    'ffmpeg',
    [
      '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc=size=${options.width}x${options.height}:rate=25:duration=${duration}`,
      ...audio,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
      ...(options.withAudio ? ['-c:a', 'aac', '-shortest'] : []),
      path,
    ],
    { timeoutMs: 60_000 },
  );
  return path;
}

/** Page size of makePdf's pages, in points (A4), and the black box drawn on each page. */
export const PDF_PAGE = { width: 595, height: 842 };
export const PDF_BOX = { x: 72, y: 72, width: 200, height: 100 };

/**
 * A minimal PDF written by hand: `pages` A4 pages, each with "Page N" in Helvetica and a black box in the
 * lower-left area (PDF_BOX, PDF coordinates from the bottom), plus a document title.
 */
export async function makePdf(dir: string, pages: number, title = 'Damson test document'): Promise<string> {
  const path = newPath(dir, 'document', 'pdf');
  const objects: string[] = [];
  const pageIds = Array.from({ length: pages }, (_, page) => 4 + page * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pageIds.forEach((id, page) => {
    const content = `BT /F1 36 Tf 72 720 Td (Page ${page + 1}) Tj ET\n0 0 0 rg ${PDF_BOX.x} ${PDF_BOX.y} ${PDF_BOX.width} ${PDF_BOX.height} re f\n`;
    objects[id] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PDF_PAGE.width} ${PDF_PAGE.height}] ` +
      `/Resources << /Font << /F1 3 0 R >> >> /Contents ${id + 1} 0 R >>`;
    objects[id + 1] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}endstream`;
  });
  const infoId = objects.length;
  objects[infoId] = `<< /Title (${title.replace(/[\\()]/g, (c) => `\\${c}`)}) /Producer (Damson tests) >>`;

  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = Buffer.byteLength(body, 'latin1');
    body += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xrefOffset = Buffer.byteLength(body, 'latin1');
  // Each xref entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, type, CR LF.
  body += `xref\n0 ${objects.length}\n0000000000 65535 f\r\n`;
  for (let id = 1; id < objects.length; id++) body += `${String(offsets[id]).padStart(10, '0')} 00000 n\r\n`;
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R /Info ${infoId} 0 R >>\nstartxref\n${xrefOffset}\n%%EOF\n`;
  await writeFile(path, Buffer.from(body, 'latin1'));
  return path;
}

/**
 * A file of `bytes` pseudo-random bytes, streamed 1 MiB at a time so even hundreds of MB never sit in memory.
 * The hash is computed while writing.
 */
export async function makeRandomFile(dir: string, bytes: number, extension = 'bin'): Promise<{ path: string; sha256: string }> {
  const path = newPath(dir, 'random', extension);
  const hash = createHash('sha256');
  const chunkSize = 1024 * 1024;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let written = 0; written < bytes; written += chunkSize) {
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, bytes - written)));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return { path, sha256: hash.digest('hex') };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * For `describe(..., { skip })`: why a suite needing `tools` cannot run here, or false. A missing tool is a
 * visible skip on a workstation but a failure under CI=true, like a missing PostgreSQL.
 */
export async function missingToolsReason(...tools: string[]): Promise<string | false> {
  const missing: string[] = [];
  for (const tool of tools) if (!(await isToolAvailable(tool))) missing.push(tool);
  if (missing.length === 0) return false;
  const reason = `not installed: ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (required under CI=true)`);
  return reason;
}
