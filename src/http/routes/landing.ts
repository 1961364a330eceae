import type { FastifyInstance } from 'fastify';
import { DAMSON_VERSION } from '../../version.js';
import { addServiceRoute } from '../route.js';

/** The default landing page (where `/logout` goes) until the web client is served here. */
export function landingRoutes(app: FastifyInstance): void {
  addServiceRoute(app, {
    url: '/',
    methods: ['GET'],
    auth: 'none',
    handler: async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Damson</title></head>` +
            `<body><h1>Damson</h1><p>Damson ${DAMSON_VERSION} is running. The Assets Server API is served under <code>services/</code>.</p></body></html>`,
        ),
  });
}
