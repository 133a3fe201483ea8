import type { FastifyPluginAsync } from 'fastify';
import type { DataSource } from 'typeorm';
import type { Config } from './core/config/config';
import type { Principal } from './core/context/context';
import type { Logger } from './core/logger';
import { accountPages } from './modules/account-pages/account-pages.routes';
import { cookieSessionRoutes } from './modules/auth/cookie-session-routes';
import type { Services } from './services';

export type RouteDependencies = {
  config: Config;
  logger: Logger;
  db: DataSource;
  services: Services;
  /** The bearer check GraphQL requests use: an access token or an API key, re-checked against the database. */
  authenticate(token: string, ipAddress: string | null): Promise<Principal | null>;
};

/** The HTTP routes modules serve beside /graphql (composition root: the one list of them). */
export function moduleRoutes(deps: RouteDependencies): FastifyPluginAsync[] {
  return [cookieSessionRoutes(deps), accountPages(deps)];
}
