import type { Generated } from 'kysely';

/** Row types of Damson's tables, shared by the SQLite and PostgreSQL dialects. Times are epoch milliseconds. */
export interface Database {
  users: UserTable;
  auth_tokens: AuthTokenTable;
  login_failures: LoginFailureTable;
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
