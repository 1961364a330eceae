import type { LightMyRequestResponse } from 'fastify';
import type { FuzzHarness, SentRequest } from './harness.js';
import type { RequestSpec } from './model.js';

/**
 * Sends generated requests and checks every answer against the invariants: no 5xx, every 4xx the JSON error body
 * with its status, successful service answers JSON, an answer within the time limit, and no state change from a
 * request that was refused.
 */

const ANSWER_TIMEOUT_MS = 20_000;
/** Routes whose success may end or replace the sessions the harness hands out. */
const SESSION_CHANGING = new Set(['services/logout', 'logout', 'login', 'apilogin', 'unknown']);
/** Targets under `/services/` that answer JSON on success (metrics answer Prometheus text). */
const JSON_SERVICES = new Set(['search', 'browse', 'create', 'update', 'updatebulk', 'move', 'copy', 'process/info', 'process/cancel', 'createFolder', 'remove', 'history', 'fieldinfo', 'profile', 'ping', 'login', 'apilogin', 'services/logout']);

export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

export interface Stats {
  requests: number;
  byStatus: Map<number, number>;
  byTarget: Map<string, { ok: number; redirect: number; rejected: number; ms: number }>;
  stateChecks: number;
}

export const newStats = (): Stats => ({ requests: 0, byStatus: new Map(), byTarget: new Map(), stateChecks: 0 });

const clip = (text: string, max = 400) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);

function describe(spec: RequestSpec, sent: SentRequest, response?: LightMyRequestResponse, logs: string[] = []): string {
  const headers = Object.entries(sent.options.headers).map(([name, value]) => `    ${name}: ${clip(JSON.stringify(value), 200)}`);
  const payload = sent.options.payload;
  const body = payload === undefined ? '(none)' : clip(JSON.stringify(Buffer.isBuffer(payload) ? payload.toString('latin1') : String(payload)), 600);
  const lines = [
    `  target: ${spec.target}, auth: ${spec.auth}, body kind: ${spec.body.kind}, client: ${spec.remoteAddress}`,
    `  ${sent.options.method} ${clip(JSON.stringify(sent.options.url), 600)}`,
    ...headers,
    `  body (${sent.payloadBytes} bytes): ${body}`,
  ];
  if (response) {
    lines.push(`  answer: ${response.statusCode} ${String(response.headers['content-type'] ?? '(no content type)')}`);
    lines.push(`  answer body: ${clip(response.body, 800)}`);
  }
  for (const line of logs) lines.push(`  server log: ${clip(line, 2000)}`);
  return lines.join('\n');
}

/** The problem with an answer, or undefined when it keeps every rule. */
export function checkAnswer(spec: RequestSpec, response: LightMyRequestResponse): string | undefined {
  const status = response.statusCode;
  const type = String(response.headers['content-type'] ?? '');
  if (status >= 500) return `server error ${status}`;
  if (status < 200) return `unexpected status ${status}`;
  if (status >= 400) {
    if (!/^application\/json/i.test(type)) return `a ${status} without a JSON content type`;
    if (spec.method === 'HEAD') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return `a ${status} whose body is not JSON`;
    }
    const { errorcode, message } = (body ?? {}) as { errorcode?: unknown; message?: unknown };
    if (errorcode !== status) return `a ${status} whose errorcode is ${JSON.stringify(errorcode)}`;
    if (typeof message !== 'string' || message.length === 0) return `a ${status} without a message`;
    return undefined;
  }
  if (status >= 200 && status < 300 && JSON_SERVICES.has(spec.target) && spec.method !== 'HEAD' && status !== 204) {
    if (!/^application\/json/i.test(type)) return `a ${status} from a service without a JSON content type`;
    try {
      JSON.parse(response.body);
    } catch {
      return `a ${status} from a service whose body is not JSON`;
    }
  }
  return undefined;
}

