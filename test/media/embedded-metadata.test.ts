import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tags } from 'exiftool-vendored';
import { EmbeddedMetadataReader, toEmbeddedMetadata } from '../../src/media/embedded-metadata.js';
import { closeFixtureTools, makeJpegWithExif, makePdf, makePngWithAlpha, makeRandomFile, makeVideo, missingToolsReason } from '../helpers/media-fixtures.js';

const tags = (fields: Record<string, unknown>): Tags => fields as Tags;
const noFfmpeg = await missingToolsReason('ffmpeg');
const noMkfifo = await missingToolsReason('mkfifo');

describe('EmbeddedMetadataReader', () => {
  let dir: string;
  let reader: EmbeddedMetadataReader;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damson-metadata-'));
    reader = new EmbeddedMetadataReader();
  });
  after(async () => {
    await reader.close();
    await closeFixtureTools();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads EXIF, IPTC and XMP fields from a photo under Damson names', async () => {
    const path = await makeJpegWithExif(dir, {
      width: 400,
      height: 300,
      orientation: 6,
      description: 'Harbour at dawn',
      title: 'Dawn',
      keywords: ['harbour', 'boats', 'harbour'],
      copyright: '© 2021 Jane Doe',
      artist: 'Jane Doe',
      dateTimeOriginal: '2021:06:15 13:45:30',
      make: 'Canon',
      model: 'EOS R5',
      extraTags: {
        ExposureTime: '1/125',
        FNumber: 5.6,
        ISO: 400,
        FocalLength: '50',
        LensModel: 'RF50mm F1.8 STM',
        XResolution: 300,
        YResolution: 300,
        ResolutionUnit: 'inches',
        // exiftool-vendored writes the S/W references from the signs.
        GPSLatitude: -33.8688,
        GPSLongitude: -70.5,
      },
    });
    assert.deepEqual(await reader.read(path), {
      // Stored 400x300, displayed turned a quarter: orientation 6.
      width: 300,
      height: 400,
      resolutionX: 300,
      resolutionY: 300,
      // No zone in the file: taken as UTC, not guessed from the GPS position (Chile).
      created: Date.UTC(2021, 5, 15, 13, 45, 30),
      description: 'Harbour at dawn',
      title: 'Dawn',
      copyright: '© 2021 Jane Doe',
      creatorName: 'Jane Doe',
      cameraMake: 'Canon',
      cameraModel: 'EOS R5',
      lensModel: 'RF50mm F1.8 STM',
      exposureTime: '1/125',
      fNumber: 5.6,
      iso: 400,
      focalLength: 50,
      tags: ['harbour', 'boats'],
      gpsLatitude: -33.8688,
      gpsLongitude: -70.5,
      colorSpace: 'RGB',
      fileType: 'JPEG',
    });
  });

  it('honours an explicit UTC offset on the capture date', async () => {
    const path = await makeJpegWithExif(dir, { width: 40, height: 30, dateTimeOriginal: '2021:06:15 13:45:30+02:00' });
    const metadata = await reader.read(path);
    assert.equal(metadata.created, Date.UTC(2021, 5, 15, 11, 45, 30));
  });

  it('includes only the fields a file has', async () => {
    assert.deepEqual(await reader.read(await makeJpegWithExif(dir, { width: 64, height: 48 })), { width: 64, height: 48, colorSpace: 'RGB', fileType: 'JPEG' });
    assert.deepEqual(await reader.read(await makePngWithAlpha(dir, 30, 20)), {
      width: 30,
      height: 20,
      // sharp writes PNG density as pixels per metre (1000 = 25.4 dpi).
      resolutionX: 25.4,
      resolutionY: 25.4,
      colorSpace: 'RGB',
      fileType: 'PNG',
    });
  });

  it('reads the page count and title of a PDF', async () => {
    assert.deepEqual(await reader.read(await makePdf(dir, 3, 'Annual report')), { title: 'Annual report', pageCount: 3, fileType: 'PDF' });
  });

  it('reads duration and dimensions of a video', { skip: noFfmpeg }, async () => {
    const metadata = await reader.read(await makeVideo(dir, { seconds: 2, width: 320, height: 240, withAudio: true }));
    assert.equal(metadata.width, 320);
    assert.equal(metadata.height, 240);
    assert.equal(metadata.fileType, 'MP4');
    assert.ok(typeof metadata.durationSeconds === 'number' && Math.abs(metadata.durationSeconds - 2) < 0.1, String(metadata.durationSeconds));
    // ffmpeg writes zero creation dates, which mean "unknown".
    assert.equal(metadata.created, undefined);
  });

  it('returns {} for random bytes named .jpg, a missing file and a directory', async () => {
    assert.deepEqual(await reader.read((await makeRandomFile(dir, 64 * 1024, 'jpg')).path), {});
    assert.deepEqual(await reader.read(join(dir, 'missing.jpg')), {});
    assert.deepEqual(await reader.read(dir), {});
  });

  it('returns {} when exiftool takes longer than the timeout, and keeps working afterwards', { skip: noMkfifo }, async () => {
    // Opening a FIFO nobody writes to blocks forever: a reliably stuck read.
    const fifo = join(dir, 'stuck.jpg');
    execFileSync('mkfifo', [fifo]);
    const impatient = new EmbeddedMetadataReader({ timeoutMs: 300 });
    try {
      const started = Date.now();
      assert.deepEqual(await impatient.read(fifo), {});
      assert.ok(Date.now() - started < 5_000);
      const photo = await makeJpegWithExif(dir, { width: 10, height: 20, title: 'after' });
      assert.equal((await impatient.read(photo)).title, 'after');
    } finally {
      await impatient.close();
    }
  });
});

