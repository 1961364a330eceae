import type { FastifyInstance } from 'fastify';
import type { User } from '../../auth/user-store.js';
import { principalOf } from '../auth-hook.js';
import { addServiceRoute } from '../route.js';

/** The Assets profile shape; `email` only when the user has one. */
export function userProfile(user: User) {
  return {
    username: user.username,
    fullName: user.fullName ?? user.username,
    ...(user.email ? { email: user.email } : {}),
    groups: user.groups,
    authorities: user.authorities,
    locale: null,
  };
}

export function profileRoutes(app: FastifyInstance): void {
  addServiceRoute(app, {
    url: '/services/profile',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async (request) => userProfile(principalOf(request).user),
  });

  // Keep-alive for clients: needs a valid session, and counts as activity for the idle timeout.
  addServiceRoute(app, {
    url: '/services/ping',
    readOnly: true,
    methods: ['GET', 'POST'],
    handler: async () => ({}),
  });
}
