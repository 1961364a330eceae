import type { FastifyRequest } from 'fastify';
import type { UploadedFile } from '../assets/asset-service.js';
import { isMetadataParameter } from '../assets/fields.js';
import { badRequest, DamsonError } from '../lib/errors.js';
import { type BlobStore, BlobTooLargeError } from '../storage/blob-store.js';
import { type Params, readParams } from './params.js';

/** Multipart overhead allowed on top of the file itself when judging Content-Length. */
const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;
const LOCATION_PARAMETERS = new Set(['folderPath', 'name', 'filename', 'assetPath', 'assetType']);
const FILE_PART_NAMES = new Set(['Filedata', 'file', 'filedata']);

const tooLarge = (maxBytes: number) => new DamsonError(413, `The file is larger than the maximum upload size of ${maxBytes} bytes`);

/**
 * Reads an upload request: parameters from every source, and the `Filedata` part streamed into the blob store's
 * staging area (never held in memory). A body announced as too large is refused before any of it is stored.
 */
export async function readUpload(
  request: FastifyRequest,
  blobs: BlobStore,
  maxBytes: number,
): Promise<{ params: Params; file: UploadedFile | undefined }> {
  const announced = Number(request.headers['content-length']);
  if (Number.isFinite(announced) && announced > maxBytes + MULTIPART_OVERHEAD_BYTES) throw tooLarge(maxBytes);

  let file: UploadedFile | undefined;
  try {
    const params = await readParams(request, {
      maxFileBytes: maxBytes,
      async onFile(part) {
        if (file || !FILE_PART_NAMES.has(part.fieldname)) throw badRequest(`Unexpected file part "${part.fieldname}"; send one file as Filedata`);
        const staged = await blobs.stage(part.file, { maxBytes });
        file = { staged, filename: part.filename || undefined, localPath: staged.localPath };
      },
    });
    return { params, file };
  } catch (error) {
    await file?.staged.discard();
    if (error instanceof BlobTooLargeError || (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    throw error;
  }
}

/**
 * Runs `work` with an upload read from the request. Whatever goes wrong (bad parameters, a refused change), a
 * staged file that was not committed is removed: a failed upload leaves no file behind.
 *
 * `abandoned` aborts when the client's connection closes before the answer: the client pressed Cancel or gave
 * up, and will never learn the outcome. The services commit nothing after that, so a cancelled upload does not
 * turn into an asset nobody asked for, and a client that retries after a dropped connection makes no duplicate.
 */
export async function withUpload<T>(
  request: FastifyRequest,
  blobs: BlobStore,
  maxBytes: number,
  work: (upload: { params: Params; file: UploadedFile | undefined; abandoned: AbortSignal }) => Promise<T>,
): Promise<T> {
  const upload = await readUpload(request, blobs, maxBytes);
  const abandon = new AbortController();
  const { socket } = request.raw;
  const onClose = () => abandon.abort(new DamsonError(499, 'The client closed the connection before the upload was saved; nothing was kept'));
  if (socket.destroyed) onClose();
  else socket.once('close', onClose);
  try {
    return await work({ ...upload, abandoned: abandon.signal });
  } catch (error) {
    // No answer can reach the client now, and Fastify logs no completed request for it: say what happened.
    if (abandon.signal.aborted) request.log.info({ req: request }, 'client went away before the upload was saved; nothing was kept');
    throw error;
  } finally {
    // A kept-alive connection serves other requests after this one.
    socket.off('close', onClose);
    // After a successful commit the staged file is gone already; this only cleans up failures.
    await upload.file?.staged.discard();
  }
}

/** The metadata of a create/update request: the `metadata` JSON, then every parameter named after a field. */
export function metadataFrom(params: Params): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  const json = params.get('metadata');
  if (json !== undefined && json.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw badRequest('Parameter metadata must be a JSON object');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('Parameter metadata must be a JSON object');
    Object.assign(metadata, parsed);
  }
  for (const name of params.names()) {
    // Location fields and assetType are not editable metadata, but the services give them meaning
    // (create places the asset; `assetType=collection` asks for a collection; update refuses a move).
    if (!isMetadataParameter(name) && !LOCATION_PARAMETERS.has(name)) continue;
    const values = params.all(name);
    metadata[name] = values.length > 1 ? [...values] : values[0];
  }
  return metadata;
}
