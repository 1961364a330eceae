import { resolve } from 'node:path';
import { ExifDate, ExifDateTime, ExifTool, type Tags } from 'exiftool-vendored';

export type EmbeddedValue = string | number | string[];

/**
 * Metadata found inside a file, under Damson/Assets field names. Only fields the file actually has are present:
 * width, height (as displayed, orientation applied), resolutionX, resolutionY (dpi), created (epoch ms), description,
 * title, tags, copyright, creatorName, cameraMake, cameraModel, lensModel, exposureTime ("1/125"), fNumber, iso,
 * focalLength (mm), gpsLatitude, gpsLongitude, durationSeconds, pageCount, colorSpace ("RGB", "CMYK" or "Gray"),
 * fileType ("JPEG", "PNG", "PDF", "MP4").
 */
export interface EmbeddedMetadata {
  [field: string]: EmbeddedValue;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** Tags we want as numbers rather than exiftool's display text ("50.0 mm", "Rotate 90 CW"). */
const NUMERIC_TAGS = [
  '*Duration*', 'GPSLatitude', 'GPSLongitude', 'Orientation', 'Rotation',
  'FNumber', 'FocalLength', 'ISO', 'XResolution', 'YResolution', 'PixelsPerUnitX', 'PixelsPerUnitY', 'PageCount',
];

/** First tag present wins: MWG composites (which reconcile EXIF, IPTC and XMP) first, then the format-specific tags. */
const CREATED_TAGS = [
  'SubSecDateTimeOriginal', 'DateTimeOriginal', 'SubSecCreateDate', 'CreateDate', 'DateTimeCreated',
  'DigitalCreationDateTime', 'DateCreated', 'CreationDate', 'MediaCreateDate', 'TrackCreateDate',
];
const TEXT_FIELDS: ReadonlyArray<readonly [field: string, tags: readonly string[]]> = [
  ['description', ['Description', 'ImageDescription', 'Caption-Abstract']],
  ['title', ['Title', 'ObjectName']],
  ['copyright', ['Copyright', 'Rights', 'CopyrightNotice']],
  ['creatorName', ['Creator', 'Artist', 'By-line', 'Author']],
  ['cameraMake', ['Make']],
  ['cameraModel', ['Model']],
  ['lensModel', ['LensModel', 'LensID']],
  ['exposureTime', ['ExposureTime']],
];
const NUMBER_FIELDS: ReadonlyArray<readonly [field: string, tag: string]> = [
  ['fNumber', 'FNumber'],
  ['iso', 'ISO'],
  ['focalLength', 'FocalLength'],
  ['durationSeconds', 'Duration'],
  ['pageCount', 'PageCount'],
];

/**
 * Reads embedded metadata with a pool of exiftool processes. `read` never fails: a file exiftool cannot make
 * sense of, or one that takes longer than the timeout, simply has no embedded metadata. Call `close()` on
 * shutdown, or the exiftool processes keep node running.
 */
export class EmbeddedMetadataReader {
  readonly #exiftool: ExifTool;

  constructor(options: { timeoutMs?: number; maxProcs?: number } = {}) {
    this.#exiftool = new ExifTool({
      maxProcs: options.maxProcs ?? 1,
      taskTimeoutMillis: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // A file that timed out once will time out again; a retry would only double the wait.
      taskRetries: 0,
      numericTags: NUMERIC_TAGS,
      // Dates without a zone are taken as UTC below, not guessed from GPS position or other tags.
      backfillTimezones: false,
      inferTimezoneFromDatestamps: false,
      geolocation: false,
    });
  }

  async read(path: string): Promise<EmbeddedMetadata> {
    // exiftool-vendored unrefs its timers, so while it replaces a process killed by a timeout, nothing would keep
    // node running and a script awaiting this read would just exit. A pending read holds the process like any I/O.
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      // An absolute path can never be taken for an exiftool option.
      return toEmbeddedMetadata(await this.#exiftool.read(resolve(path)));
    } catch {
      return {};
    } finally {
      clearInterval(keepAlive);
    }
  }

  async close(): Promise<void> {
    await this.#exiftool.end();
  }
}

