import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildWebClient, type WebBuild } from '../../scripts/build-web.js';
import { webClientRoutes } from '../../src/http/routes/web-client.js';

/** How the built client is served: the page never cached, hashed files cached for a year, nothing inline. */
describe('web client files', () => {
  let dir: string;
  let built: WebBuild;
  let app: FastifyInstance;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'damson-web-build-'));
    built = await buildWebClient(join(dir, 'web'));
    app = Fastify();
    webClientRoutes(app, built.outDir);
    await app.ready();
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds one hashed script and one hashed stylesheet, small enough to load fast', () => {
    assert.deepEqual(readdirSync(join(built.outDir, 'static')).sort(), [built.script, built.stylesheet].sort());
    assert.match(built.script, /^main-[A-Z0-9]{8}\.js$/);
    assert.ok(built.bytes < 100 * 1024, `the initial bundle is ${built.bytes} bytes`);
  });

  it('serves the page uncached, with a CSP that forbids inline code, naming the hashed files', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
    assert.ok(page.body.includes(`src="static/${built.script}"`));
    assert.doesNotMatch(page.body, /<script>|<script [^>]*>[^<]|\son\w+=/, 'no inline script or handler');
  });

  it('serves hashed files as immutable for a year, with ETag revalidation', async () => {
    const script = await app.inject({ method: 'GET', url: `/static/${built.script}` });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    const again = await app.inject({ method: 'GET', url: `/static/${built.script}`, headers: { 'if-none-match': String(script.headers.etag) } });
    assert.equal(again.statusCode, 304);
    const css = await app.inject({ method: 'GET', url: `/static/${built.stylesheet}` });
    assert.match(String(css.headers['content-type']), /^text\/css/);
  });

  it('answers unknown or traversing file names with 404', async () => {
    for (const url of ['/static/nope.js', '/static/..%2Findex.html', '/static/%2e%2e%2f%2e%2e%2fpackage.json']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
    }
  });

  it('without a build, the page says how to make one', async () => {
    const bare = Fastify();
    webClientRoutes(bare, join(dir, 'missing'));
    const page = await bare.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /npm run build/);
    await bare.close();
  });
});
