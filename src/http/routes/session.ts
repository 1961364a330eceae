import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Credentials, credentialsFromBase64, LOGIN_FAULT_MESSAGE } from '../../auth/auth-service.js';
import { resolveLogoutRedirect } from '../../auth/logout-redirect.js';
import type { User } from '../../auth/user-store.js';
import { forbidden } from '../../lib/errors.js';
import { ASSETS_API_VERSION } from '../../version.js';
import { SESSION_COOKIE } from '../auth-hook.js';
import type { AppContext } from '../context.js';
import { type Params, readParams } from '../params.js';
import { addServiceRoute } from '../route.js';
import { isCrossSiteRequest, isSecureContext, publicBaseUrl } from '../urls.js';
import { userProfile } from './profile.js';

/** Login, API login and both logout flavours: the session contract of the Assets Server. */
export function sessionRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { auth, config } = ctx;
  const cookiePath = `${config.basePath}/`;

  const clearSessionCookie = (request: FastifyRequest, reply: FastifyReply) => {
    if (request.credentialSource !== 'cookie') return;
    // Same attributes as when it was set, or browsers keep the original.
    reply.clearCookie(SESSION_COOKIE, { path: cookiePath, httpOnly: true, sameSite: 'lax', secure: isSecureContext(request, config) });
  };

  const endSession = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.principal) await auth.logout(request.principal);
    clearSessionCookie(request, reply);
  };

  addServiceRoute(app, {
    url: '/services/login',
    methods: ['POST'],
    auth: 'none',
    handler: async (request, reply) => {
      assertSameSiteLogin(request, ctx);
      const params = await readParams(request);
      const result = await auth.login(credentialsFrom(params, request.ip), {
        clientType: params.get('clientType'),
        previousToken: request.cookies[SESSION_COOKIE],
      });
      if (!result.ok) return { loginSuccess: false, loginFaultMessage: LOGIN_FAULT_MESSAGE };
      reply.setCookie(SESSION_COOKIE, result.token, {
        path: cookiePath,
        httpOnly: true,
        sameSite: 'lax',
        secure: isSecureContext(request, config),
      });
      return {
        loginSuccess: true,
        serverVersion: ASSETS_API_VERSION,
        csrfToken: result.csrfToken,
        ...loginExtras(params, result.user),
      };
    },
  });

  addServiceRoute(app, {
    url: '/services/apilogin',
    methods: ['POST'],
    auth: 'none',
    handler: async (request) => {
      const params = await readParams(request);
      const result = await auth.apiLogin(credentialsFrom(params, request.ip), {
        clientType: params.get('clientType'),
        clientId: params.get('clientId'),
      });
      if (!result.ok) return { loginSuccess: false, loginFaultMessage: LOGIN_FAULT_MESSAGE };
      // No cookie: an API token travels in the Authorization header (or a cookie the client sets itself).
      return { loginSuccess: true, serverVersion: ASSETS_API_VERSION, authToken: result.token, ...loginExtras(params, result.user) };
    },
  });

  addServiceRoute(app, {
    url: '/services/logout',
    methods: ['POST'],
    auth: 'optional',
    handler: async (request, reply) => {
      await endSession(request, reply);
      return { logoutSuccess: true };
    },
  });

  addServiceRoute(app, {
    url: '/logout',
    methods: ['GET', 'POST'],
    auth: 'optional',
    // The contract lets any page send the browser here; the only effect is the logout itself (README).
    csrf: false,
    handler: async (request, reply) => {
      const params = await readParams(request);
      await endSession(request, reply);
      const target = resolveLogoutRedirect(params.get('logoutSuccessUrl'), {
        baseUrl: `${publicBaseUrl(request, config)}/`,
        allowlist: config.logoutRedirectAllowlist,
        landingPage: config.landingPage,
      });
      return reply.redirect(target, 302);
    },
  });
}

/** `cred` (base64 of `user:password`) or `username` + `password`. Malformed input becomes a failing login. */
function credentialsFrom(params: Params, ip: string): Credentials {
  const cred = params.get('cred');
  if (cred !== undefined) return credentialsFromBase64(cred, ip);
  return { username: params.get('username') ?? '', password: params.get('password') ?? '', ip };
}

function loginExtras(params: Params, user: User): Record<string, unknown> {
  return {
    ...(params.bool('returnProfile') ? { userProfile: userProfile(user) } : {}),
    ...(params.bool('returnPreferences') ? { userPreferences: {} } : {}),
  };
}

/**
 * Login CSRF defence: a browser page on another site must not log the victim into an attacker's account.
 * Requests without `Origin` (curl, API clients) are unaffected.
 */
function assertSameSiteLogin(request: FastifyRequest, ctx: AppContext): void {
  if (isCrossSiteRequest(request, ctx.config)) throw forbidden('Cross-site login is not allowed');
}
