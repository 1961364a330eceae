import { badRequest } from '../lib/errors.js';

/** How a field's values are stored and written on the wire (protocol §3.3). */
export type FieldType = 'text' | 'integer' | 'decimal' | 'datetime' | 'size';

export interface FieldDefinition {
  name: string;
  type: FieldType;
  multivalue: boolean;
  /** Users may set it with create/update; otherwise Damson maintains it (system and embedded technical fields). */
  editable: boolean;
  group: 'location' | 'system' | 'editorial' | 'technical' | 'custom';
}

export type StoredValue = string | number | string[];

/** The computed field that says whether an asset's metadata is complete (always, in Damson). */
export const METADATA_COMPLETE = 'metadataComplete';

const field = (name: string, type: FieldType, group: FieldDefinition['group'], editable: boolean, multivalue = false): FieldDefinition => ({
  name,
  type,
  multivalue,
  editable,
  group,
});

/** The standard fields Damson knows. Custom fields (`cf_…`) are text and accepted as given. */
export const STANDARD_FIELDS: readonly FieldDefinition[] = [
  field('assetPath', 'text', 'location', false),
  field('folderPath', 'text', 'location', false),
  field('ancestorPaths', 'text', 'location', false, true),
  field('filename', 'text', 'location', false),
  field('name', 'text', 'location', false),
  field('baseName', 'text', 'location', false),
  field('extension', 'text', 'location', false),
  field('assetType', 'text', 'system', false),
  field('assetDomain', 'text', 'system', false),
  field('mimeType', 'text', 'system', false),
  field('fileSize', 'size', 'system', false),
  field('assetCreated', 'datetime', 'system', false),
  field('assetModified', 'datetime', 'system', false),
  field('assetFileModified', 'datetime', 'system', false),
  field('assetCreator', 'text', 'system', false),
  field('assetModifier', 'text', 'system', false),
  field('assetFileModifier', 'text', 'system', false),
  field('versionNumber', 'integer', 'system', false),
  field('previewState', 'text', 'system', false),
  field('thumbnailState', 'text', 'system', false),
  field('contentETag', 'integer', 'system', false),
  field('previewETag', 'integer', 'system', false),
  field('sha256', 'text', 'system', false),
  field('description', 'text', 'editorial', true),
  field('tags', 'text', 'editorial', true, true),
  field('status', 'text', 'editorial', true),
  field('rating', 'integer', 'editorial', true),
  field('title', 'text', 'editorial', true),
  field('copyright', 'text', 'editorial', true),
  field('creatorName', 'text', 'editorial', true),
  field('usageRights', 'text', 'editorial', true),
  field('licenseStartDate', 'datetime', 'editorial', true),
  field('licenseEndDate', 'datetime', 'editorial', true),
  field('created', 'datetime', 'editorial', true),
  // The other dates of protocol §3.6: the file system's (as a client uploading the file knows them) and the
  // embedded ones Damson does not read itself; kept and searched when given.
  field('fileCreated', 'datetime', 'editorial', true),
  field('fileModified', 'datetime', 'editorial', true),
  field('modified', 'datetime', 'editorial', true),
  field('iptcCreated', 'datetime', 'editorial', true),
  field('xmpCreated', 'datetime', 'editorial', true),
  field('xmpModifyDate', 'datetime', 'editorial', true),
  field('width', 'integer', 'technical', false),
  field('height', 'integer', 'technical', false),
  field('resolutionX', 'decimal', 'technical', false),
  field('resolutionY', 'decimal', 'technical', false),
  field('colorSpace', 'text', 'technical', false),
  field('cameraMake', 'text', 'technical', false),
  field('cameraModel', 'text', 'technical', false),
  field('lensModel', 'text', 'technical', false),
  field('exposureTime', 'text', 'technical', false),
  field('fNumber', 'decimal', 'technical', false),
  field('iso', 'integer', 'technical', false),
  field('focalLength', 'decimal', 'technical', false),
  field('gpsLatitude', 'decimal', 'technical', false),
  field('gpsLongitude', 'decimal', 'technical', false),
  field('durationSeconds', 'decimal', 'technical', false),
  field('pageCount', 'integer', 'technical', false),
  field('fileType', 'text', 'technical', false),
  // Standard fields (protocol §3.6) that Damson does not fill yet: no checkout (§4.8), no text extraction. They
  // are known, so that queries on them (`-checkedOut:*`) work, and find what is true: nothing.
  field('checkedOut', 'datetime', 'system', false),
  field('checkedOutBy', 'text', 'system', false),
  field('checkedOutOnClient', 'text', 'system', false),
  field('textContent', 'text', 'technical', false),
  // The Assets Server marks an asset's metadata complete when every field its rules require is filled. Damson has
  // no such rules, so every asset is complete: computed, never stored or indexed. Hits say "true" (a string, as
  // in the Assets Server's hits), and `-metadataComplete:false`, the example of protocol §3.5, finds everything.
  field(METADATA_COMPLETE, 'text', 'system', false),
];

