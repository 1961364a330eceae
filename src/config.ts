import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

/** Every setting Damson reads, validated once at start. README "Configuration" documents each one. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; undefined means the embedded SQLite file in `dataDir`. */
  databaseUrl: string | undefined;
  /** PostgreSQL connections per process; every node holds up to this many. */
  databasePoolSize: number;
  /** Path prefix such as `/app`; empty string for none. Never ends with `/`. */
  basePath: string;
  /** Absolute URL of the base (including base path) used for emitted URLs; undefined = derived per request. */
  publicUrl: string | undefined;
  /** Passed to Fastify's `trustProxy`: false, true, a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  adminPassword: string | undefined;
  /** Where `/logout` goes without a valid `logoutSuccessUrl`: a path on this server or an absolute URL. */
  landingPage: string;
  /** Origins allowed as `logoutSuccessUrl` targets; `'*'` allows any http(s) URL (the original behaviour). */
  logoutRedirectAllowlist: string[] | '*';
  corsOrigins: string[];
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginThrottleWindowMinutes: number;
  /** Legacy Assets mode: service errors are sent with HTTP 200 (the body still carries `errorcode`). */
  errorsAsHttp200: boolean;
  logLevel: string;
  /** Largest file `create`/`update` accept; larger uploads get 413 before anything is stored. */
  maxUploadBytes: number;
  /** How long an `appendRequestSecret` URL works. */
  requestSecretMinutes: number;
  /** Limit for each external tool run (exiftool, ffmpeg, pdftoppm). */
  toolTimeoutSeconds: number;
  /** Background jobs (renditions) run at once in this process. */
  workerConcurrency: number;
  /** SQLite: threads that run searches off the event loop (0: on it). */
  searchThreads: number;
  /** How long a worker holds a job; if it dies, another worker takes the job over after this. */
  jobLeaseSeconds: number;
  /** Seconds before a failed job's first retry; each later retry waits longer. */
  jobRetrySeconds: number;
  /** Login sessions a user may hold at once (0 = no limit); a login beyond it ends that user's least recently used one. */
  maxSessionsPerUser: number;
  /** A connection on which nothing moves for this long is closed (slow or vanished clients). */
  idleTimeoutSeconds: number;
  /** The longest a request may take to arrive in full, headers and body (0 = no limit). */
  requestTimeoutSeconds: number;
  /** `api` serves HTTP only, `worker` runs background jobs only (and health checks), `all` does both. */
  role: 'api' | 'worker' | 'all';
  /** `redis://…`: sessions, API tokens and login throttling live in Redis, shared by every node. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key, so several deployments (or tests) can share one Redis. */
  redisKeyPrefix: string;
  /** Set when `DAMSON_S3_BUCKET` is: files live in S3-compatible object storage instead of `dataDir/blobs`. */
  s3: S3Config | undefined;
}

export interface S3Config {
  /** Undefined = AWS's own endpoint for the region. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  /** Undefined = the AWS SDK's default credential chain (environment, profile, instance role). */
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO, s3rver and most non-AWS stores need. */
  forcePathStyle: boolean;
  /** Prepended to every object key, e.g. `damson/`. */
  prefix: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads the configuration from the environment. Each `NAME` may instead be given as `NAME_FILE`
 * (a path whose content is the value), so secrets can come from mounted files rather than the environment.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => readSetting(env, name, problems);

