import type { FastifyRequest } from 'fastify';

/**
 * Words in the names of parameters whose values are secrets (password, cred, authcred, authToken, csrfToken,
 * requestSecret, apiKey…). Matched in the name reduced to its letters, so that a name spelt a little off
 * (`password[]`, `password%00`, `authcred;`) still counts: a server that reads it leniently must not log it.
 */
const SECRET_NAME = /password|passwd|cred|token|secret|apikey|csrf/;

/** Whether a raw (maybe percent-encoded) parameter name names a secret. */
const isSecretName = (rawName: string) => SECRET_NAME.test(safeDecode(rawName).toLowerCase().replace(/[^a-z]/g, ''));

/**
 * A URL fit for the log: the value of every `name=value` pair whose name names a secret is replaced, in the query
 * string (a value runs to the next `&`, as the query parser reads it: `;` is part of it) and as a path parameter
 * (`/file/x;password=…`, up to the next `/`) alike.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const [path, query] = queryStart < 0 ? [url, undefined] : [url.slice(0, queryStart), url.slice(queryStart + 1)];
  const redact = (pair: string, before: string, rawName: string) => (isSecretName(rawName) ? `${before}${rawName}=[REDACTED]` : pair);
  const safePath = path.replace(/(;)([^=;/]*)=([^;/]*)/g, redact);
  return query === undefined ? safePath : `${safePath}?${query.replace(/(^|&)([^=&]*)=([^&]*)/g, redact)}`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

/**
 * Logger options: JSON lines, request URLs scrubbed, headers never serialised. The `req` serializer is the guard:
 * pino runs it on every logged `req` before anything else sees it, and it keeps no header (so no Authorization,
 * Cookie or X-CSRF-TOKEN); the `res` Damson logs is its status code alone. A `redact` list of header paths would
 * never match anything after that, and would cost every log line its walk.
 */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream) {
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req(request: FastifyRequest) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  };
}
