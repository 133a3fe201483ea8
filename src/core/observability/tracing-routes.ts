import { context, trace } from '@opentelemetry/api';
import { ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance } from 'fastify';

/**
 * Names each request's server span after its route (`POST /graphql`, `GET /password/reset`) rather
 * than its URL, whose query may carry a token; and gives it the request id the logs and the
 * `X-Request-Id` header carry, to go from one to the other. Registered after the request scope.
 */
export function nameSpansByRoute(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    // The HTTP instrumentation runs Fastify's handling of the request inside its server span.
    const span = trace.getSpan(context.active());
    const route = request.routeOptions.url;
    if (span && route) {
      span.updateName(`${request.method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    span?.setAttribute('portcullis.request_id', request.scope.requestId);
    done();
  });
}
