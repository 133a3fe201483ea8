import { DataSource } from 'typeorm';
import { SigningKeyRotation1796630400000 } from '../../migrations/1796630400000-signing-key-rotation';
import { migrations } from '../../src/core/db/migrations';
import { createTestDatabase } from '../support/database';

let database: Awaited<ReturnType<typeof createTestDatabase>>;

const dataSourceWith = (list: typeof migrations) =>
  new DataSource({ type: 'postgres', url: database.url, migrations: list, migrationsTableName: 'typeorm_migrations' });

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

const columns = async (db: DataSource, table: string) =>
  (
    await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`, [
      table,
    ])
  ).map((row: { column_name: string }) => row.column_name);

it('backfills API keys with the active key, allows one NEXT key, and reverts with down()', async () => {
  // Up to this migration, whatever comes after it: undoLastMigration below must undo this one.
  const position = migrations.indexOf(SigningKeyRotation1796630400000);
  const before = dataSourceWith(migrations.slice(0, position));
  await before.initialize();
  await before.runMigrations({ transaction: 'each' });
  await before.query(
    `INSERT INTO signing_keys (id, algorithm, public_jwk, private_jwk_sealed) VALUES ('kid-1', 'ES256', '{}', 'sealed')`,
  );
  const [org] = await before.query(`INSERT INTO orgs (slug, name) VALUES ('m', 'M') RETURNING id`);
  const [user] = await before.query(`INSERT INTO users (kind) VALUES ('SERVICE_ACCOUNT') RETURNING id`);
  await before.query(
    `INSERT INTO api_keys (org_id, owner_id, name, prefix, fingerprint) VALUES ($1, $2, 'ci', 'pk_1', '\\x01')`,
    [org.id, user.id],
  );
  await before.destroy();

  const db = dataSourceWith(migrations.slice(0, position + 1));
  await db.initialize();
  try {
    await db.runMigrations({ transaction: 'each' });
    expect(await db.query('SELECT signing_kid FROM api_keys')).toEqual([{ signing_kid: 'kid-1' }]);
    const nextKey = (id: string) =>
      db.query(
        `INSERT INTO signing_keys (id, algorithm, public_jwk, private_jwk_sealed, status, activates_at)
         VALUES ($1, 'ES256', '{}', 'sealed', 'NEXT', now() - interval '1 second')`,
        [id],
      );
    await nextKey('kid-2');
    await expect(nextKey('kid-3')).rejects.toThrow(/signing_keys_one_next_key/);
    await expect(
      db.query(
        `INSERT INTO signing_keys (id, algorithm, public_jwk, private_jwk_sealed, status) VALUES ('kid-4', 'ES256', '{}', 's', 'NEXT')`,
      ),
    ).rejects.toThrow(/signing_keys_next_activates/);

    // A key retired at once after a leak would be trusted again by the schema before rotation.
    await db.query(
      `INSERT INTO signing_keys (id, algorithm, public_jwk, private_jwk_sealed, status, retired_at, unpublished_at)
       VALUES ('kid-leaked', 'ES256', '{}', 's', 'RETIRED', now(), now())`,
    );
    await expect(db.undoLastMigration({ transaction: 'each' })).rejects.toThrow(/retired at once/);
    await db.query(`DELETE FROM signing_keys WHERE id = 'kid-leaked'`);

    await db.undoLastMigration({ transaction: 'each' });
    expect(await columns(db, 'api_keys')).not.toContain('signing_kid');
    expect(await columns(db, 'signing_keys')).not.toContain('activates_at');
    // The NEXT key that was due took over, as it would have had the gateway run.
    expect(await db.query('SELECT id, status FROM signing_keys ORDER BY id')).toEqual([
      { id: 'kid-1', status: 'RETIRED' },
      { id: 'kid-2', status: 'ACTIVE' },
    ]);
    await expect(db.query(`UPDATE signing_keys SET status = 'NEXT' WHERE id = 'kid-1'`)).rejects.toThrow(
      /signing_keys_status_check/,
    );

    await db.runMigrations({ transaction: 'each' });
    expect(await columns(db, 'signing_keys')).toEqual(expect.arrayContaining(['activates_at', 'unpublished_at']));
    expect(await columns(db, 'api_keys')).toContain('signing_kid');
  } finally {
    await db.destroy();
  }
});