  const basePath = parseBasePath(read('DAMSON_BASE_PATH'), problems);
  const config: Config = {
    port: parseInteger(read('DAMSON_PORT'), 'DAMSON_PORT', 8080, 0, 65535, problems),
    host: read('DAMSON_HOST') || '127.0.0.1',
    dataDir: resolve(read('DAMSON_DATA_DIR') || './data'),
    databaseUrl: parseDatabaseUrl(read('DAMSON_DATABASE_URL'), problems),
    databasePoolSize: parseInteger(read('DAMSON_DATABASE_POOL_SIZE'), 'DAMSON_DATABASE_POOL_SIZE', 10, 1, 1000, problems),
    basePath,
    publicUrl: parsePublicUrl(read('DAMSON_PUBLIC_URL'), problems),
    trustProxy: parseTrustProxy(read('DAMSON_TRUST_PROXY'), problems),
    adminPassword: parseAdminPassword(read('DAMSON_ADMIN_PASSWORD'), problems),
    landingPage: parseLandingPage(read('DAMSON_LANDING_PAGE'), basePath, problems),
    logoutRedirectAllowlist: parseRedirectAllowlist(read('DAMSON_LOGOUT_REDIRECT_ALLOWLIST'), problems),
    corsOrigins: parseOrigins(read('DAMSON_CORS_ORIGINS'), 'DAMSON_CORS_ORIGINS', problems),
    sessionIdleMinutes: parseInteger(read('DAMSON_SESSION_IDLE_MINUTES'), 'DAMSON_SESSION_IDLE_MINUTES', 30, 1, 60 * 24 * 30, problems),
    sessionMaxHours: parseInteger(read('DAMSON_SESSION_MAX_HOURS'), 'DAMSON_SESSION_MAX_HOURS', 12, 1, 24 * 365, problems),
    loginMaxFailuresPerAccount: parseInteger(read('DAMSON_LOGIN_MAX_FAILURES_PER_ACCOUNT'), 'DAMSON_LOGIN_MAX_FAILURES_PER_ACCOUNT', 10, 1, 100, problems),
    loginMaxFailuresPerIp: parseInteger(read('DAMSON_LOGIN_MAX_FAILURES_PER_IP'), 'DAMSON_LOGIN_MAX_FAILURES_PER_IP', 100, 1, 100_000, problems),
    loginThrottleWindowMinutes: parseInteger(read('DAMSON_LOGIN_THROTTLE_WINDOW_MINUTES'), 'DAMSON_LOGIN_THROTTLE_WINDOW_MINUTES', 15, 1, 24 * 60, problems),
    errorsAsHttp200: parseBoolean(read('DAMSON_ERRORS_AS_HTTP_200'), 'DAMSON_ERRORS_AS_HTTP_200', false, problems),
    logLevel: parseLogLevel(read('DAMSON_LOG_LEVEL'), problems),
    maxUploadBytes: parseInteger(read('DAMSON_MAX_UPLOAD_MB'), 'DAMSON_MAX_UPLOAD_MB', 10_240, 1, 1_048_576, problems) * 1024 * 1024,
    requestSecretMinutes: parseInteger(read('DAMSON_REQUEST_SECRET_MINUTES'), 'DAMSON_REQUEST_SECRET_MINUTES', 30, 1, 7 * 24 * 60, problems),
    toolTimeoutSeconds: parseInteger(read('DAMSON_TOOL_TIMEOUT_SECONDS'), 'DAMSON_TOOL_TIMEOUT_SECONDS', 120, 1, 24 * 3600, problems),
    workerConcurrency: parseInteger(read('DAMSON_WORKER_CONCURRENCY'), 'DAMSON_WORKER_CONCURRENCY', 2, 0, 64, problems),
    searchThreads: parseInteger(read('DAMSON_SEARCH_THREADS'), 'DAMSON_SEARCH_THREADS', 2, 0, 64, problems),
    jobLeaseSeconds: parseInteger(read('DAMSON_JOB_LEASE_SECONDS'), 'DAMSON_JOB_LEASE_SECONDS', 600, 1, 24 * 3600, problems),
    jobRetrySeconds: parseInteger(read('DAMSON_JOB_RETRY_SECONDS'), 'DAMSON_JOB_RETRY_SECONDS', 2, 1, 3600, problems),
    maxSessionsPerUser: parseInteger(read('DAMSON_MAX_SESSIONS_PER_USER'), 'DAMSON_MAX_SESSIONS_PER_USER', 0, 0, 10_000, problems),
    idleTimeoutSeconds: parseInteger(read('DAMSON_IDLE_TIMEOUT_SECONDS'), 'DAMSON_IDLE_TIMEOUT_SECONDS', 60, 1, 24 * 3600, problems),
    requestTimeoutSeconds: parseInteger(read('DAMSON_REQUEST_TIMEOUT_SECONDS'), 'DAMSON_REQUEST_TIMEOUT_SECONDS', 3600, 0, 7 * 24 * 3600, problems),
    role: parseRole(read('DAMSON_ROLE'), problems),
    redisUrl: parseRedisUrl(read('DAMSON_REDIS_URL'), problems),
    redisKeyPrefix: parseRedisPrefix(read('DAMSON_REDIS_PREFIX'), problems),
    s3: parseS3(read, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseRole(raw: string | undefined, problems: string[]): Config['role'] {
  const role = (raw ?? '').trim().toLowerCase() || 'all';
  if (role === 'api' || role === 'worker' || role === 'all') return role;
  problems.push(`DAMSON_ROLE must be api, worker or all (got "${raw}")`);
  return 'all';
}

function parseRedisUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^rediss?:\/\/[^\s]+$/i.test(raw)) {
    problems.push('DAMSON_REDIS_URL must be a redis:// or rediss:// URL');
    return undefined;
  }
  return raw;
}

function parseRedisPrefix(raw: string | undefined, problems: string[]): string {
  if (raw === undefined || raw === '') return 'damson:';
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(raw)) problems.push('DAMSON_REDIS_PREFIX may hold only letters, digits and ._:- (at most 64)');
  return raw;
}

