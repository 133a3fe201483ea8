import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/core/config/config';
import { resolveSecretKey } from '../src/core/config/secret-key';
import { openDatabase } from '../src/core/db/database';
import { createLogger } from '../src/core/logger';
import { createServices } from '../src/services';

const USAGE = 'usage: npm run bootstrap -- --email <email> --org <org name> [--password <password>]';

/**
 * Creates an org whose owner is a new super user, on the configured database (DATABASE_URL, or the
 * embedded one in DATA_DIR while the gateway is stopped). Without --password one is generated and
 * printed once.
 */
async function main() {
  const { values } = parseArgs({
    options: { email: { type: 'string' }, org: { type: 'string' }, password: { type: 'string' } },
  });
  if (!values.email || !values.org) throw new Error(USAGE);
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openDatabase(config, logger);
  try {
    const services = await createServices(config, database.dataSource, await resolveSecretKey(config), logger);
    const result = await services.bootstrap.createSuperUser({
      email: values.email,
      orgName: values.org,
      password: values.password,
    });
    process.stdout.write(`Created org "${result.orgSlug}" owned by super user ${result.email}.\n`);
    if (result.generatedPassword) process.stdout.write(`Password (shown once): ${result.generatedPassword}\n`);
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