const BY_NAME = new Map(STANDARD_FIELDS.map((definition) => [definition.name, definition]));
const CUSTOM_FIELD = /^cf_[A-Za-z0-9_]{1,64}$/;
const MAX_TEXT_LENGTH = 64 * 1024;
const MAX_VALUES = 1000;

/** The definition of a standard or custom field; undefined for names Damson does not know. */
export function fieldDefinition(name: string): FieldDefinition | undefined {
  const known = BY_NAME.get(name);
  if (known) return known;
  return CUSTOM_FIELD.test(name) ? { name, type: 'text', multivalue: true, editable: true, group: 'custom' } : undefined;
}

/** Whether a request parameter of this name is a metadata value (any parameter named after a field is). */
export function isMetadataParameter(name: string): boolean {
  const definition = fieldDefinition(name);
  return definition !== undefined && definition.editable;
}

/**
 * A value as sent (JSON or a form string) → the stored value, or null to clear the field (`""`, `[]`, null).
 * Throws a 400 naming the field when the value does not fit.
 */
export function normalizeValue(definition: FieldDefinition, raw: unknown): StoredValue | null {
  if (raw === null || raw === undefined || raw === '' || (Array.isArray(raw) && raw.length === 0)) return null;
  const name = definition.name;
  if (definition.group === 'custom') {
    // Custom fields are stored as given: text, or a list of texts.
    if (Array.isArray(raw)) return boundedList(name, raw.map((item) => scalarText(name, item)));
    return scalarText(name, raw);
  }
  if (definition.multivalue) {
    const items = Array.isArray(raw) ? raw : String(raw).split(',');
    return boundedList(
      name,
      items.map((item) => scalarText(name, item).trim()).filter(Boolean),
    );
  }
  if (Array.isArray(raw)) throw badRequest(`Field ${name} takes a single value`);
  switch (definition.type) {
    case 'text':
      return scalarText(name, raw);
    case 'integer': {
      const value = parseNumber(raw);
      if (value === undefined || !Number.isSafeInteger(value)) throw badRequest(`Field ${name} must be a whole number`);
      if (name === 'rating' && (value < -1 || value > 5)) throw badRequest('Field rating must be from -1 (rejected) to 5');
      return value;
    }
    case 'decimal': {
      const value = parseNumber(raw);
      if (value === undefined) throw badRequest(`Field ${name} must be a number`);
      return value;
    }
    case 'datetime':
    case 'size': {
      const value = definition.type === 'datetime' ? parseDate(raw) : Number(raw);
      if (value === undefined || !Number.isSafeInteger(value)) throw badRequest(`Field ${name} must be a date (epoch milliseconds or ISO 8601)`);
      return value;
    }
  }
}

