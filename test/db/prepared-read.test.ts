import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type DatabaseHandle, openDatabase } from '../../src/db/database.js';
import { prepareRead } from '../../src/db/prepared-read.js';
import { createTestSchema, dropTestSchema } from '../helpers/postgres.js';
import { forEachDialect } from '../helpers/server.js';

const user = (id: string, username: string, enabled = 1) => ({
  id,
  username,
  username_key: username.toLowerCase(),
  full_name: null,
  email: null,
  groups: '[]',
  authorities: '[]',
  enabled,
  password_hash: 'x',
  created_at: 1,
  updated_at: 1,
});

/** The per-request lookups (tokens, users) go through prepareRead; what they see decides who is logged in. */
await forEachDialect((dialect) => {
  let database: DatabaseHandle;
  let dataDir: string;
  let databaseUrl: string | undefined;
  const schema = `damson_test_prepared_${process.pid}_${Date.now()}`;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'damson-prepared-'));
    databaseUrl = dialect === 'postgres' ? await createTestSchema(schema) : undefined;
    database = await openDatabase({ dataDir, databaseUrl });
    await database.db.insertInto('users').values([user('u1', 'Ada'), user('u2', 'Grace', 0)]).execute();
  });

  after(async () => {
    await database?.close();
    if (dialect === 'postgres') await dropTestSchema(schema);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('binds each call’s own parameters, in any order, and keeps constants of the query', async () => {
    const byNameAndId = prepareRead(database, (username: string, id: string) =>
      database.db.selectFrom('users').select(['id', 'username']).where('enabled', '=', 1).where('id', '=', id).where('username_key', '=', username),
    );
    assert.deepEqual(await byNameAndId('ada', 'u1'), [{ id: 'u1', username: 'Ada' }]);
    assert.deepEqual(await byNameAndId('ada', 'u2'), []);
    assert.deepEqual(await byNameAndId('grace', 'u2'), [], 'the constant enabled = 1 still applies');
    assert.deepEqual(await byNameAndId("' OR 1=1 --", 'u1'), [], 'parameters are bound, never spliced into the SQL');
  });

  it('refuses a query that does not use a parameter as a value', async () => {
    const unused = prepareRead(database, (_id: string) => database.db.selectFrom('users').select('id'));
    await assert.rejects(async () => unused('u1'), /parameter 0 is not used/);
  });

  it('sees a committed write at once, and nothing of a transaction still open', async () => {
    const enabledOf = prepareRead(database, (id: string) => database.db.selectFrom('users').select('enabled').where('id', '=', id));
    assert.deepEqual(await enabledOf('u1'), [{ enabled: 1 }]);
    assert.deepEqual(await enabledOf('u1'), [{ enabled: 1 }], 'asked again, the same answer');
    await database.db.updateTable('users').set({ enabled: 0 }).where('id', '=', 'u1').execute();
    assert.deepEqual(await enabledOf('u1'), [{ enabled: 0 }], 'a user disabled a moment ago is disabled for the next request');
    // Another process on the same database (a CLI command, another node on PostgreSQL) changes it too.
    const other = await openDatabase({ dataDir, databaseUrl });
    try {
      await other.db.updateTable('users').set({ full_name: 'Ada L.' }).where('id', '=', 'u2').execute();
      assert.deepEqual(await enabledOf('u1'), [{ enabled: 0 }]);
      const nameOf = prepareRead(database, (id: string) => database.db.selectFrom('users').select('full_name').where('id', '=', id));
      assert.deepEqual(await nameOf('u2'), [{ full_name: 'Ada L.' }]);
      await other.db.updateTable('users').set({ full_name: 'Grace H.' }).where('id', '=', 'u2').execute();
      assert.deepEqual(await nameOf('u2'), [{ full_name: 'Grace H.' }], 'a commit by another connection is seen at once');
    } finally {
      await other.close();
    }

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const inTransaction = new Promise<void>((resolve) => (written = resolve));
    const transaction = database.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('users').set({ enabled: 1 }).where('id', '=', 'u1').execute();
        written();
        await held;
        throw new Error('roll back');
      })
      .catch((error: Error) => error.message);
    await inTransaction;
    assert.deepEqual(await enabledOf('u1'), [{ enabled: 0 }], 'an uncommitted change is not visible');
    release();
    assert.equal(await transaction, 'roll back');
    assert.deepEqual(await enabledOf('u1'), [{ enabled: 0 }], 'and a rolled-back one never was');
  });
});
