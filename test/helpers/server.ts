import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { DialectName } from '../../src/db/database.js';
import type { Clock } from '../../src/lib/clock.js';
import { createTestSchema, dropTestSchema, postgresUnavailableReason } from './postgres.js';

export const DIALECTS: DialectName[] = ['sqlite', 'postgres'];

/**
 * Runs a suite once per database dialect. Without PostgreSQL the postgres suite is skipped visibly, except under
 * CI=true, where a missing service is a failure rather than a silent skip.
 *
 * `await` it before registering any other suite in the file: a suite registered before the await can let the run
 * end (npm test uses --test-force-exit) before these suites exist, and they would never run, silently.
 */
export async function forEachDialect(suite: (dialect: DialectName) => void): Promise<void> {
  const unavailable = await postgresUnavailableReason();
  if (unavailable && process.env.CI === 'true') throw new Error(`${unavailable} (required under CI=true)`);
  for (const dialect of DIALECTS) {
    const skip = dialect === 'postgres' && unavailable ? unavailable : false;
    describe(dialect, { skip }, () => suite(dialect));
  }
}

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(private current = Date.parse('2026-01-15T09:00:00Z')) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export interface TestServer {
  app: FastifyInstance;
  clock: FakeClock;
  dataDir: string;
  /** PostgreSQL: the URL of the server's own schema. */
  databaseUrl?: string;
  /** Every JSON log line the server wrote. */
  logs: string[];
  close(): Promise<void>;
}

let schemaCounter = 0;

/** A Damson app on a fresh data dir (and, for postgres, a fresh schema), configured through the real env parser. */
export async function startServer(dialect: DialectName, env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'damson-test-'));
  const schema = `damson_test_${process.pid}_${++schemaCounter}_${Date.now()}`;
  const databaseUrl = dialect === 'postgres' ? await createTestSchema(schema) : undefined;
  const config = loadConfig({
    DAMSON_DATA_DIR: dataDir,
    DAMSON_LOG_LEVEL: 'info',
    ...(databaseUrl ? { DAMSON_DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const clock = new FakeClock();
  const app = await buildApp({ config, clock, logStream });
  await app.ready();
  return {
    app,
    clock,
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    logs,
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (databaseUrl) await dropTestSchema(schema);
    },
  };
}

export const PASSWORD = 'correct horse battery staple';
let userCounter = 0;

/** A new user with a unique name (tests share a server, so names must not collide). */
export async function createUser(
  server: TestServer,
  options: { username?: string; password?: string; admin?: boolean; email?: string } = {},
): Promise<{ username: string; password: string; id: string }> {
  const username = options.username ?? `user${++userCounter}_${Math.random().toString(36).slice(2, 8)}`;
  const password = options.password ?? PASSWORD;
  const user = await server.app.damson.users.addUser({ username, password, admin: options.admin, email: options.email });
  return { username, password, id: user.id };
}

/** Form fields as a urlencoded body; a list is the field repeated (`path=/A&path=/B`). */
export function form(values: FormValues): { headers: Record<string, string>; payload: string } {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) for (const item of typeof value === 'string' ? [value] : value) body.append(name, item);
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body.toString() };
}

export type FormValues = Record<string, string | readonly string[]>;

/**
 * `POST /services/<service>` with form fields, as the suite's session (its cookie and CSRF token), or with the
 * `headers` given instead (another user's session).
 */
export function postForm(suite: { server: TestServer; session: Session }, service: string, values: FormValues, headers: Record<string, string> = suite.session.headers) {
  const body = form(values);
  return suite.server.app.inject({ method: 'POST', url: `/services/${service}`, headers: { ...headers, ...body.headers }, payload: body.payload });
}

export interface Session {
  token: string;
  csrfToken: string;
  /** Headers for a cookie-authenticated request with the CSRF token. */
  headers: Record<string, string>;
  /** Headers for a cookie-authenticated request without the CSRF token. */
  cookieOnly: Record<string, string>;
}

export function sessionCookieOf(response: LightMyRequestResponse): string | undefined {
  return response.cookies.find((cookie) => cookie.name === 'authToken')?.value;
}

export async function login(server: TestServer, username: string, password: string, extraHeaders: Record<string, string> = {}): Promise<Session> {
  const { headers, payload } = form({ username, password });
  const response = await server.app.inject({ method: 'POST', url: '/services/login', headers: { ...headers, ...extraHeaders }, payload });
  const body = response.json() as { loginSuccess: boolean; csrfToken: string };
  const token = sessionCookieOf(response);
  if (!body.loginSuccess || !token) throw new Error(`login failed: ${response.body}`);
  return {
    token,
    csrfToken: body.csrfToken,
    headers: { cookie: `authToken=${token}`, 'x-csrf-token': body.csrfToken },
    cookieOnly: { cookie: `authToken=${token}` },
  };
}

/**
 * A server with a logged-in user for the tests of one suite: started in `before`, closed in `after`. Its fields
 * are set once `before` has run, so read them inside tests and hooks.
 */
export function serverWithSession(dialect: DialectName): { server: TestServer; session: Session } {
  const suite = {} as { server: TestServer; session: Session };
  before(async () => {
    suite.server = await startServer(dialect);
    const { username } = await createUser(suite.server);
    suite.session = await login(suite.server, username, PASSWORD);
  });
  after(() => suite.server.close());
  return suite;
}

export async function apiLogin(server: TestServer, username: string, password: string): Promise<string> {
  const response = await server.app.inject({ method: 'POST', url: '/services/apilogin', ...form({ username, password }) });
  const body = response.json() as { loginSuccess: boolean; authToken: string };
  if (!body.loginSuccess) throw new Error(`apilogin failed: ${response.body}`);
  return body.authToken;
}
