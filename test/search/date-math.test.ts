import assert from 'node:assert/strict';
import { it } from 'node:test';
import { resolveQueryDate } from '../../src/search/date-math.js';

const NOW = Date.parse('2026-03-18T15:42:07.123Z');
const span = (text: string) => {
  const resolved = resolveQueryDate(text, NOW);
  return resolved && [new Date(resolved.start).toISOString(), new Date(resolved.end).toISOString()];
};

it('gives a written date the time it leaves open, as Elasticsearch reads range bounds', () => {
  assert.deepEqual(span('2021-06-01'), ['2021-06-01T00:00:00.000Z', '2021-06-02T00:00:00.000Z']);
  assert.deepEqual(span('2021:06:01'), ['2021-06-01T00:00:00.000Z', '2021-06-02T00:00:00.000Z']);
  assert.deepEqual(span('2021-06-01T10:30'), ['2021-06-01T10:30:00.000Z', '2021-06-01T10:31:00.000Z']);
  assert.deepEqual(span('2021-06-01T10:30:15Z'), ['2021-06-01T10:30:15.000Z', '2021-06-01T10:30:16.000Z']);
  assert.deepEqual(span('2021-06-01T10:30:15.250Z'), ['2021-06-01T10:30:15.250Z', '2021-06-01T10:30:15.251Z']);
  assert.deepEqual(span(String(Date.parse('2021-06-01T10:30:15.250Z'))), ['2021-06-01T10:30:15.250Z', '2021-06-01T10:30:15.251Z']);
});

it('gives date math the unit it rounds to, shifted with it', () => {
  assert.deepEqual(span('NOW'), ['2026-03-18T15:42:07.123Z', '2026-03-18T15:42:07.124Z']);
  assert.deepEqual(span('NOW/DAY'), ['2026-03-18T00:00:00.000Z', '2026-03-19T00:00:00.000Z']);
  assert.deepEqual(span('NOW-1MONTH/MONTH'), ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
  assert.deepEqual(span('NOW/DAY+1DAY'), ['2026-03-19T00:00:00.000Z', '2026-03-20T00:00:00.000Z']);
  assert.deepEqual(span('NOW/YEAR'), ['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
});

it('ends a month or a year on from the 31st (or 29 February) on the last day of the month it reaches', () => {
  const shifted = (text: string, now: string) => new Date(resolveQueryDate(text, Date.parse(now))!.start).toISOString();
  assert.equal(shifted('NOW-1MONTH', '2021-03-31T12:00:00.000Z'), '2021-02-28T12:00:00.000Z');
  assert.equal(shifted('NOW+1MONTH', '2024-01-31T00:00:00.000Z'), '2024-02-29T00:00:00.000Z');
  assert.equal(shifted('NOW+1YEAR', '2020-02-29T08:00:00.000Z'), '2021-02-28T08:00:00.000Z');
  assert.equal(shifted('NOW-13MONTHS', '2021-05-31T00:00:00.000Z'), '2020-04-30T00:00:00.000Z');
});

it('reads a year or a month alone as that year or month, as Elasticsearch does, not as epoch milliseconds', () => {
  assert.deepEqual(span('2021'), ['2021-01-01T00:00:00.000Z', '2022-01-01T00:00:00.000Z']);
  assert.deepEqual(span('2021-06'), ['2021-06-01T00:00:00.000Z', '2021-07-01T00:00:00.000Z']);
  assert.deepEqual(span('2021-12'), ['2021-12-01T00:00:00.000Z', '2022-01-01T00:00:00.000Z']);
  assert.deepEqual(span('20210'), ['1970-01-01T00:00:20.210Z', '1970-01-01T00:00:20.211Z'], 'five digits stay epoch milliseconds');
});

it('is no date for text that is none', () => {
  for (const text of ['yesterday', 'NOW/FOO', '2021-13-45', 'NOW+99999999999YEARS', '']) assert.equal(resolveQueryDate(text, NOW), undefined, text);
});
