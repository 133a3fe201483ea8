import type { FastifyInstance } from 'fastify';
import { runInRequestScope, type RequestScope } from '../context/request-scope';
import { requestScopeOf } from './client-info';
import { SECURITY_HEADERS } from './replies';

declare module 'fastify' {
  interface FastifyRequest {
    /** Request id, client address and user agent: also current in AsyncLocalStorage while it is served. */
    scope: RequestScope;
  }
}

/**
 * First hook of every request, matched or not: its scope, the headers every response carries, and
 * the rest of its lifecycle (body parsing, handler, Apollo's resolvers) run inside the scope.
 */
export function registerRequestScope(app: FastifyInstance, trustedProxyHops: number): void {
  app.decorateRequest('scope', null as unknown as RequestScope);
  app.addHook('onRequest', (request, reply, done) => {
    const scope = requestScopeOf(request.raw, trustedProxyHops);
    request.scope = scope;
    void reply.headers({ ...SECURITY_HEADERS, 'x-request-id': scope.requestId });
    runInRequestScope(scope, done);
  });
}
