import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from './src/core/config/config';
import { dataSourceOptions, embeddedMaxConnections } from './src/core/db/database';
import { openEmbeddedServer } from './src/core/db/embedded/embedded-server';
import { createLogger } from './src/core/logger';

/**
 * The DataSource the TypeORM CLI uses. With DATABASE_URL it targets that server; without it, the
 * embedded server of DATA_DIR, attached to like the admin commands do. The TypeORM CLI never lets
 * go of it, so a server this starts keeps running; the next `portcullis serve` adopts it.
 */
async function createCliDataSource(): Promise<DataSource> {
  const config = loadConfig();
  const target = config.database.url
    ? { url: config.database.url }
    : await openEmbeddedServer(config.dataDir, {
        role: { kind: 'tool', create: true },
        maxConnections: embeddedMaxConnections(config),
        secretKeySet: Boolean(config.secretKey),
        logger: createLogger('warn'),
      });
  return new DataSource(dataSourceOptions(config, target));
}

export default createCliDataSource();
