import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Asset } from '../../src/assets/asset-store.js';
import { highlightedText } from '../../src/search/highlight.js';
import { words } from '../../src/search/index-entries.js';

const asset = (filename: string, metadata: Asset['metadata']) => ({ filename, metadata }) as Asset;

describe('highlightedText', () => {
  it('marks a word whatever its case or accents, as the search matched it', () => {
    const notes = asset('menu.pdf', { description: 'Crème brûlée at the CAFÉ in Köln, SUNFLOWER fields' });
    assert.equal(
      highlightedText(notes, words('cafe koln sunflower')),
      'Crème brûlée at the <em>CAFÉ</em> in <em>Köln</em>, <em>SUNFLOWER</em> fields',
    );
    assert.equal(highlightedText(notes, words('brulee')), 'Crème <em>brûlée</em> at the CAFÉ in Köln, SUNFLOWER fields');
  });

  it('takes the first field holding a word, else the file name, else nothing', () => {
    const photo = asset('harbour-dawn.jpg', { description: 'Boats at dawn', tags: ['Harbour', 'Sea'] });
    assert.equal(highlightedText(photo, words('harbour')), '<em>Harbour</em>, Sea');
    assert.equal(highlightedText(photo, words('dawn')), 'Boats at <em>dawn</em>');
    assert.equal(highlightedText(asset('harbour-dawn.jpg', {}), words('harbour')), '<em>harbour</em>-dawn.jpg');
    assert.equal(highlightedText(photo, words('lighthouse')), undefined);
    assert.equal(highlightedText(photo, []), undefined);
  });

  it('never cuts a character beyond the Basic Multilingual Plane in half', () => {
    const emoji = asset('x.jpg', { description: `${'😀'.repeat(30)} harbour ${'🌊'.repeat(100)}` });
    const snippet = highlightedText(emoji, words('harbour'))!;
    assert.ok(snippet.includes('<em>harbour</em>'));
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(snippet), `a lone surrogate in ${JSON.stringify(snippet)}`);
  });
});
