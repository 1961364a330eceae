import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_PREVIEW_BOUNDS,
  DEFAULT_PREVIEW_SPEC,
  DEFAULT_PREVIEW_SPEC_NAME,
  parsePreviewSpec,
  type RenditionSpec,
  specName,
  THUMBNAIL_SPEC,
} from '../../src/media/preview-spec.js';

const spec = (maxWidth: number, maxHeight: number, format: RenditionSpec['format'], quality = 80): RenditionSpec => ({
  maxWidth,
  maxHeight,
  format,
  quality,
});

const VALID: ReadonlyArray<readonly [string, RenditionSpec]> = [
  ['maxWidth_1600_maxHeight_1600.jpg', spec(1600, 1600, 'jpg')],
  ['maxWidth_500_maxHeight_350.jpg', spec(500, 350, 'jpg')],
  ['maxWidth_500_maxHeight_350_quality_90.jpg', spec(500, 350, 'jpg', 90)],
  ['maxWidth_500_maxHeight_350_quality_1.jpg', spec(500, 350, 'jpg', 1)],
  ['maxWidth_500_maxHeight_350_quality_100.webp', spec(500, 350, 'webp', 100)],
  ['maxWidth_1_maxHeight_1.png', spec(1, 1, 'png')],
  ['maxWidth_4096_maxHeight_4096.webp', spec(4096, 4096, 'webp')],
  ['maxWidth_200_maxHeight_100.jpeg', spec(200, 100, 'jpg')],
  // png is lossless: its quality is accepted but normalised, so one png has one cache entry.
  ['maxWidth_300_maxHeight_300_quality_50.png', spec(300, 300, 'png')],
];

const INVALID: readonly string[] = [
  '',
  'maxWidth_1600_maxHeight_1600',
  'maxWidth_1600_maxHeight_1600.tiff',
  'maxWidth_1600_maxHeight_1600.mp4',
  'maxWidth_1600_maxHeight_1600.JPG',
  'maxWidth_1600_maxHeight_1600.jpg.exe',
  'maxWidth_0_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_0.jpg',
  'maxWidth_-100_maxHeight_100.jpg',
  'maxWidth_1.5_maxHeight_100.jpg',
  'maxWidth_4097_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_99999.jpg',
  'maxWidth_100000000000000000000_maxHeight_100.jpg',
  'maxWidth_0100_maxHeight_100.jpg',
  'maxWidth_1e3_maxHeight_100.jpg',
  'maxWidth_0x10_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_100_quality_0.jpg',
  'maxWidth_100_maxHeight_100_quality_101.jpg',
  'maxWidth_100_maxHeight_100_quality_080.jpg',
  'maxWidth_100_maxHeight_100_quality_.jpg',
  'maxWidth_100_maxHeight_100_crop_1.jpg',
  'maxHeight_100_maxWidth_100.jpg',
  'maxwidth_100_maxheight_100.jpg',
  'maxWidth_100.jpg',
  'maxWidth_100_maxHeight_100_quality_80_quality_90.jpg',
  '../maxWidth_100_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_100.jpg/../../etc/passwd',
  'a/maxWidth_100_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_100.jpg\n',
  ' maxWidth_100_maxHeight_100.jpg',
  'maxWidth_100_maxHeight_100.jpg%00.png',
  'maxWidth_１００_maxHeight_100.jpg',
  `maxWidth_${'1'.repeat(10_000)}_maxHeight_100.jpg`,
  'maxWidth_100_maxHeight_100.'.repeat(1000) + 'jpg',
  'thumbnail',
  'previews',
];

describe('parsePreviewSpec', () => {
  for (const [name, expected] of VALID) {
    it(`accepts ${name}`, () => assert.deepEqual(parsePreviewSpec(name), expected));
  }

  for (const name of INVALID) {
    it(`refuses ${JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)}`, () => {
      assert.equal(parsePreviewSpec(name), undefined);
    });
  }

  it('never throws, whatever it is given at run time', () => {
    for (const value of [undefined, null, 42, {}, [], Symbol('x')]) {
      assert.equal(parsePreviewSpec(value as unknown as string), undefined);
    }
  });

  it('applies the bounds it is given', () => {
    const small = { maxDimension: 800, formats: ['jpg'] as const };
    assert.deepEqual(parsePreviewSpec('maxWidth_800_maxHeight_600.jpg', small), spec(800, 600, 'jpg'));
    assert.equal(parsePreviewSpec('maxWidth_801_maxHeight_600.jpg', small), undefined);
    assert.equal(parsePreviewSpec('maxWidth_800_maxHeight_600.png', small), undefined);
    assert.deepEqual(parsePreviewSpec('maxWidth_4096_maxHeight_1.jpg', DEFAULT_PREVIEW_BOUNDS), spec(4096, 1, 'jpg'));
  });
});

describe('specName', () => {
  it('names the default preview DEFAULT_PREVIEW_SPEC_NAME', () => {
    assert.equal(specName(DEFAULT_PREVIEW_SPEC), DEFAULT_PREVIEW_SPEC_NAME);
    assert.deepEqual(parsePreviewSpec(DEFAULT_PREVIEW_SPEC_NAME), DEFAULT_PREVIEW_SPEC);
    assert.deepEqual(THUMBNAIL_SPEC, spec(256, 256, 'jpg'));
  });

  it('omits the default quality and spells .jpeg as .jpg', () => {
    assert.equal(specName(spec(500, 350, 'jpg', 90)), 'maxWidth_500_maxHeight_350_quality_90.jpg');
    assert.equal(specName(spec(500, 350, 'webp')), 'maxWidth_500_maxHeight_350.webp');
    const jpeg = parsePreviewSpec('maxWidth_500_maxHeight_350_quality_80.jpeg');
    assert.ok(jpeg);
    assert.equal(specName(jpeg), 'maxWidth_500_maxHeight_350.jpg');
  });

  it('gives every valid name a canonical form that parses back to the same spec', () => {
    for (const [name, expected] of VALID) {
      const canonical = specName(expected);
      assert.deepEqual(parsePreviewSpec(canonical), expected, `${name} → ${canonical}`);
    }
  });
});
