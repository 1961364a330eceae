import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../lib/errors.js';
import { DAMSON_VERSION } from '../../version.js';
import { addServiceRoute } from '../route.js';

/** Where `npm run build` puts the browser client (the same place seen from src/ and from dist/). */
export const WEB_CLIENT_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/**
 * The page allows only this server's own scripts, styles and media: no inline code, so an injected string can
 * never run. Previews and thumbnails are same-origin images and videos; uploads and API calls go to 'self'.
 */
const CLIENT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The web client at `<base path>/`, and its hashed files under `static/` with a one-year immutable cache. The
 * files are small and read once at start. Without a build, `/` says how to make one.
 */
export function webClientRoutes(app: FastifyInstance, directory = WEB_CLIENT_DIR): void {
  const index = existsSync(join(directory, 'index.html')) ? readFileSync(join(directory, 'index.html')) : null;
  const files = new Map<string, StaticFile>();
  const staticDir = join(directory, 'static');
  if (index && existsSync(staticDir)) {
    for (const name of readdirSync(staticDir)) {
      const body = readFileSync(join(staticDir, name));
      files.set(name, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
  }

  addServiceRoute(app, {
    url: '/',
    methods: ['GET'],
    auth: 'none',
    handler: async (_request, reply) => {
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (!index) {
        return reply.send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Damson</title></head>` +
            `<body><h1>Damson</h1><p>Damson ${DAMSON_VERSION} is running. The Assets Server API is served under <code>services/</code>. ` +
            `The web client has not been built: run <code>npm run build</code>.</p></body></html>`,
        );
      }
      return reply.header('content-security-policy', CLIENT_CSP).send(index);
    },
  });

  addServiceRoute(app, {
    url: '/static/:name',
    methods: ['GET'],
    auth: 'none',
    handler: async (request, reply) => {
      const file = files.get((request.params as { name: string }).name);
      if (!file) throw notFound('No such file');
      reply.header('cache-control', 'public, max-age=31536000, immutable').header('etag', file.etag).type(file.type);
      if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
      return reply.send(file.body);
    },
  });
}