function parseS3(read: (name: string) => string | undefined, problems: string[]): S3Config | undefined {
  const bucket = read('DAMSON_S3_BUCKET');
  const others = ['DAMSON_S3_ENDPOINT', 'DAMSON_S3_REGION', 'DAMSON_S3_ACCESS_KEY_ID', 'DAMSON_S3_SECRET_ACCESS_KEY', 'DAMSON_S3_PREFIX'];
  if (bucket === undefined || bucket === '') {
    const stray = others.filter((name) => read(name));
    if (stray.length > 0) problems.push(`${stray.join(', ')} set without DAMSON_S3_BUCKET`);
    return undefined;
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`DAMSON_S3_BUCKET must be a valid bucket name (got "${bucket}")`);
  const endpoint = read('DAMSON_S3_ENDPOINT') || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/i.test(endpoint)) problems.push('DAMSON_S3_ENDPOINT must be an http(s) URL');
  const accessKeyId = read('DAMSON_S3_ACCESS_KEY_ID') || undefined;
  const secretAccessKey = read('DAMSON_S3_SECRET_ACCESS_KEY') || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) problems.push('DAMSON_S3_ACCESS_KEY_ID and DAMSON_S3_SECRET_ACCESS_KEY go together');
  const prefix = read('DAMSON_S3_PREFIX') ?? '';
  if (prefix !== '' && !/^[A-Za-z0-9._\/-]+\/$/.test(prefix)) problems.push('DAMSON_S3_PREFIX must end with / and hold only letters, digits and ._-/');
  return {
    endpoint,
    region: read('DAMSON_S3_REGION') || 'us-east-1',
    bucket,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: parseBoolean(read('DAMSON_S3_FORCE_PATH_STYLE'), 'DAMSON_S3_FORCE_PATH_STYLE', endpoint !== undefined, problems),
    prefix,
  };
}

function readSetting(env: Env, name: string, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return direct;
  if (direct !== undefined && direct !== '') {
    problems.push(`${name} and ${name}_FILE are both set; use one`);
    return direct;
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function parseInteger(raw: string | undefined, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return value;
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function parseBoolean(raw: string | undefined, name: string, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined || raw === '') return fallback;
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return fallback;
}

function parseBasePath(raw: string | undefined, problems: string[]): string {
  if (raw === undefined || raw === '' || raw === '/') return '';
  const trimmed = raw.replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed)) {
    problems.push(`DAMSON_BASE_PATH must look like /app or /tenants/edu (got "${raw}")`);
    return '';
  }
  return trimmed;
}

function parseDatabaseUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^postgres(ql)?:\/\//i.test(raw)) {
    // Never echo the value: it usually holds a password.
    problems.push('DAMSON_DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite store)');
    return undefined;
  }
  return raw;
}

function parseHttpUrl(raw: string): URL | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function parsePublicUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const url = parseHttpUrl(raw);
  if (!url || url.search || url.hash || url.username) {
    problems.push(`DAMSON_PUBLIC_URL must be an absolute http(s) URL without query or credentials, such as https://dam.example.com/app (got "${raw}")`);
    return undefined;
  }
  return url.href.replace(/\/+$/, '');
}

function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string[] {
  if (raw === undefined || raw === '') return false;
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  if (/^\d+$/.test(word)) return Number(word);
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const invalid = entries.filter((entry) => !isAddressOrCidr(entry));
  if (invalid.length > 0 || entries.length === 0) {
    problems.push(`DAMSON_TRUST_PROXY must be true, false, a hop count, or a comma-separated list of IP addresses/CIDRs (bad: ${invalid.join(', ') || raw})`);
    return false;
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d+$/.test(bits) && Number(bits) <= max;
}

export const PASSWORD_MIN_LENGTH = 8;

function parseAdminPassword(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < PASSWORD_MIN_LENGTH) {
    problems.push(`DAMSON_ADMIN_PASSWORD must have at least ${PASSWORD_MIN_LENGTH} characters`);
    return undefined;
  }
  return raw;
}

function parseLandingPage(raw: string | undefined, basePath: string, problems: string[]): string {
  if (raw === undefined || raw === '') return `${basePath}/`;
  const isPath = raw.startsWith('/') && !raw.startsWith('//') && !raw.includes('\\');
  if (!/^[\x21-\x7e]+$/.test(raw) || !(isPath || parseHttpUrl(raw))) {
    problems.push(`DAMSON_LANDING_PAGE must be a path such as /welcome or an absolute http(s) URL (got "${raw}")`);
    return `${basePath}/`;
  }
  return raw;
}

function parseOrigins(raw: string | undefined, name: string, problems: string[]): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const origins: string[] = [];
  for (const entry of raw.split(',').map((value) => value.trim()).filter(Boolean)) {
    const url = parseHttpUrl(entry);
    // An origin is scheme://host[:port] and nothing else; anything more is almost certainly a mistake.
    if (!url || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      problems.push(`${name}: "${entry}" is not an origin such as https://app.example.com`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

function parseRedirectAllowlist(raw: string | undefined, problems: string[]): string[] | '*' {
  if (raw?.trim() === '*') return '*';
  return parseOrigins(raw, 'DAMSON_LOGOUT_REDIRECT_ALLOWLIST', problems);
}

function parseLogLevel(raw: string | undefined, problems: string[]): string {
  if (raw === undefined || raw === '') return 'info';
  if (!LOG_LEVELS.includes(raw)) {
    problems.push(`DAMSON_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${raw}")`);
    return 'info';
  }
  return raw;
}

/** Booleans on the wire (Assets clients send true/false, PHP clients 1/0). */
export function isTruthyWord(value: string | undefined): boolean {
  return value !== undefined && TRUE_WORDS.has(value.trim().toLowerCase());
}
