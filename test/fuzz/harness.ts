import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import sharp from 'sharp';
import type { DialectName } from '../../src/db/database.js';
import { apiLogin, createUser, login, type Session, startServer, type TestServer } from '../helpers/server.js';
import { type BodySpec, type MultipartPart, mutate, type RequestSpec, REF_PATTERN, type RefKind } from './model.js';

/**
 * The server side of the hostile-input property: a seeded Damson app (no background worker, so nothing changes
 * state behind the test's back), the credentials the generated requests may present, the live values generated
 * requests refer to (ids, paths, signed URLs), and a fingerprint of everything a rejected request must not touch.
 */

/** An address the generated requests never use, so fuzzed logins cannot throttle the harness's own logins. */
const HARNESS_ADDRESS = '10.255.255.254';
/** Below this many assets the library is seeded again; above the cap it is emptied and seeded again. */
const MIN_ASSETS = 6;
const MAX_ASSETS = 200;

interface Account {
  username: string;
  password: string;
}

export interface Credentials {
  admin: Session;
  adminToken: string;
  plain: Session;
  plainToken: string;
}

export type Refs = Record<RefKind, string[]>;

export interface SentRequest {
  options: InjectOptions & { method: string; url: string; headers: Record<string, string | string[]> };
  payloadBytes: number;
}

/** The rows a refused request must leave alone, column by column. */
const DIGESTED: ReadonlyArray<readonly [string, readonly string[], string]> = [
  [
    'assets',
    ['id', 'asset_path', 'asset_path_key', 'folder_path', 'filename', 'extension', 'asset_domain', 'mime_type', 'blob_key', 'file_size', 'sha256', 'version_number', 'content_etag', 'preview_etag', 'preview_state', 'thumbnail_state', 'rendition_error', 'created_at', 'modified_at', 'file_modified_at', 'creator', 'modifier', 'file_modifier', 'metadata'],
    'id',
  ],
  ['folders', ['id', 'path', 'path_key', 'parent_path', 'name', 'created_by'], 'path_key'],
  ['asset_versions', ['asset_id', 'version_number', 'blob_key', 'file_size', 'sha256', 'filename', 'mime_type', 'created_by', 'metadata'], 'asset_id, version_number'],
  ['renditions', ['asset_id', 'name', 'content_etag', 'blob_key'], 'asset_id, name'],
  ['users', ['id', 'username', 'enabled', 'password_hash', 'authorities', 'groups'], 'id'],
];

export class FuzzHarness {
  readonly refs: Refs = { id: [], image: [], path: [], folder: [], name: [], process: [], etag: [], url: [], user: [], password: [] };
  private fingerprintCache: { changes: number; value: string } | undefined;
  /** What the harness itself spent, for the summary: seeding rounds, logins to replace ended sessions, fingerprints. */
  readonly work = { seeds: 0, logins: 0, fingerprints: 0, fingerprintMs: 0 };

  private constructor(
    readonly server: TestServer,
    /** Where this server keeps its database (SQLite), blobs and staged files. */
    readonly dataDir: string,
    readonly dialect: DialectName,
    private readonly accounts: { admin: Account; plain: Account; victim: Account },
    readonly credentials: Credentials,
    private readonly images: { jpeg: Buffer; png: Buffer },
  ) {}

