import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuthService, credentialsFromBase64, type Principal } from '../auth/auth-service.js';
import { REQUEST_SECRET_PARAMETER, type UrlSigner } from '../auth/url-signer.js';
import { DamsonError, forbidden, notLoggedIn } from '../lib/errors.js';

/**
 * How a route treats credentials. `required` (the default for every route): 401 without a valid session or
 * token. `optional`: the caller may be anonymous (logout). `none`: credentials are ignored (login).
 */
export type AuthMode = 'required' | 'optional' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    /** False only for `/logout`, which the Assets contract lets any page trigger. */
    csrf?: boolean;
    /** File routes: a valid `requestSecret` for this exact path stands in for a login. */
    urlSecret?: boolean;
    /** A service that only reads (search, browse…): `authcred` opens it whatever the method. */
    readOnly?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Where the presented credentials came from, so logout knows whether to clear the cookie. */
    credentialSource: 'bearer' | 'cookie' | 'authcred' | null;
  }
}

export const SESSION_COOKIE = 'authToken';
/** The query parameter of protocol §6.4: base64 of `user:password`, for one request that reads. */
export const AUTHCRED_PARAMETER = 'authcred';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type PresentedToken = { source: 'bearer' | 'cookie'; token: string } | { source: 'invalid-bearer' } | undefined;

/**
 * Bearer header first (parsed leniently: `Bearer<token>` works too); an empty or unusable Bearer never falls back
 * to the cookie. Tokens are accepted only from these two places, never from the query string.
 */
function presentedToken(request: FastifyRequest): PresentedToken {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^\s*bearer/i.test(authorization)) {
    const token = authorization.trim().replace(/^bearer\s*/i, '');
    return token ? { source: 'bearer', token } : { source: 'invalid-bearer' };
  }
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie ? { source: 'cookie', token: cookie } : undefined;
}

/**
 * Authenticates every routed request and enforces CSRF, in `onRequest`: before any body is read, so a rejected
 * upload writes nothing anywhere.
 */
export function authenticateRequests(auth: AuthService, signer: UrlSigner, isCrossSite: (request: FastifyRequest) => boolean) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    request.principal = null;
    request.credentialSource = null;
    if (request.is404) return;
    const { auth: mode = 'required', csrf = true, urlSecret = false, readOnly = false } = request.routeOptions.config;
    if (mode === 'none') return;
    if (urlSecret && SAFE_METHODS.has(request.method)) {
      const secret = (request.query as Record<string, unknown>)[REQUEST_SECRET_PARAMETER];
      if (typeof secret === 'string') {
        // The secret opens exactly the path it was made for, whoever presents it; a bad one is a 401.
        if (signer.verify(rawPath(request.url), secret)) return;
        throw new DamsonError(401, 'Invalid or expired request secret');
      }
    }

    const presented = presentedToken(request);
    const principal = presented && presented.source !== 'invalid-bearer' ? await auth.authenticate(presented.token) : null;
    if (!principal) {
      const authcred = (request.query as Record<string, unknown>)[AUTHCRED_PARAMETER];
      // Not in place of a Bearer header that failed (as the cookie never is); a stale cookie gives way to it.
      if (typeof authcred === 'string' && (presented === undefined || presented.source === 'cookie')) {
        // Reading only (protocol §6.4): any route on GET and HEAD, and the services that only read on POST.
        if (!SAFE_METHODS.has(request.method) && !readOnly) throw forbidden('authcred only authenticates requests that read; log in (or use apilogin) for this one');
        const byCredentials = await auth.authenticateCredentials(credentialsFromBase64(authcred, request.ip));
        if (byCredentials) {
          request.principal = byCredentials;
          request.credentialSource = 'authcred';
          return;
        }
      }
      if (mode === 'required') throw notLoggedIn();
      if (presented?.source === 'cookie') request.credentialSource = 'cookie';
      return;
    }
    if (csrf && !SAFE_METHODS.has(request.method) && auth.requiresCsrf(principal)) {
      if (!auth.csrfTokenMatches(principal, request.headers[CSRF_HEADER])) throw forbidden('Invalid or missing CSRF token');
    }
    // An API token needs no CSRF token, but a browser sends a cookie along from any site: in a cookie, it does not
    // change anything on behalf of another site's page (in the Authorization header no page can add it).
    if (csrf && !SAFE_METHODS.has(request.method) && presented!.source === 'cookie' && !auth.requiresCsrf(principal) && isCrossSite(request)) {
      throw forbidden('An API token in a cookie does not work across sites; send it as Authorization: Bearer');
    }
    request.principal = principal;
    request.credentialSource = presented!.source as 'bearer' | 'cookie';
  };
}

/** The authenticated caller of a `required` route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw notLoggedIn();
  return request.principal;
}

/** The path of a request URL as sent (still percent-encoded), which is what URL secrets sign. */
export function rawPath(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}
