import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { startEmbeddedPostgres } from './embedded-postgres';
import { entities } from './entities';
import { migrations } from './migrations';
import { SqlStatementCounter } from './sql-statement-counter';

export type Database = {
  dataSource: DataSource;
  embedded: boolean;
  statements: SqlStatementCounter;
  close(): Promise<void>;
};

/** Any fixed number shared by every Portcullis process; it serialises concurrent migration runs. */
const MIGRATION_LOCK_ID = 7_281_930_114;

function baseOptions(poolSize: number, statements: SqlStatementCounter) {
  return {
    type: 'postgres' as const,
    entities,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    installExtensions: false,
    uuidExtension: 'pgcrypto' as const,
    synchronize: false,
    logger: statements,
    extra: { max: poolSize },
  };
}

/** Where the database is: DATABASE_URL, or the loopback socket of the embedded PGlite. */
export type DatabaseTarget = { url: string } | { host: string; port: number };

export function dataSourceOptions(
  config: Config,
  target: DatabaseTarget,
  statements = new SqlStatementCounter(),
): DataSourceOptions {
  const location =
    'url' in target
      ? { url: target.url }
      : { host: target.host, port: target.port, username: 'postgres', database: 'postgres' };
  return { ...baseOptions(config.database.poolSize, statements), ...location };
}

/** Opens PostgreSQL (DATABASE_URL) or the embedded PGlite (DATA_DIR) and brings the schema up to date. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const statements = new SqlStatementCounter();
  const poolSize = config.database.poolSize;
  const embedded = config.database.url ? null : await startEmbeddedPostgres(config.dataDir, poolSize + 2);
  const target: DatabaseTarget = embedded ?? { url: config.database.url as string };
  const dataSource = new DataSource(dataSourceOptions(config, target, statements));
  try {
    await dataSource.initialize();
    await runMigrations(dataSource, logger);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    embedded: Boolean(embedded),
    statements,
    async close() {
      await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

async function runMigrations(dataSource: DataSource, logger: Logger): Promise<void> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    for (const migration of applied) logger.info({ migration: migration.name }, 'applied migration');
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await lockRunner.release();
  }
}