  static async start(dialect: DialectName): Promise<FuzzHarness> {
    // In memory where the system has it: thousands of small transactions and blob writes each fsync, and the
    // property is about answers, not durability.
    const dataDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'damson-fuzz-'));
    // `api` role: the job worker never starts, so no rendition appears (and no blob is written) after an answer.
    const server = await startServer(dialect, { DAMSON_ROLE: 'api', DAMSON_LOG_LEVEL: 'warn', DAMSON_DATA_DIR: dataDir });
    const admin = await createUser(server, { admin: true });
    const plain = await createUser(server);
    const victim = await createUser(server);
    const credentials = {
      admin: await login(server, admin.username, admin.password, {}),
      adminToken: await apiLogin(server, admin.username, admin.password),
      plain: await login(server, plain.username, plain.password),
      plainToken: await apiLogin(server, plain.username, plain.password),
    };
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 60 } } }).jpeg().toBuffer();
    const png = await sharp({ create: { width: 20, height: 30, channels: 4, background: { r: 0, g: 90, b: 200, alpha: 0.5 } } }).png().toBuffer();
    const harness = new FuzzHarness(server, dataDir, dialect, { admin, plain, victim }, credentials, { jpeg, png });
    // Generated logins try the victim's account only: failures there must not throttle the accounts the harness uses.
    harness.refs.user.push(victim.username);
    harness.refs.password.push(victim.password);
    await harness.seed();
    await harness.refresh();
    return harness;
  }

  get jpeg(): Buffer {
    return this.images.jpeg;
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  // ---- seeding -------------------------------------------------------------------------------------------------

  private async adminPost(url: string, payload: Buffer | string, contentType: string): Promise<LightMyRequestResponse> {
    const response = await this.server.app.inject({
      method: 'POST',
      url,
      headers: { ...this.credentials.admin.headers, 'content-type': contentType },
      payload,
      remoteAddress: HARNESS_ADDRESS,
    });
    if (response.statusCode !== 200) throw new Error(`seeding ${url} failed: ${response.statusCode} ${response.body}`);
    return response;
  }

  private async createWithFile(fields: Record<string, string>, file: { name: string; type: string; content: Buffer }): Promise<{ id: string; contentEtag: number }> {
    const boundary = '----damson-seed';
    const parts: MultipartPart[] = [
      ...Object.entries(fields).map(([name, value]) => ({ name, content: value })),
      { name: 'Filedata', filename: file.name, contentType: file.type, content: file.content },
    ];
    const response = await this.adminPost('/services/create', multipartBody(parts, boundary, 'none'), `multipart/form-data; boundary=${boundary}`);
    const hit = response.json() as { id: string; metadata: { contentETag?: number } };
    const asset = await this.server.app.damson.assets.get(hit.id);
    return { id: hit.id, contentEtag: asset.contentEtag };
  }

  /** A small library: placeholders with metadata, a collection, images with renditions and versions, text and HTML files. */
  async seed(): Promise<void> {
    this.work.seeds++;
    const form = (values: Record<string, string>) => new URLSearchParams(values).toString();
    const urlencoded = 'application/x-www-form-urlencoded';
    await this.adminPost('/services/createFolder', 'path=%2FFuzz%2FEmpty&path=%2FFuzz%2FDeep%2FDeeper&path=%2F%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20f%C3%B6lder', urlencoded);
    const placeholders = [
      { folderPath: '/Fuzz/Docs', name: 'report.txt', metadata: { description: 'A harbour at dawn', tags: ['sea', 'boats'], status: 'Draft', rating: 3, cf_region: 'north' } },
      { folderPath: '/Fuzz/Docs', name: 'plan.pdf', metadata: { title: 'The plan', tags: ['Ice Cream', 'C++'], created: '2021-06-01T10:00:00Z' } },
      { folderPath: '/Ünïcödé földer', name: 'ünïcödé náme 🎉.txt', metadata: { description: 'émoji ✓', copyright: '© nobody' } },
      { folderPath: '/Fuzz/Deep/Deeper', name: 'deep.doc', metadata: { licenseEndDate: '2030-01-01', usageRights: 'none' } },
    ];
    for (const { folderPath, name, metadata } of placeholders) {
      await this.adminPost('/services/create', form({ folderPath, name, metadata: JSON.stringify(metadata) }), urlencoded);
    }
    await this.adminPost('/services/create', form({ folderPath: '/Fuzz', name: 'Board.collection' }), urlencoded);

    const renditions = this.server.app.damson.renditions;
    const photo = await this.createWithFile({ folderPath: '/Fuzz/Photos', description: 'red square', tags: 'sea,boats' }, { name: 'photo.jpg', type: 'image/jpeg', content: this.images.jpeg });
    // A second version of the photo, so history and `/file?version=` have something to find.
    const boundary = '----damson-seed';
    await this.adminPost(
      '/services/update',
      multipartBody([{ name: 'id', content: photo.id }, { name: 'Filedata', filename: 'photo.jpg', contentType: 'image/jpeg', content: Buffer.concat([this.images.jpeg, Buffer.from('tail')]) }], boundary, 'none'),
      `multipart/form-data; boundary=${boundary}`,
    );
    const updated = await this.server.app.damson.assets.get(photo.id);
    await renditions.renderStandard(photo.id, updated.contentEtag);
    const png = await this.createWithFile({ folderPath: '/Fuzz/Photos' }, { name: 'alpha.png', type: 'image/png', content: this.images.png });
    await renditions.renderStandard(png.id, png.contentEtag);
    await this.createWithFile({ folderPath: '/Fuzz/Files' }, { name: 'notes.txt', type: 'text/plain', content: Buffer.from('plain text\n'.repeat(50)) });
    await this.createWithFile({ folderPath: '/Fuzz/Files' }, { name: 'page.html', type: 'text/html', content: Buffer.from('<script>alert(1)</script>') });
    // Signed URLs (requestSecret) for the generated requests to present as they are, or damaged.
    const search = await this.server.app.inject({
      method: 'GET',
      url: '/services/search?q=*:*&num=20&appendRequestSecret=true',
      headers: this.credentials.admin.cookieOnly,
      remoteAddress: HARNESS_ADDRESS,
    });
    const hits = (search.json() as { hits: Array<Record<string, unknown>> }).hits;
    this.refs.url = hits
      .flatMap((hit) => [hit.originalUrl, hit.previewUrl, hit.thumbnailUrl])
      .filter((url): url is string => typeof url === 'string')
      .map((url) => url.replace(/^https?:\/\/[^/]+/, ''));
  }

  /** Reloads the values generated requests refer to; seeds again when the library ran dry or grew too big. */
  async refresh(): Promise<void> {
    const db = this.server.app.damson.database.db;
    const count = Number((await db.selectFrom('assets').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    if (count > MAX_ASSETS) {
      await this.adminPost('/services/remove', 'q=*:*', 'application/x-www-form-urlencoded');
    }
    if (count < MIN_ASSETS || count > MAX_ASSETS) await this.seed();
    const oldest = await db.selectFrom('assets').select(['id', 'asset_path', 'folder_path', 'filename', 'content_etag']).orderBy('created_at').orderBy('id').limit(25).execute();
    const newest = await db.selectFrom('assets').select(['id', 'asset_path', 'folder_path', 'filename', 'content_etag']).orderBy('created_at', 'desc').orderBy('id').limit(10).execute();
    const assets = [...oldest, ...newest];
    const folders = await db.selectFrom('folders').select('path').orderBy('created_at').orderBy('path').limit(30).execute();
    this.refs.id = assets.map((asset) => asset.id);
    this.refs.path = assets.map((asset) => asset.asset_path);
    this.refs.name = assets.map((asset) => asset.filename);
    this.refs.etag = assets.map((asset) => String(asset.content_etag));
    this.refs.folder = [...new Set([...assets.map((asset) => asset.folder_path), ...folders.map((folder) => folder.path)])];
    const rendered = await db.selectFrom('assets').select('id').where('preview_state', '=', 'yes').orderBy('created_at').orderBy('id').limit(10).execute();
    this.refs.image = rendered.map((asset) => asset.id);
  }

  /** Every session and token the generated requests present still works (a generated logout may have ended one). */
  async renewCredentials(): Promise<void> {
    const { auth } = this.server.app.damson;
    const { credentials, accounts, work } = this;
    if (!(await auth.authenticate(credentials.admin.token))) credentials.admin = (work.logins++, await login(this.server, accounts.admin.username, accounts.admin.password, {}));
    if (!(await auth.authenticate(credentials.plain.token))) credentials.plain = (work.logins++, await login(this.server, accounts.plain.username, accounts.plain.password));
    if (!(await auth.authenticate(credentials.adminToken))) credentials.adminToken = (work.logins++, await apiLogin(this.server, accounts.admin.username, accounts.admin.password));
    if (!(await auth.authenticate(credentials.plainToken))) credentials.plainToken = (work.logins++, await apiLogin(this.server, accounts.plain.username, accounts.plain.password));
  }

  /** Waits until a background process (`async=true`) a generated request started has finished. */
  async settleProcess(processId: string): Promise<void> {
    const caller = { username: this.accounts.admin.username, superuser: true };
    for (let attempt = 0; attempt < 2000; attempt++) {
      let status: string;
      try {
        status = this.server.app.damson.processes.info(processId, caller).status;
      } catch {
        return;
      }
      if (status !== 'running') return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error(`process ${processId} did not finish`);
  }

  // ---- state fingerprint ---------------------------------------------------------------------------------------

  /**
   * Row counts, a hash of every asset, folder and version row, and the names of every blob and staged file.
   * On SQLite `total_changes()` (rows written by the app's one connection) tells cheaply that nothing was
   * written, so the full fingerprint is only recomputed after a write.
   */
  async fingerprint(): Promise<string> {
    const started = performance.now();
    try {
      return await this.computeFingerprint();
    } finally {
      this.work.fingerprints++;
      this.work.fingerprintMs += performance.now() - started;
    }
  }

  private async computeFingerprint(): Promise<string> {
    const changes = await this.totalChanges();
    if (changes !== undefined && this.fingerprintCache?.changes === changes) return this.fingerprintCache.value + this.files();
    const db = this.server.app.damson.database.db;
    const hash = createHash('sha256');
    for (const table of ['assets', 'folders', 'asset_versions', 'users', 'renditions', 'asset_values', 'auth_tokens'] as const) {
      const { n } = await db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      hash.update(`${table}=${Number(n)};`);
    }
    for (const [table, columns, order] of DIGESTED) hash.update(await this.tableDigest(table, columns, order));
    const value = `db:${hash.digest('hex')}`;
    if (changes !== undefined) this.fingerprintCache = { changes, value };
    return value + this.files();
  }

  /** Every row of a table as one string, built by the database (several times faster than rows into objects into JSON). */
  private async tableDigest(table: string, columns: readonly string[], order: string): Promise<string> {
    const row = columns.map((column) => `coalesce(CAST(${column} AS text), '~')`).join(` || '|' || `);
    const query =
      this.dialect === 'sqlite'
        ? `SELECT group_concat(r, '\n') AS g FROM (SELECT ${row} AS r FROM ${table} ORDER BY ${order})`
        : `SELECT string_agg(${row}, '\n' ORDER BY ${order}) AS g FROM ${table}`;
    const { rows } = await sql<{ g: string | null }>`${sql.raw(query)}`.execute(this.server.app.damson.database.db);
    return `${table}:${rows[0]?.g ?? ''};`;
  }

  private async totalChanges(): Promise<number | undefined> {
    if (this.dialect !== 'sqlite') return undefined;
    const { rows } = await sql<{ n: number }>`SELECT total_changes() AS n`.execute(this.server.app.damson.database.db);
    return Number(rows[0]!.n);
  }

  /** Every file under blobs/ and tmp/ (blob names are content hashes, so names say enough). */
  private files(): string {
    const list = (dir: string) => {
      try {
        return readdirSync(join(this.dataDir, dir), { recursive: true }).map(String).sort().join(',');
      } catch {
        return '';
      }
    };
    return ` blobs:${createHash('sha256').update(list('blobs')).digest('hex')} tmp:[${list('tmp')}]`;
  }

  // ---- requests ------------------------------------------------------------------------------------------------

  /** Replaces `⟦kind:n⟧` markers with live values (n modulo the number there are). */
  resolve(text: string): string {
    return text.replace(REF_PATTERN, (_marker, kind: RefKind, index: string, mutation: string | undefined) => {
      const values = this.refs[kind];
      if (values.length === 0) return kind === 'process' ? 'no-such-process' : '';
      return mutate(values[Number(index) % values.length]!, Number(mutation ?? 0));
    });
  }

  /** Turns a generated request into inject options: markers resolved, credentials attached, body encoded. */
  build(spec: RequestSpec): SentRequest {
    const { credentials } = this;
    const headers: Record<string, string | string[]> = {};
    const cookies: string[] = [];
    switch (spec.auth) {
      case 'none':
        break;
      case 'session':
        cookies.push(`authToken=${credentials.admin.token}`);
        headers['x-csrf-token'] = credentials.admin.csrfToken;
        break;
      case 'session-no-csrf':
        cookies.push(`authToken=${credentials.admin.token}`);
        break;
      case 'session-bad-csrf':
        cookies.push(`authToken=${credentials.admin.token}`);
        headers['x-csrf-token'] = credentials.plain.csrfToken;
        break;
      case 'session-as-bearer':
        headers.authorization = `Bearer ${credentials.admin.token}`;
        headers['x-csrf-token'] = credentials.admin.csrfToken;
        break;
      case 'api':
        headers.authorization = `Bearer ${credentials.adminToken}`;
        break;
      case 'api-cookie':
        cookies.push(`authToken=${credentials.adminToken}`);
        break;
      case 'plain-session':
        cookies.push(`authToken=${credentials.plain.token}`);
        headers['x-csrf-token'] = credentials.plain.csrfToken;
        break;
      case 'plain-api':
        headers.authorization = `Bearer ${credentials.plainToken}`;
        break;
      case 'bad-bearer-with-session':
        cookies.push(`authToken=${credentials.admin.token}`);
        headers['x-csrf-token'] = credentials.admin.csrfToken;
        headers.authorization = 'Bearer not-a-token';
        break;
      case 'garbage-cookie':
        cookies.push(`authToken=${credentials.admin.token.slice(0, -2)}xx`, 'authToken=', 'other=1');
        headers['x-csrf-token'] = credentials.admin.csrfToken;
        break;
    }
    for (const [name, rawValue] of spec.headers) {
      const value = this.resolve(rawValue);
      const key = name.toLowerCase();
      if (key === 'cookie') cookies.push(value);
      else if (headers[key] !== undefined && key !== 'authorization') headers[key] = [headers[key]!, value].flat();
      else headers[key] = value;
    }
    if (cookies.length > 0) headers.cookie = cookies.join('; ');

    const url = this.resolve(spec.path) + queryString(spec, (text) => this.resolve(text));
    const body = encodeBody(spec.body, (text) => this.resolve(text));
    if (body.contentType !== undefined && spec.contentType === undefined) headers['content-type'] = body.contentType;
    if (spec.contentType !== undefined && spec.contentType !== null) headers['content-type'] = spec.contentType;
    const options: SentRequest['options'] = { method: spec.method, url, headers, remoteAddress: spec.remoteAddress };
    if (body.payload !== undefined) options.payload = body.payload;
    return { options, payloadBytes: body.payload === undefined ? 0 : Buffer.byteLength(body.payload) };
  }
}

// ---- encoding ----------------------------------------------------------------------------------------------------

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as any client would send them). */
export function percentEncode(text: string, keep: RegExp = UNRESERVED): string {
  let out = '';
  for (const char of text) {
    if (char.length === 1 && keep.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function encodePair(name: string, value: string | null, style: 'strict' | 'plus' | 'raw' | 'broken'): string {
  const enc = (text: string) => {
    switch (style) {
      case 'strict':
        return percentEncode(text);
      case 'plus':
        return percentEncode(text, /[A-Za-z0-9\-._~ ]/).replace(/ /g, '+');
      case 'raw':
        return text;
      case 'broken':
        // Percent-encoding mistakes: a lone %, a non-hex escape, a cut-off multi-byte sequence.
        return `${percentEncode(text)}%${text.length % 2 ? 'G' : ''}${text.length % 3 ? 'E0%A4' : ''}`;
    }
  };
  return value === null ? enc(name) : `${enc(name)}=${enc(value)}`;
}

function queryString(spec: RequestSpec, resolve: (text: string) => string): string {
  const { query } = spec;
  if (query.kind === 'raw') return query.text === '' ? '' : `?${resolve(query.text)}`;
  if (query.pairs.length === 0) return '';
  return `?${query.pairs.map(([name, value]) => encodePair(resolve(name), value === null ? null : resolve(value), query.style)).join('&')}`;
}

function resolveJson(value: unknown, resolve: (text: string) => string): unknown {
  if (typeof value === 'string') return resolve(value);
  if (Array.isArray(value)) return value.map((item) => resolveJson(item, resolve));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[resolve(key)] = resolveJson(item, resolve);
    return out;
  }
  return value;
}

/** A multipart body, well formed or with one deliberate defect. */
export function multipartBody(parts: MultipartPart[], boundary: string, defect: string): Buffer {
  const eol = defect === 'lf-only' ? '\n' : '\r\n';
  const chunks: Buffer[] = [];
  if (defect === 'garbage-prefix') chunks.push(Buffer.from('garbage before the first boundary'));
  for (const part of parts) {
    const disposition =
      defect === 'no-disposition'
        ? ''
        : `Content-Disposition: form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}${eol}`;
    const type = part.contentType === undefined ? '' : `Content-Type: ${part.contentType}${eol}`;
    chunks.push(Buffer.from(`--${boundary}${eol}${disposition}${type}${part.extraHeader ?? ''}${eol}`));
    chunks.push(typeof part.content === 'string' ? Buffer.from(part.content) : part.content);
    chunks.push(Buffer.from(eol));
  }
  if (defect !== 'no-final-boundary' && defect !== 'truncated') chunks.push(Buffer.from(`--${boundary}--${eol}`));
  const body = Buffer.concat(chunks);
  return defect === 'truncated' ? body.subarray(0, Math.max(0, body.length - 7)) : body;
}

function encodeBody(body: BodySpec, resolve: (text: string) => string): { payload?: string | Buffer; contentType?: string } {
  switch (body.kind) {
    case 'none':
      return {};
    case 'urlencoded':
      return {
        payload: body.pairs.map(([name, value]) => encodePair(resolve(name), value === null ? null : resolve(value), body.style)).join('&'),
        contentType: 'application/x-www-form-urlencoded',
      };
    case 'json':
      return { payload: JSON.stringify(resolveJson(body.value, resolve)) ?? 'null', contentType: 'application/json' };
    case 'json-text':
      return { payload: resolve(body.text), contentType: 'application/json' };
    case 'multipart': {
      const parts = body.parts.map((part) => ({
        ...part,
        name: resolve(part.name),
        ...(part.filename === undefined ? {} : { filename: resolve(part.filename) }),
        content: typeof part.content === 'string' ? resolve(part.content) : part.content,
      }));
      const header = body.defect === 'no-boundary' ? 'multipart/form-data' : body.defect === 'wrong-boundary' ? `multipart/form-data; boundary=${body.boundary}x` : `multipart/form-data; boundary=${body.boundary}`;
      return { payload: multipartBody(parts, body.boundary, body.defect), contentType: header };
    }
    case 'raw':
      return { payload: resolve(body.text), contentType: body.contentType };
    case 'bytes':
      return { payload: Buffer.from(body.bytes), contentType: body.contentType };
    case 'oversized':
      return { payload: Buffer.alloc(body.bytes, 'a'), contentType: body.contentType };
  }
}
