import 'reflect-metadata';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './core/config/config';
import { resolveSecretKey } from './core/config/secret-key';
import type { GraphQLContext } from './core/context/context';
import type { RequestScope } from './core/context/request-scope';
import { openDatabase, type Database } from './core/db/database';
import { AppError } from './core/errors/app-error';
import { rethrowDatabaseOutage } from './core/errors/service-unavailable';
import { CallerAccess } from './core/permissions/caller-access';
import { createApollo } from './core/graphql/apollo';
import { bearerToken } from './core/http/client-info';
import { createHttpServer } from './core/http/server';
import { createLogger, type Logger } from './core/logger';
import { createLoaders } from './loaders';
import { isApiKeyToken } from './modules/api-keys/api-keys.service';
import { auditExport } from './modules/audit/audit-export';
import { forwardAuth } from './modules/resources/forward-auth';
import { buildGatewaySchema } from './schema';
import { createServices, type Services } from './services';

export type Gateway = {
  url: string;
  port: number;
  config: Config;
  database: Database;
  services: Services;
  logger: Logger;
  close(): Promise<void>;
};

/** Opens the database, signs in the bootstrap owner if needed, and serves HTTP. */
export async function startGateway(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Gateway> {
  const database = await openDatabase(config, logger);
  try {
    const db = database.dataSource;
    const services = await createServices(config, db, await resolveSecretKey(config), logger);
    await announceBootstrap(config, logger, await services.bootstrap.bootstrapIfEmpty(config.bootstrap));

    const apollo = createApollo(await buildGatewaySchema(), config, logger);
    await apollo.start();

    const authenticate = (token: string, ipAddress: string | null) =>
      isApiKeyToken(token) ? services.apiKeys.authenticate(token, ipAddress) : services.auth.authenticate(token);

    const createContext = async (req: IncomingMessage, scope: RequestScope): Promise<GraphQLContext> => {
      const bearer = bearerToken(req);
      // A database outage while checking the token answers 503, not a refused token or a crash.
      const principal = bearer.token
        ? await authenticate(bearer.token, scope.ipAddress).catch(rethrowDatabaseOutage)
        : null;
      const context: GraphQLContext = {
        ...scope,
        principal,
        authError: bearer.present && !principal ? new AppError('auth.invalid_token') : null,
        db,
        services,
        loaders: createLoaders(db),
        access: new CallerAccess(
          () => context.principal,
          () => context.loaders,
        ),
      };
      return context;
    };

    const server = createHttpServer({
      config,
      logger,
      apollo,
      createContext,
      isReady: () =>
        db.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      jwks: () => services.signingKeys.jwks(),
      forwardAuth: (req, scope) => forwardAuth(req, scope.ipAddress, db, authenticate),
      auditExport: (req, scope, url) => auditExport(req, url, scope.ipAddress, db, authenticate),
    });
    await listen(server, config);
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    logger.info({ port, embedded: database.embedded }, 'portcullis is listening');

    return {
      url,
      port,
      config,
      database,
      services,
      logger,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await apollo.stop();
        services.rateLimits.stop();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

function listen(server: Server, config: Config): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The generated password is shown once, on the console only: never in structured logs. */
async function announceBootstrap(
  config: Config,
  logger: Logger,
  result: Awaited<ReturnType<Services['bootstrap']['bootstrapIfEmpty']>>,
) {
  if (!result) return;
  logger.info({ email: result.email, org: result.orgSlug }, 'created the first org and its owner');
  if (!result.generatedPassword) return;
  process.stdout.write(
    [
      '',
      '  Portcullis created the first owner (a super user):',
      `    email:    ${result.email}`,
      `    password: ${result.generatedPassword}`,
      `    org:      ${result.orgSlug}`,
      `  GraphiQL:   ${config.publicUrl}/graphql`,
      '  This password is shown only once. Change it after signing in.',
      '',
      '',
    ].join('\n'),
  );
}
