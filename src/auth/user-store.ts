import type { Kysely, Selectable } from 'kysely';
import type { DatabaseHandle } from '../db/database.js';
import { prepareRead } from '../db/prepared-read.js';
import type { Database, UserTable } from '../db/schema.js';

export interface User {
  id: string;
  username: string;
  fullName: string | null;
  email: string | null;
  groups: string[];
  authorities: string[];
  enabled: boolean;
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
}

/** Case-insensitive usernames: every lookup goes through this key. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** User rows in the metadata database. I/O only; the rules live in the services. */
export class UserStore {
  private readonly db: Kysely<Database>;
  /** Every authenticated request reads its user: prepared once (prepareRead). */
  private readonly selectById;

  constructor(database: DatabaseHandle) {
    this.db = database.db;
    this.selectById = prepareRead(database, (id: string) => this.db.selectFrom('users').selectAll().where('id', '=', id));
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username_key', '=', usernameKey(username)).executeTakeFirst();
    return row && toUser(row);
  }

  async findById(id: string): Promise<User | undefined> {
    const [row] = await this.selectById(id);
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('username_key').execute();
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Inserts a user; resolves false (and writes nothing) when the username is taken. */
  async insert(user: User): Promise<boolean> {
    const result = await this.db
      .insertInto('users')
      .values({
        id: user.id,
        username: user.username,
        username_key: usernameKey(user.username),
        full_name: user.fullName,
        email: user.email,
        groups: JSON.stringify(user.groups),
        authorities: JSON.stringify(user.authorities),
        enabled: user.enabled ? 1 : 0,
        password_hash: user.passwordHash,
        created_at: user.createdAt,
        updated_at: user.updatedAt,
      })
      .onConflict((oc) => oc.column('username_key').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async updatePasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
  }

  async setEnabled(id: string, enabled: boolean, now: number): Promise<void> {
    await this.db.updateTable('users').set({ enabled: enabled ? 1 : 0, updated_at: now }).where('id', '=', id).execute();
  }
}

function toUser(row: Selectable<UserTable>): User {
  return {
    id: row.id,
    username: row.username,
    fullName: row.full_name,
    email: row.email,
    groups: JSON.parse(row.groups) as string[],
    authorities: JSON.parse(row.authorities) as string[],
    enabled: row.enabled === 1,
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