describe('toEmbeddedMetadata', () => {
  it('ignores placeholder and impossible dates, and takes the next date tag', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ DateTimeOriginal: '0000:00:00 00:00:00', CreateDate: '2020:02:30 10:00:00' })), {});
    assert.deepEqual(toEmbeddedMetadata(tags({ DateTimeOriginal: '0000:00:00 00:00:00', CreateDate: '2020:02:29 10:00:00.5Z' })), {
      created: Date.UTC(2020, 1, 29, 10, 0, 0, 500),
    });
    assert.deepEqual(toEmbeddedMetadata(tags({ CreationDate: '2019:12:31 23:30:00-01:00' })), { created: Date.UTC(2020, 0, 1, 0, 30) });
  });

  it('drops a (0, 0) GPS position and out-of-range coordinates', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ GPSLatitude: 0, GPSLongitude: 0 })), {});
    assert.deepEqual(toEmbeddedMetadata(tags({ GPSLatitude: 91, GPSLongitude: 10 })), {});
    assert.deepEqual(toEmbeddedMetadata(tags({ GPSLatitude: 0, GPSLongitude: 10.5 })), { gpsLatitude: 0, gpsLongitude: 10.5 });
  });

  it('converts resolutions to dpi and ignores unit-less ones', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ XResolution: 100, YResolution: 50, ResolutionUnit: 'cm' })), { resolutionX: 254, resolutionY: 127 });
    assert.deepEqual(toEmbeddedMetadata(tags({ XResolution: 1, YResolution: 1, ResolutionUnit: 'None' })), {});
  });

  it('swaps dimensions for a video rotated a quarter turn', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ ImageWidth: 1920, ImageHeight: 1080, Rotation: 90 })), { width: 1080, height: 1920 });
    assert.deepEqual(toEmbeddedMetadata(tags({ ImageWidth: 1920, ImageHeight: 1080, Rotation: 180 })), { width: 1920, height: 1080 });
  });

  it('merges and deduplicates keywords, splitting a PDF keyword string', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ Keywords: ['a', 'b'], Subject: ['b', ' c ', ''] })), { tags: ['a', 'b', 'c'] });
    assert.deepEqual(toEmbeddedMetadata(tags({ Keywords: 'Smith, John' })), { tags: ['Smith, John'] });
    assert.deepEqual(toEmbeddedMetadata(tags({ FileType: 'PDF', Keywords: 'report; finance, 2024' })), { tags: ['report', 'finance', '2024'], fileType: 'PDF' });
  });

  it('joins several creators, and prefers the reconciled MWG tags', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ Creator: ['Ann', 'Bob'], Artist: 'ignored' })), { creatorName: 'Ann, Bob' });
    assert.deepEqual(toEmbeddedMetadata(tags({ Description: '  ', ImageDescription: 'fallback' })), { description: 'fallback' });
  });

  it('returns nothing for a file exiftool could not read', () => {
    assert.deepEqual(toEmbeddedMetadata(tags({ Error: 'File format error', ImageWidth: 10, ImageHeight: 10 })), {});
  });
});
