import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from '../../src/lib/ids.js';
import { parseQuery } from '../../src/search/parse-query.js';

it('asset ids are 22 letters and digits, unique, and safe to write unquoted in a query', () => {
  const ids = new Set(Array.from({ length: 20_000 }, () => newId()));
  assert.equal(ids.size, 20_000);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9]{22}$/);
    assert.deepEqual(parseQuery(`id:${id}`, Date.now()), { kind: 'term', field: 'id', value: id, phrase: false, pattern: false, fuzzy: false });
  }
});
