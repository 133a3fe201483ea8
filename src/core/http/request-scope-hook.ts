import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestScope } from '../context/request-scope';
import { requestScopeOf } from './client-info';
import { SECURITY_HEADERS } from './replies';

declare module 'fastify' {
  interface FastifyRequest {
    /** Request id, client address and user agent, handed to whatever serves the request. */
    scope: RequestScope;
  }
}

/** Gives the request its scope and the response the headers every response carries. */
export function enterRequestScope(
  request: FastifyRequest,
  reply: FastifyReply,
  trustedProxyHops: number,
): RequestScope {
  const scope = requestScopeOf(request.raw, trustedProxyHops);
  request.scope = scope;
  void reply.headers({ ...SECURITY_HEADERS, 'x-request-id': scope.requestId });
  return scope;
}

/** First hook of every routed request, matched or not: its scope is set before anything else runs. */
export function registerRequestScope(app: FastifyInstance, trustedProxyHops: number): void {
  app.decorateRequest('scope', null as unknown as RequestScope);
  app.addHook('onRequest', (request, reply, done) => {
    enterRequestScope(request, reply, trustedProxyHops);
    done();
  });
}
