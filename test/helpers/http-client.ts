import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Session, TestServer } from './server.js';

/** Real HTTP against a test server (uploads stream from disk, as a client would send them). */
export interface Client {
  baseUrl: string;
  session: Session;
  /** POST multipart to a service with the session cookie and CSRF token. */
  /** A multipart POST: `fields`, then the file as Filedata, then `fieldsAfter`. */
  upload(service: string, fields: Record<string, string | string[]>, file?: { path: string; name?: string; type?: string }, fieldsAfter?: Record<string, string>): Promise<Response>;
  get(pathOrUrl: string, headers?: Record<string, string>, options?: { anonymous?: boolean; method?: string }): Promise<Response>;
}

export async function listen(server: TestServer): Promise<string> {
  const address = server.app.server.address();
  if (!address) await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

export async function client(server: TestServer, session: Session): Promise<Client> {
  const baseUrl = await listen(server);
  return {
    baseUrl,
    session,
    async upload(service, fields, file, fieldsAfter = {}) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) {
        for (const item of Array.isArray(value) ? value : [value]) form.append(name, item);
      }
      if (file) form.append('Filedata', await openAsBlob(file.path, { type: file.type ?? 'application/octet-stream' }), file.name ?? basename(file.path));
      for (const [name, value] of Object.entries(fieldsAfter)) form.append(name, value);
      // Redirects (nextUrl) are the answer, not followed.
      return fetch(`${baseUrl}/services/${service}`, { method: 'POST', body: form, headers: session.headers, redirect: 'manual' });
    },
    get(pathOrUrl, headers = {}, options = {}) {
      const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${baseUrl}${pathOrUrl}`;
      return fetch(url, { method: options.method ?? 'GET', headers: options.anonymous ? headers : { ...session.cookieOnly, ...headers } });
    },
  };
}

/** Polls until a rendition is served (409 means "not ready yet"); returns the final response. */
export async function waitForRendition(api: Client, path: string, timeoutMs = 60_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await api.get(path);
    if (response.status !== 409 || Date.now() > deadline) return response;
    await response.arrayBuffer();
    await sleep(100);
  }
}
