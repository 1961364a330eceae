import type { FastifyInstance, HTTPMethods, RouteHandlerMethod } from 'fastify';
import { DamsonError } from '../lib/errors.js';
import type { AuthMode } from './auth-hook.js';

export interface ServiceRoute {
  url: string;
  methods: HTTPMethods[];
  auth?: AuthMode;
  csrf?: boolean;
  urlSecret?: boolean;
  /** The service only reads: `authcred` may open it on POST too. */
  readOnly?: boolean;
  handler: RouteHandlerMethod;
}

/**
 * Registers a route and answers every other method on the same path with 405 and an `Allow` header. The 405
 * route has the same auth rules, so an unsafe method still needs the CSRF token before it learns anything.
 */
export function addServiceRoute(app: FastifyInstance, route: ServiceRoute): void {
  const config = { auth: route.auth, csrf: route.csrf, urlSecret: route.urlSecret, readOnly: route.readOnly };
  app.route({ method: route.methods, url: route.url, config, handler: route.handler });

  const allowed = route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods;
  const others = app.supportedMethods.filter((method) => !allowed.includes(method));
  app.route({
    method: others,
    url: route.url,
    config,
    handler: async (request, reply) => {
      reply.header('allow', allowed.join(', '));
      throw new DamsonError(405, `Method ${request.method} is not allowed here; use ${route.methods.join(' or ')}`);
    },
  });
}
