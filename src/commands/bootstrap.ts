import { parseArgs } from 'node:util';
import { createServices } from '../services';
import { withAdminSession } from './admin-session';
import { UsageError } from './usage-error';

export const BOOTSTRAP_USAGE = 'portcullis bootstrap --email <email> --org <org name> [--password <password>]';

/**
 * Creates an org whose owner is a new super user. Without --password one is generated and
 * printed once.
 */
export async function bootstrap(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, org: { type: 'string' }, password: { type: 'string' } },
  });
  if (!values.email || !values.org) throw new UsageError(BOOTSTRAP_USAGE);
  const { email, org, password } = values;
  return withAdminSession({ create: true }, async ({ config, database, secretKey, logger }) => {
    const services = await createServices(config, database.dataSource, secretKey, logger);
    try {
      const result = await services.bootstrap.createSuperUser({ email, orgName: org, password });
      process.stdout.write(`Created org "${result.orgSlug}" owned by super user ${result.email}.\n`);
      if (result.generatedPassword) process.stdout.write(`Password (shown once): ${result.generatedPassword}\n`);
    } finally {
      services.rateLimits.stop();
    }
    return 0;
  });
}
