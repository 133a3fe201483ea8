import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApolloServer } from '@apollo/server';
import fastifyCookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyPluginAsync } from 'fastify';
import type { Config } from '../config/config';
import type { GraphQLContext } from '../context/context';
import type { RequestScope } from '../context/request-scope';
import type { ErrorKey } from '../errors/error-codes';
import type { Logger } from '../logger';
import { UNCOUNTED } from '../observability/gateway-metrics';
import { metricsRoute } from '../observability/metrics-endpoint';
import type { Observability } from '../observability/observability';
import { registerRequestObservation } from '../observability/request-log';
import { nameSpansByRoute } from '../observability/tracing-routes';
import { answerClientError } from './client-error';
import { registerCors } from './cors';
import { errorHandler } from './error-handler';
import { trackConnectionsForClose, type CloseResult } from './graceful-close';
import { graphqlRoute } from './graphql-route';
import { sendNotFound } from './replies';
import type { ResponseCookies } from './response-cookies';
import { enterRequestScope, registerRequestScope } from './request-scope-hook';
import { serviceRoutes } from './service-routes';

export type HttpDependencies = {
  config: Config;
  logger: Logger;
  apollo: ApolloServer<GraphQLContext>;
  createContext(req: IncomingMessage, scope: RequestScope, cookies: ResponseCookies): Promise<GraphQLContext>;
  isReady(): Promise<boolean>;
  jwks(): unknown;
  /** Forward authentication for reverse proxies (`GET /auth/check`). */
  forwardAuth(
    req: IncomingMessage,
    scope: RequestScope,
  ): Promise<{ status: number; headers: Record<string, string>; reason: string }>;
  /** Streaming export of audit records (`GET /audit/export`): a refusal, or a body to write once accepted. */
  auditExport(
    req: IncomingMessage,
    scope: RequestScope,
    url: URL,
  ): Promise<
    | { status: number; error: ErrorKey; field?: string; headers?: Record<string, string> }
    | { status: 200; headers: Record<string, string>; write(res: ServerResponse): Promise<void> }
  >;
  /** Routes of domain modules (account pages, cookie sessions), registered by the composition root. */
  routes?: FastifyPluginAsync[];
  /** Request counts and `/metrics`; without it requests are logged but not counted, and /metrics is 404. */
  observability?: Pick<Observability, 'metrics' | 'mainPortMetrics'>;
};

export type HttpServer = {
  /** Starts accepting connections; resolves with the port bound. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, finishes what was accepted, and cuts what is left after `graceMs`. */
  close(graceMs: number): Promise<CloseResult>;
};

/**
 * Fastify writes through our logger, warnings and errors only: no request lines (they would carry
 * URLs), and the request id comes from the request scope, as on every other line.
 */
function frameworkLogger(logger: Logger): FastifyBaseLogger {
  const quietest = logger.levels.values.warn;
  return logger.child({ component: 'http' }, { level: logger.levelVal > quietest ? logger.level : 'warn' });
}

export async function createHttpServer(deps: HttpDependencies): Promise<HttpServer> {
  const { config, logger } = deps;
  const app = Fastify({
    loggerInstance: frameworkLogger(logger),
    childLoggerFactory: (parent) => parent,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.maxBodyBytes,
    // Node's own defaults, as before Fastify: idle keep-alive connections close after 5 s, and a
    // request must arrive in full within 5 minutes (its headers within 1).
    keepAliveTimeout: 5_000,
    requestTimeout: 300_000,
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // A path the router cannot decode (`/%zz`) names nothing served here, as before Fastify.
    frameworkErrors: (_error, request, reply) => {
      enterRequestScope(request, reply, config.trustProxy);
      sendNotFound(reply);
    },
  });
  const close = trackConnectionsForClose(app);
  registerRequestScope(app, config.trustProxy);
  if (config.tracing) nameSpansByRoute(app);
  registerRequestObservation(app, logger, deps.observability?.metrics ?? UNCOUNTED);
  app.setNotFoundHandler((_request, reply) => sendNotFound(reply));
  app.setErrorHandler(errorHandler(logger));
  // Parses Cookie headers and gives replies setCookie; cookie sessions and the account pages use it.
  await app.register(fastifyCookie);
  await registerCors(app, config.corsOrigins);

  await app.register(graphqlRoute, {
    config,
    apollo: deps.apollo,
    createContext: deps.createContext,
    maxBodyBytes: config.limits.maxBodyBytes,
  });
  await app.register(serviceRoutes, deps);
  for (const routes of deps.routes ?? []) await app.register(routes);
  const metricsSource = deps.observability?.mainPortMetrics;
  if (metricsSource) await app.register(metricsRoute(metricsSource, config.metrics.token, logger));

  return {
    async listen(port, host) {
      await app.listen({ port, host });
      return (app.server.address() as AddressInfo).port;
    },
    close,
  };
}