function scalarText(name: string, raw: unknown): string {
  if (typeof raw === 'object' && raw !== null) throw badRequest(`Field ${name} takes text, not an object`);
  const text = String(raw);
  if (text.length > MAX_TEXT_LENGTH) throw badRequest(`Field ${name} is longer than ${MAX_TEXT_LENGTH} characters`);
  // PostgreSQL cannot store U+0000, and SQLite would: refused on both, so that the two stores hold the same.
  if (text.includes('\u0000')) throw badRequest(`Field ${name} contains a NUL character`);
  return text;
}

function boundedList(name: string, values: string[]): string[] | null {
  if (values.length > MAX_VALUES) throw badRequest(`Field ${name} takes at most ${MAX_VALUES} values`);
  const unique = [...new Set(values)];
  return unique.length === 0 ? null : unique;
}

/**
 * A number as a client writes one: a finite JSON number, or decimal text (`3`, `-1.5`, `2e3`). Not what else
 * Number() reads (`0x3`, `0b11`, `true`, `[3]`): undefined.
 */
export function parseNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string' || !/^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*$/i.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/** Epoch milliseconds, an ISO 8601 date or datetime, or an EXIF-style `YYYY:MM:DD HH:MM:SS` (UTC when no zone). */
export function parseDate(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (/^-?\d{1,15}$/.test(text)) return Number(text);
  const exif = /^(\d{4}):(\d{2}):(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  const isoText = exif ? `${exif[1]}-${exif[2]}-${exif[3]}T${exif[4] ?? '00'}:${exif[5] ?? '00'}:${exif[6] ?? '00'}Z` : text;
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(isoText) || !/\d{2}:\d{2}/.test(isoText);
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i.exec(isoText);
  if (!match) return undefined;
  // A day the month does not have (`2026-02-30`) is no date: Date.parse would roll it over into March.
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  // setUTCFullYear, as Date.UTC would read years 0-99 as 1900-1999.
  const daysInMonth = new Date(new Date(0).setUTCFullYear(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  const value = Date.parse(hasZone ? isoText.replace(' ', 'T') : `${isoText.replace(' ', 'T')}Z`);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * Applies `+value` / `-value` modifications to a multi-value field (protocol §4.2). A list without any prefixed
 * value replaces the field; plain values in a list of modifications are added.
 */
export function applyModifications(current: StoredValue | undefined, requested: StoredValue): StoredValue | null {
  if (!Array.isArray(requested) || !requested.some((item) => /^[+-]/.test(item))) return requested;
  const values = new Set(Array.isArray(current) ? current : current === undefined ? [] : [String(current)]);
  for (const item of requested) {
    if (item.startsWith('-')) values.delete(item.slice(1));
    else values.add(item.startsWith('+') ? item.slice(1) : item);
  }
  const result = [...values].filter(Boolean);
  return result.length > 0 ? result : null;
}

/** `2020-02-21 15:45:02 +0000`, the Assets `formatted` style (Damson formats in UTC). */
export function formatDate(epochMs: number): string {
  const date = new Date(epochMs);
  const year = date.getUTCFullYear();
  // Years outside 0–9999 have no fixed-width form (the ISO extended one says them exactly); an invalid date throws.
  if (!(year >= 0 && year <= 9999)) {
    const iso = date.toISOString();
    return `${iso.slice(0, iso.indexOf('T'))} ${iso.slice(iso.indexOf('T') + 1, iso.indexOf('T') + 9)} +0000`;
  }
  // Built from the parts: several dates per hit and 50 hits per page made toISOString a quarter of shaping a hit.
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `18.3 MB`, the Assets `formatted` style for sizes (powers of 1024). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** One value as it goes on the wire: dates and sizes as `{value, formatted}`, text as strings, lists as arrays. */
export function encodeValue(definition: FieldDefinition | undefined, value: StoredValue): unknown {
  if (Array.isArray(value)) return value;
  switch (definition?.type) {
    case 'datetime':
      return { value, formatted: formatDate(Number(value)) };
    case 'size':
      return { value, formatted: formatSize(Number(value)) };
    case 'integer':
    case 'decimal':
      return typeof value === 'number' ? value : Number(value);
    default:
      return String(value);
  }
}
