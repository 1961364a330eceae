import type { FastifyReply, FastifyRequest } from 'fastify';

const ALLOWED_METHODS = 'GET, HEAD, POST, OPTIONS';
const ALLOWED_HEADERS = 'X-CSRF-TOKEN, Authorization, Content-Type';

/**
 * CORS for an exact list of origins, with credentials (the Assets jQuery client sends cookies cross-origin).
 * Off when the list is empty. Never `*`: a credentialed response names the one origin it trusts.
 */
export function corsForOrigins(origins: readonly string[]) {
  const allowed = new Set(origins);
  return async function applyCors(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !allowed.has(origin)) return undefined;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
    return undefined;
  };
}
