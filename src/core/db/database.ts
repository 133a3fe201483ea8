import { Client, type ClientConfig } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Config } from '../config/config';
import type { Logger } from '../logger';
import { openEmbeddedServer, type EmbeddedRole } from './embedded/embedded-server';
import { entities } from './entities';
import { migrations } from './migrations';
import { markBehindTransactionPooler, poolConnection } from './pg-pool';
import { SqlStatementCounter } from './sql-statement-counter';

export type Database = {
  dataSource: DataSource;
  embedded: boolean;
  statements: SqlStatementCounter;
  /**
   * Where session-bound work connects (the LISTEN of cache invalidation): DATABASE_DIRECT_URL when
   * set, as DATABASE_URL is then a pooler in transaction mode; otherwise where the pool connects.
   */
  sessionConnection: ClientConfig;
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
    // A database that does not answer fails a request within seconds (SERVICE_UNAVAILABLE) instead of
    // hanging it: the timeout bounds both a new connection and the wait for a pooled one. Keep-alive
    // probes find connections a network or failover silently cut, so the pool drops them.
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // A checked-out connection that the server ends between two queries (a restart, an outage)
      // emits 'error' with no listener — pg-pool listens only while it is idle, TypeORM never —
      // which would crash the process. Its next query fails instead (answered
      // SERVICE_UNAVAILABLE), and the pool drops it when it comes back.
      onConnect: (client: Client) => void client.on('error', () => undefined),
    },
  };
}

/** Where the database is: DATABASE_URL, or the loopback port of the embedded server. */
export type DatabaseTarget =
  { url: string } | { host: string; port: number; user: string; password: string; database: string };

/** The embedded server is reached on loopback without TLS, whatever PGSSLMODE the shell has. */
function connectionOf(target: DatabaseTarget): ClientConfig {
  return 'url' in target ? { connectionString: target.url } : { ...target, ssl: false };
}

export function dataSourceOptions(
  config: Config,
  target: DatabaseTarget,
  statements = new SqlStatementCounter(),
): DataSourceOptions {
  const location =
    'url' in target
      ? { url: target.url }
      : {
          host: target.host,
          port: target.port,
          username: target.user,
          password: target.password,
          database: target.database,
          ssl: false,
        };
  return { ...baseOptions(config.database.poolSize, statements), ...location };
}

/** Connections the embedded server allows: one gateway's pool, and the admin commands beside it. */
export function embeddedMaxConnections(config: Config): number {
  return config.database.poolSize + 20;
}

/**
 * Opens PostgreSQL (DATABASE_URL) or the embedded server of DATA_DIR and brings the schema up to
 * date. The embedded server is held as `role` says: the gateway owns it; admin commands attach.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  role: EmbeddedRole = { kind: 'gateway' },
): Promise<Database> {
  const statements = new SqlStatementCounter();
  const embedded = config.database.url
    ? null
    : await openEmbeddedServer(config.dataDir, {
        role,
        maxConnections: embeddedMaxConnections(config),
        secretKeySet: Boolean(config.secretKey),
        logger,
      });
  const target: DatabaseTarget = embedded ?? { url: config.database.url as string };
  const dataSource = new DataSource(dataSourceOptions(config, target, statements));
  if (config.databaseDirectUrl) markBehindTransactionPooler(dataSource);
  try {
    await dataSource.initialize();
    await runMigrations(config, dataSource, target, logger);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.release();
    throw error;
  }
  return {
    dataSource,
    embedded: Boolean(embedded),
    statements,
    sessionConnection: config.databaseDirectUrl
      ? { connectionString: config.databaseDirectUrl }
      : poolConnection(dataSource),
    async close() {
      await dataSource.destroy();
      await embedded?.release();
    },
  };
}

/**
 * The lock is held on a connection of its own, outside the pool, so that migrations run even with
 * DATABASE_POOL_SIZE=1; closing that connection releases the lock whatever happened. It is a
 * session lock: behind a transaction pooler (DATABASE_DIRECT_URL set) it must be taken on the
 * direct connection, where the session lasts as long as the client's.
 *
 * The migrations run there too, on a DataSource of their own. Through the pooler they would work
 * today (each runs in one transaction and sets only transaction-local settings; TypeORM's reads and
 * creation of typeorm_migrations around them keep no session state), but a migration is
 * administration: long DDL that a pooler's query_timeout or client wait limits would cut, and a
 * later migration that runs outside a transaction would silently lose any session setting.
 */
async function runMigrations(
  config: Config,
  dataSource: DataSource,
  target: DatabaseTarget,
  logger: Logger,
): Promise<void> {
  const direct = config.databaseDirectUrl;
  const lock = new Client(connectionOf(direct ? { url: direct } : target));
  lock.on('error', () => undefined);
  const migrator = direct
    ? new DataSource(dataSourceOptions({ ...config, database: { ...config.database, poolSize: 1 } }, { url: direct }))
    : dataSource;
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    if (!migrator.isInitialized) await migrator.initialize();
    const applied = await migrator.runMigrations({ transaction: 'each' });
    for (const migration of applied) logger.info({ migration: migration.name }, 'applied migration');
  } finally {
    if (migrator !== dataSource && migrator.isInitialized) await migrator.destroy();
    await lock.end().catch(() => undefined);
  }
}