/** Maps exiftool's tags to Damson fields. Exported for tests of tag combinations that are hard to produce in files. */
export function toEmbeddedMetadata(tags: Tags): EmbeddedMetadata {
  const raw = tags as unknown as Readonly<Record<string, unknown>>;
  // exiftool reports unreadable files with an Error tag and file-system facts only.
  if (raw.Error !== undefined) return {};
  const metadata: EmbeddedMetadata = {};
  const set = (field: string, value: EmbeddedValue | undefined): void => {
    if (value !== undefined) metadata[field] = value;
  };

  const width = positive(raw.ImageWidth);
  const height = positive(raw.ImageHeight);
  if (width !== undefined && height !== undefined) {
    const turned = isQuarterTurn(raw.Orientation, raw.Rotation);
    set('width', turned ? height : width);
    set('height', turned ? width : height);
  }
  set('resolutionX', dpi(raw.XResolution ?? pixelsPerMeter(raw.PixelsPerUnitX, raw.PixelUnits), raw.ResolutionUnit));
  set('resolutionY', dpi(raw.YResolution ?? pixelsPerMeter(raw.PixelsPerUnitY, raw.PixelUnits), raw.ResolutionUnit));
  set('created', firstDefined(CREATED_TAGS, (tag) => epochMillis(raw[tag])));
  for (const [field, candidates] of TEXT_FIELDS) set(field, firstDefined(candidates, (tag) => text(raw[tag])));
  for (const [field, tag] of NUMBER_FIELDS) set(field, positive(raw[tag]));
  set('tags', keywords(raw));
  const latitude = coordinate(raw.GPSLatitude, 90);
  const longitude = coordinate(raw.GPSLongitude, 180);
  // (0, 0) is what some software writes for "no fix"; nobody photographs that spot in the Gulf of Guinea.
  if (latitude !== undefined && longitude !== undefined && (latitude !== 0 || longitude !== 0)) {
    set('gpsLatitude', latitude);
    set('gpsLongitude', longitude);
  }
  set('colorSpace', colorSpace(raw));
  // The format's name as exiftool gives it ("JPEG", "PNG", "PDF", "MP4"): the Assets Server's fileType.
  set('fileType', text(raw.FileType));
  return metadata;
}

