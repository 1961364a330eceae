import type { FastifyReply, FastifyRequest } from 'fastify';
import { DamsonError } from '../lib/errors.js';
import type { BlobStore, ByteRange } from '../storage/blob-store.js';

export interface BlobResponse {
  key: string;
  size: number;
  /** A strong validator: the content hash. */
  etag: string;
  mimeType: string;
  filename: string;
  forceDownload: boolean;
  /** The `_` cache-buster that makes this URL immutable, when the request carried the current one. */
  immutable: boolean;
}

/** Types a browser would run as a page or script if shown inline: always sent as attachments. */
const ACTIVE_CONTENT = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|application\/xml|text\/xml|application\/javascript|text\/javascript)/i;

/**
 * Streams a blob with the HTTP caching and range semantics clients and browsers expect: ETag and If-None-Match
 * (304), a single `bytes=` range (206; an unsatisfiable one is 416), HEAD, and a safe Content-Disposition.
 * Memory stays constant whatever the size: the body is a file stream.
 */
export async function sendBlob(request: FastifyRequest, reply: FastifyReply, blobs: BlobStore, blob: BlobResponse): Promise<FastifyReply> {
  const etag = `"${blob.etag}"`;
  const attachment = blob.forceDownload || ACTIVE_CONTENT.test(blob.mimeType);
  reply.header('etag', etag);
  reply.header('accept-ranges', 'bytes');
  reply.header('cache-control', blob.immutable ? 'private, max-age=31536000, immutable' : 'private, no-cache');
  reply.header('content-disposition', contentDisposition(attachment ? 'attachment' : 'inline', blob.filename));
  // Downloads may be embedded by other sites (previews in a portal), but never run as a document here.
  reply.header('cross-origin-resource-policy', 'cross-origin');
  reply.header('content-security-policy', "default-src 'none'; sandbox");

  if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();

  const range = requestedRange(request, etag, blob.size);
  if (range === 'unsatisfiable') {
    reply.removeHeader('content-disposition');
    reply.header('content-range', `bytes */${blob.size}`);
    throw new DamsonError(416, `Range not satisfiable: the file has ${blob.size} bytes`);
  }
  reply.type(blob.mimeType);
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
  } else {
    reply.header('content-length', String(blob.size));
  }
  return reply.send(blobs.read(blob.key, range));
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim();
    return value === '*' || value === etag || value === `W/${etag}`;
  });
}

/**
 * The one range to send, undefined for the whole file. Several ranges, malformed headers and a stale
 * If-Range are answered with the whole file, as RFC 9110 allows.
 */
function requestedRange(request: FastifyRequest, etag: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const header = request.headers.range;
  if (typeof header !== 'string') return undefined;
  const ifRange = request.headers['if-range'];
  if (typeof ifRange === 'string' && ifRange !== etag) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [, first, last] = match;
  if (first === '') {
    // A suffix: the last n bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

/** `inline; filename="photo.jpg"; filename*=UTF-8''ph%C3%B6to.jpg`: an ASCII fallback plus the exact name. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
