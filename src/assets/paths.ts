import { badRequest } from '../lib/errors.js';

/** Characters the Assets Server refuses in names (protocol §4.1), plus control characters. */
const INVALID_NAME_CHARACTERS = /[\\/:*?"<>|#;\u0000-\u001f\u007f]/;
const MAX_NAME_BYTES = 255;
const MAX_PATH_LENGTH = 4096;

export function assertValidName(name: string, what = 'name'): void {
  if (name.length === 0 || name === '.' || name === '..' || name.trim() !== name) {
    throw badRequest(`Invalid ${what} "${name}"`);
  }
  const bad = INVALID_NAME_CHARACTERS.exec(name);
  if (bad) throw badRequest(`Invalid ${what} "${name}": it may not contain ${JSON.stringify(bad[0])} (nor any of \\ / : * ? " < > | # ;)`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw badRequest(`Invalid ${what}: longer than ${MAX_NAME_BYTES} bytes`);
}

/**
 * Characters a new name may not bring in (names that have them are still found, renamed and removed): C1
 * controls; the bidirectional overrides, embeddings and isolates, with which `invoice\u202Egpj.exe` shows as
 * `invoiceexe.jpg`; the noncharacters U+FFFE and U+FFFF; and half of a surrogate pair, which is no text.
 */
const DECEPTIVE_CHARACTERS = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff\p{Cs}]/u;

/** A name about to be given to a new asset or folder, or by a move: valid, and nothing that disguises it. */
export function assertNewName(name: string, what = 'name'): void {
  assertValidName(name, what);
  const bad = DECEPTIVE_CHARACTERS.exec(name);
  if (bad) throw badRequest(`Invalid ${what}: it may not contain the character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/** `/A/B` from `/A/B/`, checking every segment; `/` is the root. */
export function normalizeFolderPath(path: string): string {
  if (!path.startsWith('/') || path.length > MAX_PATH_LENGTH) throw badRequest(`Invalid folderPath "${path.slice(0, 200)}": it must start with /`);
  const segments = path.split('/').filter((segment) => segment !== '');
  for (const segment of segments) assertValidName(segment, 'folder name');
  return `/${segments.join('/')}`;
}

export function joinPath(folderPath: string, name: string): string {
  return folderPath === '/' ? `/${name}` : `${folderPath}/${name}`;
}

export function splitAssetPath(assetPath: string): { folderPath: string; filename: string } {
  const index = assetPath.lastIndexOf('/');
  if (!assetPath.startsWith('/') || index === assetPath.length - 1) throw badRequest(`Invalid assetPath "${assetPath.slice(0, 200)}"`);
  const filename = assetPath.slice(index + 1);
  assertValidName(filename, 'file name');
  return { folderPath: normalizeFolderPath(assetPath.slice(0, index) || '/'), filename };
}

/** Whether an asset could have this path (every name valid); for paths read from URLs, where a bad one is just no asset. */
export function isValidAssetPath(assetPath: string): boolean {
  try {
    splitAssetPath(assetPath);
    return true;
  } catch {
    return false;
  }
}

/** Every folder from the root down to `folderPath`, root excluded: `/A/B` → `/A`, `/A/B`. */
export function folderChain(folderPath: string): string[] {
  const segments = folderPath.split('/').filter(Boolean);
  return segments.map((_segment, index) => `/${segments.slice(0, index + 1).join('/')}`);
}

export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
}

export function baseNameOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(0, dot) : filename;
}

/** The name autoRename tries for attempt n: `photo-1.jpg`, `photo-2.jpg`, … */
export function renamed(filename: string, attempt: number): string {
  const extension = extensionOf(filename);
  return withSuffix(baseNameOf(filename), extension ? `-${attempt}.${filename.slice(filename.lastIndexOf('.') + 1)}` : `-${attempt}`);
}

/** A folder path with `-n` added to its last name (a folder name has no extension to keep). */
export function renamedFolder(path: string, attempt: number): string {
  const slash = path.lastIndexOf('/');
  return path.slice(0, slash + 1) + withSuffix(path.slice(slash + 1), `-${attempt}`);
}

/** The base gives way to the suffix, so that a name at the length limit still has a valid renamed form. */
function withSuffix(base: string, suffix: string): string {
  let kept = base;
  while (kept.length > 1 && Buffer.byteLength(kept + suffix) > MAX_NAME_BYTES) kept = Array.from(kept).slice(0, -1).join('').trimEnd();
  return kept + suffix;
}

const MIME_TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', tif: 'image/tiff',
  tiff: 'image/tiff', bmp: 'image/bmp', heic: 'image/heic', heif: 'image/heif', avif: 'image/avif', svg: 'image/svg+xml',
  psd: 'image/vnd.adobe.photoshop', mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', avi: 'video/x-msvideo',
  mkv: 'video/x-matroska', webm: 'video/webm', mpg: 'video/mpeg', mpeg: 'video/mpeg', mp3: 'audio/mpeg', wav: 'audio/wav',
  aac: 'audio/aac', m4a: 'audio/mp4', flac: 'audio/flac', ogg: 'audio/ogg', pdf: 'application/pdf', txt: 'text/plain',
  csv: 'text/csv', html: 'text/html', htm: 'text/html', xml: 'application/xml', json: 'application/json', zip: 'application/zip',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  indd: 'application/x-indesign', ai: 'application/postscript', eps: 'application/postscript', collection: 'application/x-collection',
};

const DOMAINS: Array<[string, RegExp]> = [
  ['container', /^collection$/],
  ['image', /^(jpe?g|png|gif|webp|tiff?|bmp|heic|heif|avif|svg|psd)$/],
  ['video', /^(mp4|m4v|mov|avi|mkv|webm|mpe?g)$/],
  ['audio', /^(mp3|wav|aac|m4a|flac|ogg)$/],
  ['pdf', /^pdf$/],
  ['document', /^(docx?|odt|rtf|txt|md)$/],
  ['presentation', /^(pptx?|odp|key)$/],
  ['spreadsheet', /^(xlsx?|ods|csv)$/],
  ['layout', /^(indd|idml)$/],
  ['archive', /^(zip|tar|gz|7z|rar)$/],
];

export function mimeTypeOf(extension: string): string {
  return MIME_TYPES[extension] ?? 'application/octet-stream';
}

/** The Assets `assetDomain` of a file, from its extension. */
export function domainOf(extension: string): string {
  return DOMAINS.find(([, pattern]) => pattern.test(extension))?.[0] ?? 'generic';
}
