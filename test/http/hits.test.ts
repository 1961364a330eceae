import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assetFields, assetMetadata } from '../../src/assets/asset-fields.js';
import type { Asset } from '../../src/assets/asset-store.js';
import { encodeValue, fieldDefinition } from '../../src/assets/fields.js';
import { parseMetadataToReturn, toHit } from '../../src/http/hits.js';

const base: Asset = {
  id: 'a1b2c3',
  assetPath: '/Clients/Ünïcode & Co/harbour dawn #1.jpg',
  folderPath: '/Clients/Ünïcode & Co',
  filename: 'harbour dawn #1.jpg',
  extension: 'jpg',
  domain: 'image',
  mimeType: 'image/jpeg',
  blobKey: 'blob',
  fileSize: 19_188_736,
  sha256: 'ab'.repeat(32),
  versionNumber: 3,
  contentEtag: 4,
  previewEtag: 5,
  previewState: 'yes',
  thumbnailState: 'yes',
  renditionError: null,
  createdAt: Date.UTC(2024, 1, 29, 23, 59, 58),
  modifiedAt: Date.UTC(1999, 11, 31),
  fileModifiedAt: 0,
  creator: 'anna',
  modifier: 'ben',
  fileModifier: 'anna',
  metadata: {},
};

/** Assets that differ in everything hitMetadata treats specially: optional fields, custom fields, lists, numbers, dates. */
const variants: Asset[] = [
  base,
  { ...base, sha256: null, blobKey: null, previewState: 'no', thumbnailState: 'failed', fileSize: 12, domain: 'document', extension: 'pdf', filename: 'x.pdf' },
  { ...base, domain: 'video', extension: 'mp4', filename: 'clip.mp4', fileSize: 5 * 1024 ** 4 },
  {
    ...base,
    metadata: {
      description: 'Boats at dawn… “quoted” <b>',
      tags: ['Harbour', 'Sea'],
      rating: 4,
      created: Date.UTC(2020, 5, 1),
      licenseEndDate: '1700000000000',
      width: '5200',
      fNumber: 2.8,
      cf_project: 'PRJ-1',
      cf_regions: ['EMEA', 'APAC'],
    },
  },
  // Stored metadata naming a system field takes that field's place, as in assetFields.
  { ...base, sha256: null, metadata: { sha256: 'cd'.repeat(32), status: 'Final', assetCreator: 'imported' } },
];

/** Every stored field through encodeValue, as its definition says, in order. */
const encoded = (asset: Asset) => Object.fromEntries(Object.entries(assetFields(asset)).map(([name, value]) => [name, encodeValue(fieldDefinition(name), value)]));

describe('asset fields and hits', () => {
  it('shows every field encoded as its definition says, system fields first, in a fixed order', () => {
    for (const asset of variants) {
      // Compared as JSON text: key order is part of what clients see.
      assert.equal(JSON.stringify(assetMetadata(asset)), JSON.stringify(encoded(asset)));
    }
    assert.deepEqual(Object.keys(assetMetadata(variants[4]!)), [
      ...['assetPath', 'folderPath', 'filename', 'name', 'baseName', 'extension', 'assetType', 'assetDomain', 'mimeType', 'fileSize'],
      ...['assetCreated', 'assetModified', 'assetFileModified', 'assetCreator', 'assetModifier', 'assetFileModifier', 'versionNumber'],
      ...['previewState', 'thumbnailState', 'contentETag', 'previewETag', 'metadataComplete', 'sha256', 'status'],
    ]);
    // Damson has no rules for required fields: every asset's metadata is complete, said as the Assets Server says it.
    assert.equal(assetMetadata(variants[0]!).metadataComplete, 'true');
    const fields = assetFields(variants[3]!);
    assert.equal(fields.assetCreated, base.createdAt);
    assert.equal(fields.fileSize, base.fileSize);
    assert.deepEqual(fields.cf_regions, ['EMEA', 'APAC']);
    assert.equal(assetMetadata(variants[4]!).assetCreator, 'imported');
  });

  it('reads metadataToReturn as every field, a minimal set or a list', () => {
    assert.equal(parseMetadataToReturn(undefined), undefined);
    assert.equal(parseMetadataToReturn(' ALL '), undefined);
    assert.equal(parseMetadataToReturn('name,all'), undefined, '`all` among names is still every field');
    assert.deepEqual(parseMetadataToReturn(''), ['assetPath', 'filename', 'assetDomain', 'assetType']);
    assert.deepEqual(parseMetadataToReturn(' tags, name ,'), ['tags', 'name']);
  });

  it('returns only the fields asked for, in field order, and URLs only for what exists', () => {
    const options = { baseUrl: 'https://dam.example/base', metadataToReturn: ['tags', 'assetPath', 'missing'] };
    const hit = toHit(variants[3]!, options);
    assert.deepEqual(Object.keys(hit.metadata as object), ['assetPath', 'tags']);
    assert.equal(hit.thumbnailUrl, 'https://dam.example/base/thumbnail/a1b2c3/*/harbour%20dawn%20%231_thumb.jpg?_=5');
    assert.equal(hit.previewUrl, 'https://dam.example/base/preview/a1b2c3/previews/maxWidth_1600_maxHeight_1600.jpg/*/harbour%20dawn%20%231_preview.jpg?_=5');
    assert.equal(hit.originalUrl, 'https://dam.example/base/file/a1b2c3/*/harbour%20dawn%20%231.jpg?_=4');

    const bare = toHit(variants[1]!, { baseUrl: 'https://dam.example', metadataToReturn: undefined });
    assert.deepEqual(Object.keys(bare), ['id', 'permissions', 'metadata']);
    const video = toHit(variants[2]!, { baseUrl: 'https://dam.example', metadataToReturn: undefined });
    assert.equal(video.previewUrl, 'https://dam.example/preview/a1b2c3/previews/maxWidth_480_maxHeight_360.mp4/*/clip_preview.mp4?_=5');
  });
});
