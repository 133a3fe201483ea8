import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/core/config/config';
import { dataSourceOptions } from './src/core/db/database';
import { startEmbeddedPostgres } from './src/core/db/embedded-postgres';

/**
 * The DataSource the TypeORM CLI uses. With DATABASE_URL it targets that server; without it, the
 * embedded database in DATA_DIR (the gateway must be stopped: one process owns that folder).
 */
async function createCliDataSource(): Promise<DataSource> {
  const config = loadConfig();
  const target = config.database.url ? { url: config.database.url } : await startEmbeddedPostgres(config.dataDir, 2);
  return new DataSource(dataSourceOptions(config, target));
}

export default createCliDataSource();