function firstDefined<T>(tags: readonly string[], convert: (tag: string) => T | undefined): T | undefined {
  for (const tag of tags) {
    const value = convert(tag);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** EXIF orientations 5..8 and video rotations of 90/270 degrees display the stored image turned on its side. */
function isQuarterTurn(orientation: unknown, rotation: unknown): boolean {
  if (typeof orientation === 'number' && orientation >= 5 && orientation <= 8) return true;
  return typeof rotation === 'number' && Math.abs(rotation) % 180 === 90;
}

function positive(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

function pixelsPerMeter(value: unknown, unit: unknown): number | undefined {
  const perMeter = unit === 'meters' ? positive(value) : undefined;
  return perMeter === undefined ? undefined : perMeter * 0.0254;
}

/** EXIF and JFIF resolutions in dpi; "None" means the numbers are only an aspect ratio. Absent unit means inches. */
function dpi(value: unknown, unit: unknown): number | undefined {
  const resolution = positive(value);
  if (resolution === undefined || unit === 'None') return undefined;
  return Math.round((unit === 'cm' ? resolution * 2.54 : resolution) * 100) / 100;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) {
    const parts = value.map(text).filter((part): part is string => part !== undefined);
    return parts.length > 0 ? parts.join(', ') : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** IPTC Keywords and XMP Subject together, deduplicated; PDF keywords are one comma- or semicolon-separated string. */
function keywords(raw: Readonly<Record<string, unknown>>): string[] | undefined {
  const found = new Set<string>();
  const separators = raw.FileType === 'PDF' ? /[,;]/ : undefined;
  for (const tag of ['Keywords', 'Subject']) {
    const value = raw[tag];
    for (const item of Array.isArray(value) ? value : [value]) {
      const keyword = text(item);
      if (keyword === undefined) continue;
      for (const part of separators ? keyword.split(separators) : [keyword]) {
        const trimmed = part.trim();
        if (trimmed !== '') found.add(trimmed);
      }
    }
  }
  return found.size > 0 ? [...found] : undefined;
}

function coordinate(value: unknown, limit: number): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && Math.abs(number) <= limit ? number : undefined;
}

const EXIF_DATE = /^(\d{4})[:-](\d{2})[:-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Epoch milliseconds of a date tag. exiftool-vendored already applies an explicit zone (in the value, or from
 * OffsetTimeOriginal and friends); a date without one counts as UTC.
 */
function epochMillis(value: unknown): number | undefined {
  let fields: DateFields | undefined;
  if (value instanceof ExifDateTime) {
    const { year, month, day, hour, minute, second } = value;
    // An inferred zone was guessed by the library, so the date itself had none.
    const offsetMinutes = value.inferredZone ? undefined : value.tzoffsetMinutes;
    fields = { year, month, day, hour, minute, second, millisecond: value.millisecond ?? 0, offsetMinutes };
  } else if (value instanceof ExifDate) {
    fields = { year: value.year, month: value.month ?? 1, day: value.day ?? 1, hour: 0, minute: 0, second: 0, millisecond: 0, offsetMinutes: undefined };
  } else if (typeof value === 'string') {
    fields = parseDate(value.trim());
  }
  if (!fields) return undefined;
  return utcMillis(fields, fields.offsetMinutes ?? 0);
}

interface DateFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  offsetMinutes: number | undefined;
}

function parseDate(value: string): DateFields | undefined {
  const match = EXIF_DATE.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  return {
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
    millisecond: fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000),
    offsetMinutes: zone === undefined ? undefined : parseOffset(zone),
  };
}

function parseOffset(zone: string): number | undefined {
  if (zone === 'Z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!match) return undefined;
  const [, sign, hours, minutes] = match;
  const total = Number(hours) * 60 + Number(minutes);
  return total > 18 * 60 ? undefined : sign === '-' ? -total : total;
}

/** Rejects placeholder dates such as "0000:00:00 00:00:00" and impossible ones such as February 30th. */
function utcMillis(fields: DateFields, offsetMinutes: number): number | undefined {
  const { year, month, day, hour, minute, second, millisecond } = fields;
  if (year < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const local = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millisecond));
  local.setUTCFullYear(year);
  if (local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) return undefined;
  const millis = local.getTime() - offsetMinutes * 60_000;
  return Number.isFinite(millis) ? millis : undefined;
}

function colorSpace(raw: Readonly<Record<string, unknown>>): string | undefined {
  // An ICC profile states the colour space most directly; otherwise read it from the format's own header.
  const icc = typeof raw.ColorSpaceData === 'string' ? raw.ColorSpaceData.trim().toUpperCase() : undefined;
  if (icc === 'RGB' || icc === 'CMYK') return icc;
  if (icc === 'GRAY') return 'Gray';
  const components = raw.ColorComponents;
  if (components === 1) return 'Gray';
  if (components === 3) return 'RGB';
  if (components === 4) return 'CMYK';
  const pngType = typeof raw.ColorType === 'string' ? raw.ColorType : '';
  if (pngType.startsWith('Grayscale')) return 'Gray';
  if (pngType.startsWith('RGB') || pngType === 'Palette') return 'RGB';
  const photometric = raw.PhotometricInterpretation;
  if (photometric === 'RGB' || photometric === 'YCbCr') return 'RGB';
  if (photometric === 'CMYK') return 'CMYK';
  if (photometric === 'BlackIsZero' || photometric === 'WhiteIsZero') return 'Gray';
  return undefined;
}
