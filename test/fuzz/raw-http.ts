import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { FuzzHarness } from './harness.js';
import { FuzzFailure } from './run.js';

/**
 * What `inject` cannot send: raw request lines (`../` and `%2e%2e` that no URL parser normalised, bytes that are
 * not UTF-8, absolute and asterisk forms, wrong versions), header lines Node's parser must refuse, bodies whose
 * framing lies, and bodies trickled over a socket in small pieces. Every answer must be a non-5xx and every 4xx
 * the JSON error, whoever produced it (Fastify or the HTTP parser's clientError handler).
 */

export interface RawRequest {
  method: string;
  target: string;
  version: string;
  /** Header lines as written, without the CRLF. */
  headers: string[];
  body: string;
  /** Content-Length as sent: the body's length, a wrong one, or none (chunked or no body). */
  framing: 'length' | 'chunked' | 'bad-chunked' | 'none' | 'conflicting-lengths' | 'length-and-chunked' | 'short-length';
  /** How the bytes go out: at once, or in pieces with pauses. */
  pieces: number;
  auth: boolean;
}

const RAW_TARGETS = [
  '/services/ping',
  '/services/../services/ping',
  '/services/./ping',
  '/services/%2e%2e/services/ping',
  '/services/%2E%2E/%2e%2e/services/ping',
  '/services/..%2fservices%2fping',
  '/file/../../../etc/passwd',
  '/file/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/file/..%2f..%2f..%2fetc%2fpasswd',
  '/file/..\\..\\..\\etc\\passwd',
  '/preview/x/previews/..%2f..%2fmaxWidth_1_maxHeight_1.jpg',
  '/static/../../package.json',
  '/static/..%2f..%2fpackage.json',
  '\\services\\ping',
  '/services\\ping',
  '//services//ping',
  '/services/ping;jsessionid=../../x',
  '/services/ping?q=%',
  '/services/ping?%%%=%%%',
  '/services/search?q=a&q=b&q=%FF',
  '/services/search?q=\u00e9',
  '/services/p\u00efng',
  '/services/ping#fragment',
  '*',
  'http://evil.example/services/ping',
  'http://localhost/services/ping',
  'localhost:80',
  '',
  '?',
  '/%',
  '/%00',
  '/services/ping%00.json',
  '/services/' + 'a'.repeat(20_000),
  '/services/search?q=' + 'a'.repeat(20_000),
];

