import type { Kysely, Selectable } from 'kysely';
import type { DatabaseHandle } from '../db/database.js';
import { prepareRead } from '../db/prepared-read.js';
import type { AuthTokenTable, Database } from '../db/schema.js';

export type TokenKind = 'session' | 'api';

export interface StoredToken {
  tokenHash: string;
  kind: TokenKind;
  userId: string;
  csrfHash: string | null;
  clientType: string | null;
  clientId: string | null;
  createdAt: number;
  lastSeenAt: number;
}

/** Where login sessions and apilogin tokens live. Implementations keep only hashes of the secrets. */
export interface AuthTokenStore {
  create(token: StoredToken): Promise<void>;
  find(tokenHash: string): Promise<StoredToken | undefined>;
  /** Records activity. Updates an existing entry only, so a request that outlives a logout cannot revive it. */
  touch(tokenHash: string, lastSeenAt: number): Promise<void>;
  revoke(tokenHash: string): Promise<void>;
  revokeAllForUser(userId: string): Promise<void>;
  /** Every live entry of one user (for the per-user session limit). */
  listForUser(userId: string): Promise<StoredToken[]>;
  /** Entries used at or after `idleCutoff` (for the metrics). */
  countActive(idleCutoff: number): Promise<number>;
  /** Drops entries idle since before `idleCutoff` or created before `createdCutoff`. */
  deleteExpired(idleCutoff: number, createdCutoff: number): Promise<number>;
}

/** The embedded (and single-database) token store: a table next to the users. */
export class SqlAuthTokenStore implements AuthTokenStore {
  private readonly db: Kysely<Database>;
  /** Every authenticated request looks its token up: prepared once (prepareRead). */
  private readonly selectByHash;

  constructor(database: DatabaseHandle) {
    this.db = database.db;
    this.selectByHash = prepareRead(database, (tokenHash: string) => this.db.selectFrom('auth_tokens').selectAll().where('token_hash', '=', tokenHash));
  }

  async create(token: StoredToken): Promise<void> {
    await this.db
      .insertInto('auth_tokens')
      .values({
        token_hash: token.tokenHash,
        kind: token.kind,
        user_id: token.userId,
        csrf_hash: token.csrfHash,
        client_type: token.clientType,
        client_id: token.clientId,
        created_at: token.createdAt,
        last_seen_at: token.lastSeenAt,
      })
      .execute();
  }

  async find(tokenHash: string): Promise<StoredToken | undefined> {
    const [row] = await this.selectByHash(tokenHash);
    return row && toStoredToken(row);
  }

  async touch(tokenHash: string, lastSeenAt: number): Promise<void> {
    await this.db.updateTable('auth_tokens').set({ last_seen_at: lastSeenAt }).where('token_hash', '=', tokenHash).execute();
  }

  async revoke(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('auth_tokens').where('token_hash', '=', tokenHash).execute();
  }

  async revokeAllForUser(userId: string): Promise<void> {
    await this.db.deleteFrom('auth_tokens').where('user_id', '=', userId).execute();
  }

  async listForUser(userId: string): Promise<StoredToken[]> {
    const rows = await this.db.selectFrom('auth_tokens').selectAll().where('user_id', '=', userId).execute();
    return rows.map(toStoredToken);
  }

  async countActive(idleCutoff: number): Promise<number> {
    const row = await this.db.selectFrom('auth_tokens').select((eb) => eb.fn.countAll<number | string>().as('count')).where('last_seen_at', '>=', idleCutoff).executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  async deleteExpired(idleCutoff: number, createdCutoff: number): Promise<number> {
    const result = await this.db
      .deleteFrom('auth_tokens')
      .where((eb) => eb.or([eb('last_seen_at', '<', idleCutoff), eb('created_at', '<', createdCutoff)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toStoredToken(row: Selectable<AuthTokenTable>): StoredToken {
  return {
    tokenHash: row.token_hash,
    kind: row.kind,
    userId: row.user_id,
    csrfHash: row.csrf_hash,
    clientType: row.client_type,
    clientId: row.client_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
  };
}
