import { parseDate } from '../assets/fields.js';

const UNITS: Record<string, 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'week'> = {
  YEAR: 'year', YEARS: 'year', MONTH: 'month', MONTHS: 'month', WEEK: 'week', WEEKS: 'week', DAY: 'day', DAYS: 'day', DATE: 'day',
  HOUR: 'hour', HOURS: 'hour', MINUTE: 'minute', MINUTES: 'minute', SECOND: 'second', SECONDS: 'second',
};

/**
 * A date in a query: `NOW` with Lucene/Solr date math (`NOW-1YEAR`, `NOW+7DAYS`, `NOW/DAY`, `NOW-1DAY/DAY`), or any
 * format `parseDate` takes (epoch ms, ISO 8601, `YYYY-MM-DD`, EXIF style). Date math is in UTC. Undefined when
 * the text is no date.
 */
export function resolveQueryDate(text: string, now: number): number | undefined {
  const math = /^NOW((?:[+-]\d{1,6}[A-Z]+|\/[A-Z]+)*)$/i.exec(text.trim());
  if (!math) return parseDate(text);
  const date = new Date(now);
  for (const [, sign, amount, unitName, roundName] of math[1]!.matchAll(/([+-])(\d{1,6})([A-Z]+)|\/([A-Z]+)/gi)) {
    const unit = UNITS[(unitName ?? roundName ?? '').toUpperCase()];
    if (!unit) return undefined;
    if (roundName) roundDown(date, unit);
    else add(date, unit, (sign === '-' ? -1 : 1) * Number(amount));
  }
  const value = date.getTime();
  return Number.isSafeInteger(value) ? value : undefined;
}

function add(date: Date, unit: string, amount: number): void {
  switch (unit) {
    case 'year': date.setUTCFullYear(date.getUTCFullYear() + amount); break;
    case 'month': date.setUTCMonth(date.getUTCMonth() + amount); break;
    case 'week': date.setUTCDate(date.getUTCDate() + 7 * amount); break;
    case 'day': date.setUTCDate(date.getUTCDate() + amount); break;
    case 'hour': date.setUTCHours(date.getUTCHours() + amount); break;
    case 'minute': date.setUTCMinutes(date.getUTCMinutes() + amount); break;
    case 'second': date.setUTCSeconds(date.getUTCSeconds() + amount); break;
  }
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