const rawTarget = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...RAW_TARGETS) },
  // Bytes a client could put in a request target: printable ASCII and latin-1 (sent as single bytes).
  { weight: 2, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 30 }).map((text) => `/services/${text}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 30 }).map((text) => `/${text}`) },
);

const headerLine = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('Accept: */*', 'User-Agent: raw', 'X-Requested-With: x', 'Range: bytes=0-1', 'Origin: http://evil.example', 'Sec-Fetch-Site: cross-site', 'Cookie: a=b') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'X-Bad: a\u0000b',
      'X-Bad: a\u007fb',
      'X-Bad\u0001: x',
      'No colon here',
      ': empty name',
      ' leading-space: x',
      'X-Folded: a',
      ' continued',
      'Host: a',
      'Host: b',
      'Content-Type: multipart/form-data',
      'Content-Type: application/json',
      'Transfer-Encoding: gzip',
      'Transfer-Encoding: chunked, identity',
      'Expect: 100-continue',
      'Expect: 999-nope',
      'Connection: upgrade',
      'Upgrade: websocket',
      `X-Huge: ${'h'.repeat(20_000)}`,
      `Cookie: ${'c=1; '.repeat(4000)}`,
    ),
  },
  { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 30 })).map(([name, value]) => `${name}: ${value}`) },
);

export const rawRequest: fc.Arbitrary<RawRequest> = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 1, arbitrary: fc.constantFrom('get', 'G ET', 'HEAD', 'OPTIONS', 'DELETE', 'FOO', 'CONNECT', '', 'GET\t', 'PRI') }),
  target: rawTarget,
  version: fc.oneof({ weight: 8, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 junk', 'HTTP/9.9', '', 'http/1.1', 'HTTP/1.10') }),
  headers: fc.array(headerLine, { maxLength: 3 }),
  body: fc.oneof(fc.constant(''), fc.constantFrom('uid=1', 'q=*:*&num=1', '{"q":"x"}', 'a=%FF%FE', '{"broken'), fc.string({ maxLength: 200 })),
  framing: fc.oneof(
    { weight: 6, arbitrary: fc.constant<RawRequest['framing']>('length') },
    { weight: 2, arbitrary: fc.constant<RawRequest['framing']>('chunked') },
    { weight: 1, arbitrary: fc.constantFrom<RawRequest['framing']>('bad-chunked', 'none', 'conflicting-lengths', 'length-and-chunked', 'short-length') },
  ),
  pieces: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 12 }) }),
  auth: fc.boolean(),
});

/** The request's bytes: latin-1, so that every code unit up to 0xFF goes out as that one byte. */
export function encodeRaw(request: RawRequest, credentials: { cookie: string; csrf: string }): Buffer {
  const body = Buffer.from(request.body, 'utf8');
  const lines = [`${request.method} ${request.target} ${request.version}`.trimEnd(), 'Host: localhost', 'Connection: close', ...request.headers];
  if (request.auth) lines.push(`Cookie: authToken=${credentials.cookie}`, `X-CSRF-Token: ${credentials.csrf}`);
  let payload: Buffer = body;
  switch (request.framing) {
    case 'length':
      lines.push(`Content-Length: ${body.length}`);
      break;
    case 'short-length':
      // Fewer bytes announced than sent: the rest reads as a second (garbage) request on the same connection.
      lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
      break;
    case 'conflicting-lengths':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'length-and-chunked':
      lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([...(body.length > 0 ? [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')] : []), Buffer.from('0\r\n\r\n')]);
      break;
    case 'bad-chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'none':
      payload = Buffer.alloc(0);
      break;
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The first final response in what the server wrote before it closed the connection (bodies by length or chunked). */
export function parseFirstResponse(bytes: Buffer): RawResponse | undefined {
  // Interim answers (`100 Continue`) come before the final one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(bytes.subarray(0, 16).toString('latin1')) && bytes.indexOf('\r\n\r\n') >= 0) bytes = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...headerLines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let rest = body;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size) || size === 0) break;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    body = Buffer.concat(chunks);
  }
  return { status: Number(match[1]), headers, body };
}

/** Sends the bytes (in pieces, if asked) and collects everything until the server closes, or the time runs out. */
export async function sendRaw(port: number, bytes: Buffer, pieces: number, timeoutMs = 10_000): Promise<{ bytes: Buffer; closed: boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  const received: Buffer[] = [];
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => {
      closed = true;
      resolve();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const size = Math.ceil(bytes.length / pieces);
  for (let offset = 0; offset < bytes.length && !closed; offset += size) {
    socket.write(bytes.subarray(offset, offset + size));
    if (pieces > 1) await sleep(2);
  }
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  await done;
  clearTimeout(timer);
  return { bytes: Buffer.concat(received), closed };
}

/** Sends one raw request and checks what came back; the problem, or undefined. */
export async function checkRaw(harness: FuzzHarness, port: number, request: RawRequest): Promise<{ problem?: string; status?: number }> {
  const { admin } = harness.credentials;
  const bytes = encodeRaw(request, { cookie: admin.token, csrf: admin.csrfToken });
  const started = Date.now();
  const { bytes: answer } = await sendRaw(port, bytes, request.pieces);
  const response = parseFirstResponse(answer);
  const sent = JSON.stringify(bytes.toString('latin1').slice(0, 600));
  if (!response) {
    // Node may close a connection without answering only when the client gave it nothing to answer.
    if (answer.length === 0 && Date.now() - started < 9_000 && request.framing === 'short-length') return {};
    return { problem: `no HTTP answer (${answer.length} bytes: ${JSON.stringify(answer.toString('latin1').slice(0, 200))}) to ${sent}` };
  }
  const { status } = response;
  if (status >= 500) return { problem: `server error ${status} for ${sent}: ${response.body.toString('utf8').slice(0, 300)}`, status };
  if (status >= 400) {
    if (!/^application\/json/i.test(response.headers['content-type'] ?? '')) return { problem: `a ${status} without a JSON content type for ${sent}`, status };
    if (request.method === 'HEAD') return { status };
    let body: { errorcode?: unknown; message?: unknown };
    try {
      body = JSON.parse(response.body.toString('utf8')) as typeof body;
    } catch {
      return { problem: `a ${status} whose body is not JSON for ${sent}: ${JSON.stringify(response.body.toString('latin1').slice(0, 200))}`, status };
    }
    if (body.errorcode !== status || typeof body.message !== 'string' || body.message.length === 0) {
      return { problem: `a ${status} with the body ${JSON.stringify(body).slice(0, 200)} for ${sent}`, status };
    }
  }
  return { status };
}

/** Raw requests as a property: each answer checked, refusals must change nothing, the server must answer a ping after. */
export async function runRawBatch(harness: FuzzHarness, port: number, batch: RawRequest[], statuses: Map<number, number>): Promise<void> {
  let before = await harness.fingerprint();
  for (const request of batch) {
    const { problem, status } = await checkRaw(harness, port, request);
    if (problem) throw new FuzzFailure(problem);
    if (status !== undefined) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const after = await harness.fingerprint();
    if (status !== undefined && status >= 400 && after !== before) throw new FuzzFailure(`a refused raw request (${status}) changed the state: ${JSON.stringify(request).slice(0, 500)}`);
    before = after;
  }
  const ping = await fetch(`http://127.0.0.1:${port}/services/ping`, { headers: harness.credentials.admin.cookieOnly });
  if (ping.status !== 200) throw new FuzzFailure(`the server stopped answering over HTTP: ping gave ${ping.status}`);
}
