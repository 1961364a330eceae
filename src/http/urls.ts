import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { badRequest } from '../lib/errors.js';

/** The absolute URL of this server's base (public URL if configured, else as the request reached us). */
export function publicBaseUrl(request: FastifyRequest, config: Config): string {
  return config.publicUrl ?? `${request.protocol}://${request.host}${config.basePath}`;
}

/**
 * The base of the URLs in hits. Signing parses each URL, which a Host header such as `a|b` makes impossible: with
 * `sign` such a request is a 400, to be asked before anything changes so that the refusal leaves nothing behind.
 */
export function hitBaseUrl(request: FastifyRequest, config: Config, sign: boolean): string {
  const baseUrl = publicBaseUrl(request, config);
  if (sign && !URL.canParse(baseUrl)) throw badRequest('URLs cannot be signed for this Host header: it is not a valid host');
  return baseUrl;
}

/** Origins a browser page of this server may have: the configured public one and the one the request used. */
export function ownOrigins(request: FastifyRequest, config: Config): string[] {
  const origins = [`${request.protocol}://${request.host}`];
  if (config.publicUrl) origins.push(new URL(config.publicUrl).origin);
  return origins;
}

/**
 * Whether a browser sent this request from another site: `Sec-Fetch-Site: cross-site` (whatever the origin, CORS
 * origins included: those call with the Authorization header), or an `Origin` that is neither this server's nor a
 * configured CORS origin. Requests without those headers (curl, API clients) are not.
 */
export function isCrossSiteRequest(request: FastifyRequest, config: Config): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  return origin !== undefined && !ownOrigins(request, config).includes(origin) && !config.corsOrigins.includes(origin);
}

/** Whether the browser will receive this response over HTTPS (directly, via a trusted proxy, or the public URL). */
export function isSecureContext(request: FastifyRequest, config: Config): boolean {
  return request.protocol === 'https' || (config.publicUrl?.startsWith('https:') ?? false);
}
