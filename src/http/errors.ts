import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DamsonError, serviceUnavailable } from '../lib/errors.js';
import { isOutOfSpace, isStoreUnavailable } from '../lib/unavailable.js';

export interface ErrorBody {
  errorcode: number;
  message: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends the Assets error body `{errorcode, message}` with the real status, or with 200 for `/services/*` in the
 * legacy "errors as HTTP 200" mode (the body still carries the real code, which every client reads).
 */
export function sendError(reply: FastifyReply, status: number, message: string, legacyStatus200: boolean): FastifyReply {
  const body: ErrorBody = { errorcode: status, message };
  const isService = reply.request.url.includes('/services/');
  return reply
    .code(legacyStatus200 && isService ? 200 : status)
    .type(JSON_TYPE)
    .send(body);
}

/** One error handler for the whole app: known errors keep their status; everything else is a logged 500. */
export function errorHandler(legacyStatus200: boolean, onStoreUnavailable: (error: unknown) => void = () => {}) {
  return function handleError(this: unknown, error: FastifyError | DamsonError | Error, request: FastifyRequest, reply: FastifyReply) {
    if (error instanceof DamsonError) {
      reply.headers(error.headers);
      return sendError(reply, error.status, error.message, legacyStatus200);
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) return sendError(reply, 400, fastifyError.message, legacyStatus200);
    if (lostRace(error)) {
      // PostgreSQL rolled the whole transaction back to let a concurrent one finish; doing it again will work.
      request.log.warn({ err: error }, 'a transaction collided with a concurrent one; answered 409');
      return sendError(reply, 409, 'The request collided with another one changing the same data; nothing was changed, try again', legacyStatus200);
    }
    if (isOutOfSpace(error)) {
      request.log.error({ err: error }, 'out of disk space; answered 507');
      return sendError(reply, 507, 'The server is out of storage space; nothing was stored', legacyStatus200);
    }
    if (isStoreUnavailable(error)) {
      // Fail closed: the store comes back on its own, so the client is told to retry, not that Damson broke.
      request.log.warn({ err: error }, 'a store is unreachable; answered 503');
      onStoreUnavailable(error);
      const unavailable = serviceUnavailable('A storage service is unavailable; try again shortly');
      reply.headers(unavailable.headers);
      return sendError(reply, unavailable.status, unavailable.message, legacyStatus200);
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendError(reply, status, fastifyError.message || 'Bad request', legacyStatus200);
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 500, 'Internal server error', legacyStatus200);
  };
}

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction lost to a concurrent one. */
const CONCURRENCY_SQLSTATES = new Set(['40P01', '40001']);

function lostRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONCURRENCY_SQLSTATES.has(code);
}

export function notFoundHandler(legacyStatus200: boolean) {
  return function handleNotFound(_request: FastifyRequest, reply: FastifyReply) {
    return sendError(reply, 404, 'Not found', legacyStatus200);
  };
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (malformed request lines, headers over the size
 * limit, a URL of 100 KB) still get a JSON error, never a bare socket reset.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request header fields too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timeout']
        : [400, 'Bad request'];
  const body = JSON.stringify({ errorcode: status, message } satisfies ErrorBody);
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