async function inject(harness: FuzzHarness, sent: SentRequest): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([harness.server.app.inject(sent.options), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function count(stats: Stats, spec: RequestSpec, status: number, ms: number): void {
  stats.requests++;
  stats.byStatus.set(status, (stats.byStatus.get(status) ?? 0) + 1);
  const counts = stats.byTarget.get(spec.target) ?? { ok: 0, redirect: 0, rejected: 0, ms: 0 };
  counts.ms += ms;
  if (status < 300) counts.ok++;
  else if (status < 400) counts.redirect++;
  else counts.rejected++;
  stats.byTarget.set(spec.target, counts);
}

/** A process an accepted `async=true` request started: remembered for later requests, and waited for. */
async function settleStartedProcess(harness: FuzzHarness, spec: RequestSpec, response: LightMyRequestResponse): Promise<void> {
  if (response.statusCode >= 300 || spec.method === 'HEAD' || !/^application\/json/.test(String(response.headers['content-type']))) return;
  const processId = (JSON.parse(response.body || '{}') as { processId?: unknown } | null)?.processId;
  if (typeof processId !== 'string') return;
  harness.refs.process.unshift(processId);
  harness.refs.process.length = Math.min(harness.refs.process.length, 10);
  await harness.settleProcess(processId);
}

/**
 * One batch, one request after the other: every answer checked on its own, the state fingerprint compared across
 * every refused request. Or, `concurrent`, all at once: every answer checked, and the state compared across the
 * batch when all were refused. Then a ping with fresh credentials shows the server still answers.
 */
export async function runBatch(harness: FuzzHarness, batch: RequestSpec[], stats: Stats, concurrent = false): Promise<void> {
  const { server } = harness;
  let before = await harness.fingerprint();
  if (concurrent) {
    const logStart = server.logs.length;
    const sent = batch.map((spec) => harness.build(spec));
    const started = performance.now();
    const responses = await Promise.all(
      sent.map((request, index) =>
        inject(harness, request).catch((error: unknown) => {
          throw new FuzzFailure(`a concurrent request failed without an answer: ${(error as Error).message}\n${describe(batch[index]!, request, undefined, server.logs.slice(logStart))}`);
        }),
      ),
    );
    const ms = (performance.now() - started) / batch.length;
    for (const [index, response] of responses.entries()) {
      const spec = batch[index]!;
      count(stats, spec, response.statusCode, ms);
      const problem = checkAnswer(spec, response);
      if (problem) throw new FuzzFailure(`${problem} (sent with ${batch.length - 1} others at once)\n${describe(spec, sent[index]!, response, server.logs.slice(logStart))}`);
    }
    for (const [index, response] of responses.entries()) await settleStartedProcess(harness, batch[index]!, response);
    if (responses.every((response) => response.statusCode >= 400)) {
      stats.stateChecks++;
      const after = await harness.fingerprint();
      if (after !== before) throw new FuzzFailure(`${batch.length} concurrent requests, all refused, changed the state\n  before: ${before}\n  after:  ${after}`);
    }
  } else {
    for (const spec of batch) {
      const sent = harness.build(spec);
      const logStart = server.logs.length;
      let response: LightMyRequestResponse;
      const started = performance.now();
      try {
        response = await inject(harness, sent);
      } catch (error) {
        throw new FuzzFailure(`the request failed without an answer: ${(error as Error).message}\n${describe(spec, sent, undefined, server.logs.slice(logStart))}`);
      }
      const status = response.statusCode;
      count(stats, spec, status, performance.now() - started);
      const problem = checkAnswer(spec, response);
      if (problem) throw new FuzzFailure(`${problem}\n${describe(spec, sent, response, server.logs.slice(logStart))}`);

      if (status >= 400) {
        const after = await harness.fingerprint();
        stats.stateChecks++;
        if (after !== before) {
          throw new FuzzFailure(`a refused request (${status}) changed the state\n  before: ${before}\n  after:  ${after}\n${describe(spec, sent, response, server.logs.slice(logStart))}`);
        }
        continue;
      }
      // Accepted: it may have changed state, legitimately. Background work it started must finish first.
      await settleStartedProcess(harness, spec, response);
      // A generated logout (or a login on top of a session) may have ended a session the harness hands out.
      if (SESSION_CHANGING.has(spec.target)) await harness.renewCredentials();
      before = await harness.fingerprint();
    }
  }

  await harness.renewCredentials();
  const ping = await server.app.inject({ method: 'POST', url: '/services/ping', headers: harness.credentials.admin.headers, remoteAddress: '10.255.255.254' });
  if (ping.statusCode !== 200 || ping.body !== '{}') throw new FuzzFailure(`the server stopped answering: ping gave ${ping.statusCode} ${clip(ping.body)}`);
  server.logs.length = 0;
  await harness.refresh();
}
