import { DataSource } from 'typeorm';
import { RolePermissionsDistinct1796284800000 } from '../../migrations/1796284800000-role-permissions-distinct';
import { migrations } from '../../src/core/db/migrations';
import { createTestDatabase } from '../support/database';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataSource: DataSource;

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    migrations,
    migrationsTableName: 'typeorm_migrations',
  });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
});

afterAll(async () => {
  await dataSource.destroy();
  await database.drop();
});

it('repairs role permission lists stored with duplicates, and leaves distinct ones as they were', async () => {
  const [org] = await dataSource.query(`INSERT INTO orgs (slug, name) VALUES ('dupes', 'Dupes') RETURNING id`);
  const insertRole = async (key: string, permissions: string[]) =>
    (
      await dataSource.query(
        `INSERT INTO roles (org_id, key, name, permissions) VALUES ($1, $2, $2, $3) RETURNING id`,
        [org.id, key, permissions],
      )
    )[0].id as string;
  const admin = await insertRole('admin', ['org:read', 'members:read', 'teams:read', 'members:read', 'audit:read']);
  const custom = await insertRole('custom', ['teams:read', 'org:read']);

  const runner = dataSource.createQueryRunner();
  await new RolePermissionsDistinct1796284800000().up(runner);
  await runner.release();

  const permissionsOf = async (id: string) =>
    (await dataSource.query('SELECT permissions FROM roles WHERE id = $1', [id]))[0].permissions;
  expect(await permissionsOf(admin)).toEqual(['audit:read', 'members:read', 'org:read', 'teams:read']);
  expect(await permissionsOf(custom)).toEqual(['teams:read', 'org:read']);
});
