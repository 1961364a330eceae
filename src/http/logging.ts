import type { FastifyRequest } from 'fastify';

/** Parameters whose values are secrets. They may arrive in the query string, so URLs are scrubbed before logging. */
const SECRET_PARAMETER = /^(password|cred|authcred|authtoken|token|csrftoken|requestsecret|secret|apikey|x-csrf-token)$/i;

export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const separator = pair.indexOf('=');
      const rawName = separator < 0 ? pair : pair.slice(0, separator);
      return SECRET_PARAMETER.test(safeDecode(rawName).trim()) ? `${rawName}=[REDACTED]` : pair;
    })
    .join('&');
  return `${url.slice(0, queryStart)}?${query}`;
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
