import { DataSource } from 'typeorm';
import { OAuthClients1796716800000 } from '../../migrations/1796716800000-oauth-clients';
import { migrations } from '../../src/core/db/migrations';
import { createTestDatabase } from '../support/database';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataSource: DataSource;

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    migrations: migrations.filter((migration) => migration !== OAuthClients1796716800000),
    migrationsTableName: 'typeorm_migrations',
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
});

afterAll(async () => {
  await dataSource.destroy();
  await database.drop();
});

async function run(step: 'up' | 'down'): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await new OAuthClients1796716800000()[step](runner);
  } finally {
    await runner.release();
  }
}

it("gives existing orgs' built-in admin and owner roles the client permissions, and takes them back on down()", async () => {
  const [org] = await dataSource.query(`INSERT INTO orgs (slug, name) VALUES ('before', 'Before') RETURNING id`);
  const insertRole = async (key: string, builtIn: boolean, permissions: string[]) =>
    (
      await dataSource.query(
        `INSERT INTO roles (org_id, key, name, built_in, permissions) VALUES ($1, $2, $2, $3, $4) RETURNING id`,
        [org.id, key, builtIn, permissions],
      )
    )[0].id as string;
  const owner = await insertRole('owner', true, ['org:read', 'audit:read']);
  const admin = await insertRole('admin', true, ['members:read', 'audit:read']);
  const editor = await insertRole('editor', true, ['teams:write']);
  const custom = await insertRole('admin-like', false, ['members:read']);
  const permissionsOf = async (id: string) =>
    (await dataSource.query('SELECT permissions FROM roles WHERE id = $1', [id]))[0].permissions;

  await run('up');
  expect(await permissionsOf(owner)).toEqual(['audit:read', 'clients:read', 'clients:write', 'org:read']);
  expect(await permissionsOf(admin)).toEqual(['audit:read', 'clients:read', 'clients:write', 'members:read']);
  expect(await permissionsOf(editor)).toEqual(['teams:write']);
  expect(await permissionsOf(custom)).toEqual(['members:read']);

  await dataSource.query(`UPDATE roles SET permissions = permissions || '{clients:read}' WHERE id = $1`, [custom]);
  await dataSource.query(
    `INSERT INTO oauth_clients (org_id, client_id, name, type, secret_hash, redirect_uris, grant_types)
     VALUES ($1, 'abcdefghijklmnopqrstuvwxyz', 'App', 'CONFIDENTIAL', '\\x00', '{https://a.example/cb}', '{AUTHORIZATION_CODE}')`,
    [org.id],
  );
  await expect(
    dataSource.query(
      `INSERT INTO oauth_clients (org_id, client_id, name, type, redirect_uris, grant_types)
       VALUES ($1, 'bcdefghijklmnopqrstuvwxyz0', 'Secretless', 'CONFIDENTIAL', '{https://a.example/cb}', '{AUTHORIZATION_CODE}')`,
      [org.id],
    ),
  ).rejects.toThrow(/oauth_clients_secret_by_type/);

  await run('down');
  expect(await permissionsOf(owner)).toEqual(['audit:read', 'org:read']);
  expect(await permissionsOf(admin)).toEqual(['audit:read', 'members:read']);
  expect(await permissionsOf(custom)).toEqual(['members:read']);
  expect(await dataSource.query(`SELECT to_regclass('oauth_clients') AS t`)).toEqual([{ t: null }]);
});
