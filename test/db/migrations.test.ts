import { DataSource } from 'typeorm';
import { migrations } from '../../src/core/db/migrations';
import { createTestDatabase } from '../support/database';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let dataSource: DataSource;

const tables = async () =>
  (await dataSource.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map(
    (row: { tablename: string }) => row.tablename,
  );

beforeAll(async () => {
  database = await createTestDatabase();
  dataSource = new DataSource({
    type: 'postgres',
    url: database.url,
    migrations,
    migrationsTableName: 'typeorm_migrations',
  });
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource.destroy();
  await database.drop();
});

it('applies every migration, reverts each with down(), and applies them again', async () => {
  await dataSource.runMigrations({ transaction: 'each' });
  const created = await tables();
  for (const table of [
    'users',
    'orgs',
    'memberships',
    'roles',
    'teams',
    'team_members',
    'groups',
    'group_members',
    'api_keys',
    'invitations',
    'resources',
    'access_grants',
    'audit_logs',
    'sessions',
    'refresh_tokens',
    'signing_keys',
    'rate_limits',
  ]) {
    expect(created).toContain(table);
  }
  for (let i = 0; i < migrations.length; i++) await dataSource.undoLastMigration({ transaction: 'each' });
  expect(await tables()).toEqual(['typeorm_migrations']);
  await dataSource.runMigrations({ transaction: 'each' });
  expect(await tables()).toEqual(created);
  const [index] = await dataSource.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'users_email_lower_key'`);
  expect(index.indexdef).toMatch(/UNIQUE INDEX .* \(lower\(email\)\)/);
});
