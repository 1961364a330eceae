import { parseDate } from '../assets/fields.js';

const UNITS: Record<string, 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'week'> = {
  YEAR: 'year', YEARS: 'year', MONTH: 'month', MONTHS: 'month', WEEK: 'week', WEEKS: 'week', DAY: 'day', DAYS: 'day', DATE: 'day',
  HOUR: 'hour', HOURS: 'hour', MINUTE: 'minute', MINUTES: 'minute', SECOND: 'second', SECONDS: 'second',
};

/** The milliseconds a date in a query covers: from `start` up to, not including, `end`. */
export interface DateSpan {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;

/**
 * A date in a query: `NOW` with Lucene/Solr date math (`NOW-1YEAR`, `NOW+7DAYS`, `NOW/DAY`, `NOW-1DAY/DAY`), or any
 * format `parseDate` takes (epoch ms, ISO 8601, `YYYY-MM-DD`, EXIF style). Date math is in UTC. A date covers what
 * it leaves unsaid, as Elasticsearch reads it: `2021-06-01` the whole day, `2021-06-01T10:30` that minute,
 * `NOW/MONTH` the month it rounds to, an exact time one millisecond. Undefined when the text is no date.
 */
export function resolveQueryDate(text: string, now: number): DateSpan | undefined {
  const math = /^NOW((?:[+-]\d{1,6}[A-Z]+|\/[A-Z]+)*)$/i.exec(text.trim());
  // A year or a month alone, as Elasticsearch's date format reads them before epoch milliseconds: `created:2021`.
  const partial = /^(\d{4})(?:-(0[1-9]|1[0-2]))?$/.exec(text.trim());
  if (partial) {
    const [year, first, months] = [Number(partial[1]), partial[2] === undefined ? 0 : Number(partial[2]) - 1, partial[2] === undefined ? 12 : 1];
    return { start: Date.UTC(year, first, 1), end: Date.UTC(year, first + months, 1) };
  }
  if (!math) {
    const start = parseDate(text);
    return start === undefined ? undefined : { start, end: start + writtenPrecision(text.trim()) };
  }
  const date = new Date(now);
  let rounding: string | undefined;
  for (const [, sign, amount, unitName, roundName] of math[1]!.matchAll(/([+-])(\d{1,6})([A-Z]+)|\/([A-Z]+)/gi)) {
    const unit = UNITS[(unitName ?? roundName ?? '').toUpperCase()];
    if (!unit) return undefined;
    if (roundName) {
      roundDown(date, unit);
      rounding = unit;
    } else add(date, unit, (sign === '-' ? -1 : 1) * Number(amount));
  }
  const start = date.getTime();
  if (rounding) add(date, rounding, 1);
  const end = rounding ? date.getTime() : start + 1;
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) ? { start, end } : undefined;
}

/** How much time a written date leaves open: a day, a minute, a second, or none (1 ms). */
function writtenPrecision(text: string): number {
  const written = /^\d{4}[-:]\d{2}[-:]\d{2}(?:[ T]\d{2}:\d{2}(:\d{2})?(\.\d+)?)?/.exec(text);
  if (!written) return 1;
  if (written[0].length === 10) return DAY_MS;
  return written[2] ? 1 : written[1] ? 1000 : 60_000;
}

function add(date: Date, unit: string, amount: number): void {
  switch (unit) {
    // A month or year on from the 31st (or 29 February) ends on the last day of the month it reaches, not after it.
    case 'year': addMonths(date, 12 * amount); break;
    case 'month': addMonths(date, amount); break;
    case 'week': date.setUTCDate(date.getUTCDate() + 7 * amount); break;
    case 'day': date.setUTCDate(date.getUTCDate() + amount); break;
    case 'hour': date.setUTCHours(date.getUTCHours() + amount); break;
    case 'minute': date.setUTCMinutes(date.getUTCMinutes() + amount); break;
    case 'second': date.setUTCSeconds(date.getUTCSeconds() + amount); break;
  }
}

function addMonths(date: Date, months: number): void {
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, lastDay));
}

function roundDown(date: Date, unit: string): void {
  if (unit === 'year') date.setUTCMonth(0, 1);
  if (unit === 'year' || unit === 'month') date.setUTCDate(unit === 'month' ? 1 : date.getUTCDate());
  if (unit === 'week') date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  if (unit !== 'hour' && unit !== 'minute' && unit !== 'second') date.setUTCHours(0, 0, 0, 0);
  else if (unit === 'hour') date.setUTCMinutes(0, 0, 0);
  else if (unit === 'minute') date.setUTCSeconds(0, 0);
  else date.setUTCMilliseconds(0);
}
