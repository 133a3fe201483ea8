import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../logger';
import type { GatewayMetrics } from './gateway-metrics';
import { observationOf, operationLabel } from './request-observation';

const MAX_LOGGED_PATH = 200;

/**
 * One log line and one count per answered request, from its observation (request-observation.ts).
 * The line never holds a query string, header, body or variable: only the route, the operation's
 * name and root fields, the outcome code and who asked (ids, no emails).
 */
export function registerRequestObservation(app: FastifyInstance, logger: Logger, metrics: GatewayMetrics): void {
  // Answers made outside Apollo (refusals, outages) carry their code only in the body they send.
  app.addHook('onSend', (request, reply, payload, done) => {
    const observation = observationOf(request.raw);
    if (reply.statusCode >= 400 && observation.outcome === undefined && typeof payload === 'string') {
      observation.outcome = errorReasonIn(payload);
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const observation = observationOf(request.raw);
    const route = request.routeOptions.url ?? 'unmatched';
    const code = String(reply.statusCode);
    metrics.httpRequest({ route, operation: operationLabel(route, observation), code }, reply.elapsedTime / 1000);
    const line = {
      method: request.method,
      path: request.routeOptions.url ?? pathOf(request),
      operation: observation.operationName,
      rootFields: observation.rootFields,
      status: reply.statusCode,
      outcome: observation.outcome ?? (reply.statusCode < 400 ? 'ok' : `http_${reply.statusCode}`),
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      requestId: request.scope?.requestId,
      principalId: observation.principal?.userId,
      principalKind: observation.principal?.kind,
      orgId: observation.principal?.orgId ?? undefined,
    };
    if (reply.statusCode >= 500) logger.error(line, 'request');
    else logger.info(line, 'request');
    done();
  });
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?', 1)[0].slice(0, MAX_LOGGED_PATH);
}

/** `errors[0].extensions.reason` (or `.code`) of a GraphQL-shaped error body, if it is one. */
function errorReasonIn(payload: string): string | undefined {
  if (!payload.startsWith('{"errors"')) return undefined;
  try {
    const extensions = JSON.parse(payload).errors?.[0]?.extensions;
    const reason = extensions?.reason ?? extensions?.code;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined;
  }
}
