import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import type { IncomingMessage } from 'node:http';
import type { Config } from './core/config/config';
import { AuditChainer } from './core/audit/chainer';
import { Freshness } from './core/cache/freshness';
import { InvalidationListener } from './core/cache/invalidation-listener';
import { invalidateOnLocalWrites } from './core/cache/local-writes';
import { resolveSecretKey } from './core/config/secret-key';
import type { GraphQLContext } from './core/context/context';
import type { RequestScope } from './core/context/request-scope';
import { openDatabase, type Database } from './core/db/database';
import { ReplicaReads } from './core/db/replica-reads';
import { ReplicaSet } from './core/db/replica-set';
import { AppError } from './core/errors/app-error';
import { rethrowDatabaseOutage } from './core/errors/service-unavailable';
import { CallerAccess } from './core/permissions/caller-access';
import { createApollo } from './core/graphql/apollo';
import { bearerToken } from './core/http/client-info';
import type { ResponseCookies } from './core/http/response-cookies';
import { createHttpServer } from './core/http/server';
import { createLogger, type Logger } from './core/logger';
import type { MetricsListener } from './core/observability/metrics-endpoint';
import { createObservability } from './core/observability/observability';
import { observationOf } from './core/observability/request-observation';
import { createLoaders } from './loaders';
import { isApiKeyToken } from './modules/api-keys/api-keys.service';
import { auditExport } from './modules/audit/audit-export';
import { forwardAuth, forwardAuthDecisions } from './modules/resources/forward-auth';
import { moduleRoutes } from './routes';
import { buildGatewaySchema } from './schema';
import { createServices, type Services } from './services';

export type Gateway = {
  url: string;
  port: number;
  config: Config;
  database: Database;
  services: Services;
  logger: Logger;
  /** Links committed audit records into their chains (core/audit/chainer.ts). */
  auditChainer: AuditChainer;
  /**
   * Stops accepting connections, lets the requests in flight finish (each connection ends after its
   * current answer), cuts what is still open after `graceMs` (default SHUTDOWN_GRACE), then stops
   * Apollo, the rate-limit store and the database. `drained` is false when connections were cut.
   */
  close(options?: { graceMs?: number }): Promise<{ drained: boolean }>;
};

/** Opens the database, signs in the bootstrap owner if needed, and serves HTTP. */
export async function startGateway(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Gateway> {
  const database = await openDatabase(config, logger);
  const replicas = ReplicaSet.open(config, database.dataSource, database.statements, logger);
  // Caches of credential checks and forward-auth answers: emptied by this process's commits and,
  // through LISTEN, by every other process's; bypassed while the listener is not listening.
  const freshness = new Freshness();
  invalidateOnLocalWrites(database.dataSource, freshness);
  // Read-only queries may read a replica, but not a principal's for READ_YOUR_WRITES_WINDOW after its writes.
  const replicaReads = new ReplicaReads(replicas, freshness, database.dataSource, config.replicas.readYourWritesWindow);
  const listener = new InvalidationListener(freshness, database.sessionConnection, logger, (principalId) =>
    replicaReads.heard(principalId),
  );
  listener.start();
  let metricsListener: MetricsListener | null = null;
  try {
    const db = database.dataSource;
    const observability = createObservability(config, db, logger);
    const secretKey = await resolveSecretKey(config);
    const services = await createServices(config, db, secretKey, logger, freshness, observability.metrics);
    const decisions = forwardAuthDecisions(freshness);
    await announceBootstrap(config, logger, await services.bootstrap.bootstrapIfEmpty(config.bootstrap));

    const apollo = createApollo(await buildGatewaySchema(), config, logger);
    await apollo.start();

    /** `reuse`: a check of the same token this process made since the last invalidation stands. */
    const authenticate = (token: string, ipAddress: string | null, reuse = false) =>
      isApiKeyToken(token)
        ? services.apiKeys.authenticate(token, ipAddress, reuse)
        : services.auth.authenticate(token, reuse);

    const createContext = async (
      req: IncomingMessage,
      scope: RequestScope,
      cookies: ResponseCookies,
    ): Promise<GraphQLContext> => {
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
        replicaReads,
        // Each operation runs on a copy of this context, and gets an access of its own reading
        // that copy (graphql/caller-access-plugin.ts); this one serves whatever reads it before.
        access: new CallerAccess(
          () => context.principal,
          () => context.loaders,
        ),
        cookies,
        observation: observationOf(req),
      };
      return context;
    };

    const http = await createHttpServer({
      config,
      logger,
      apollo,
      createContext,
      isReady: () => answersWithin(db, READY_TIMEOUT_MS),
      jwks: () => services.signingKeys.jwks(),
      forwardAuth: (req, scope) =>
        forwardAuth(
          req,
          scope.ipAddress,
          db,
          (token, ip) => authenticate(token, ip, true),
          decisions,
          observability.metrics,
        ),
      auditExport: (req, scope, url) => auditExport(req, url, scope.ipAddress, db, authenticate),
      routes: moduleRoutes({ config, logger, db, services, authenticate }),
      observability,
    });
    // METRICS_PORT first: a port it cannot bind stops the start before the main port takes traffic.
    metricsListener = await observability.listen();
    const port = await http.listen(config.port, config.host);
    const auditChainer = new AuditChainer(db, logger);
    const url = `http://127.0.0.1:${port}`;
    logger.info({ port, embedded: database.embedded }, 'portcullis is listening');
    services.signingKeyRotation.start();

    return {
      url,
      port,
      config,
      database,
      services,
      logger,
      auditChainer,
      async close({ graceMs = config.shutdownGraceSeconds * 1000 } = {}) {
        const { drained } = await http.close(graceMs);
        await metricsListener?.close();
        await apollo.stop();
        services.rateLimits.stop();
        await services.signingKeyRotation.stop();
        await auditChainer.stop();
        await listener.stop();
        await replicas.close();
        await database.close();
        return { drained };
      },
    };
  } catch (error) {
    await metricsListener?.close();
    await listener.stop();
    await replicas.close();
    await database.close();
    throw error;
  }
}

/** The generated password is shown once, on the console only: never in structured logs. */
async function announceBootstrap(
  config: Config,
  logger: Logger,
  result: Awaited<ReturnType<Services['bootstrap']['bootstrapIfEmpty']>>,
) {
  if (!result) return;
  // No email: log lines never carry personal data (the console message below names the owner).
  logger.info({ org: result.orgSlug }, 'created the first org and its owner');
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

/** A load balancer's readiness probe must not hang with a database that stopped answering. */
const READY_TIMEOUT_MS = 2_000;

function answersWithin(db: DataSource, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answer = db.query('SELECT 1').then(
    () => true,
    () => false,
  );
  return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
}
