import type { Generated } from 'kysely';

/** Row types of Damson's tables, shared by the SQLite and PostgreSQL dialects. Times are epoch milliseconds. */
export interface Database {
  users: UserTable;
  auth_tokens: AuthTokenTable;
  login_failures: LoginFailureTable;
  settings: SettingTable;
  folders: FolderTable;
  assets: AssetTable;
  asset_versions: AssetVersionTable;
  renditions: RenditionTable;
  jobs: JobTable;
  asset_values: AssetValueTable;
  asset_text: AssetTextTable;
  search_changes: SearchChangeTable;
}

export interface UserTable {
  id: string;
  username: string;
  /** Lower-cased username: the unique key that makes names case-insensitive. */
  username_key: string;
  full_name: string | null;
  email: string | null;
  /** JSON array of group names. */
  groups: string;
  /** JSON array of `ROLE_*` authorities. */
  authorities: string;
  enabled: number;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

/** Login sessions and apilogin tokens: one namespace of server-side tokens, each remembering its kind. */
export interface AuthTokenTable {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  token_hash: string;
  kind: 'session' | 'api';
  user_id: string;
  /** SHA-256 (hex) of the CSRF token; null for apilogin tokens, which never need one. */
  csrf_hash: string | null;
  client_type: string | null;
  client_id: string | null;
  created_at: number;
  last_seen_at: number;
}

export interface LoginFailureTable {
  /** `account:<username key>` or `ip:<address>`. */
  key: string;
  failures: Generated<number>;
  window_started_at: number;
}

/** Server-wide values every node must share, such as the key that signs URL secrets. */
export interface SettingTable {
  key: string;
  value: string;
}

export interface FolderTable {
  id: string;
  path: string;
  /** Lower-cased path: paths are unique regardless of case. */
  path_key: string;
  parent_path: string | null;
  name: string;
  created_at: number;
  created_by: string;
}

export interface AssetTable {
  id: string;
  asset_path: string;
  asset_path_key: string;
  folder_path: string;
  filename: string;
  extension: string;
  asset_domain: string;
  mime_type: string;
  /** The current file in the blob store; null for placeholders and collections. */
  blob_key: string | null;
  file_size: number;
  sha256: string | null;
  version_number: number;
  content_etag: number;
  preview_etag: number;
  preview_state: string;
  thumbnail_state: string;
  /** Why rendering failed, when it did. */
  rendition_error: string | null;
  created_at: number;
  modified_at: number;
  file_modified_at: number;
  creator: string;
  modifier: string;
  file_modifier: string;
  /** JSON object of every other field (description, tags, width, cf_… custom fields …). */
  metadata: string;
}

/** Earlier files of an asset, kept when a new file is checked in with createVersion. */
export interface AssetVersionTable {
  asset_id: string;
  version_number: number;
  blob_key: string | null;
  file_size: number;
  sha256: string | null;
  filename: string;
  mime_type: string;
  created_at: number;
  created_by: string;
  metadata: string;
}

export interface RenditionTable {
  asset_id: string;
  /** `thumbnail`, `preview`, `poster`, `video` or a custom preview spec name. */
  name: string;
  /** The content_etag of the file it was made from: a rendition of an older file is stale. */
  content_etag: number;
  blob_key: string;
  mime_type: string;
  file_size: number;
  width: number;
  height: number;
  created_at: number;
}

export interface JobTable {
  id: string;
  type: string;
  asset_id: string | null;
  payload: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  run_after: number;
  /** A running job whose lease ran out (its worker died) is taken up again. */
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * The search index: one row per searchable value of an asset. Keyword values and the whole value of a text field
 * have `is_token` 0; the words of tokenized text fields are extra rows with `is_token` 1.
 */
export interface AssetValueTable {
  asset_id: string;
  field: string;
  /** Lower-cased text (or word), for matching; null for numbers and dates. */
  value_key: string | null;
  /** The value as stored, for facets; null for word rows. */
  value_text: string | null;
  /** Numbers, and dates as epoch ms. */
  value_num: number | null;
  is_token: number;
}

/**
 * Full text of an asset. SQLite: an FTS5 table whose rowid is the asset's rowid. PostgreSQL: keyed by asset_id,
 * with a generated tsvector `document`.
 */
export interface AssetTextTable {
  asset_id: string;
  content: string;
}

/** SQLite only: assets whose search index rows changed, in commit order (see FacetIndex). */
export interface SearchChangeTable {
  seq: Generated<number>;
  asset_rowid: number;
}
