import { Counter, Histogram, type Registry } from 'prom-client';
import { isDatabaseUnavailable } from '../db/pg-errors';
import { AppError } from '../errors/app-error';
import type { ErrorKey } from '../errors/error-codes';

export type AuthEventKind = 'login' | 'refresh' | 'key' | 'forward_auth';

/** `success`, or the catalog key of the refusal: bounded by error-codes.ts, never free text. */
export type AuthOutcome = 'success' | ErrorKey;

/**
 * The counters services and the HTTP layer move. Services get this small interface, never
 * prom-client itself, and each gateway its own (one registry per gateway, see app.ts).
 */
export type GatewayMetrics = {
  httpRequest(labels: { route: string; operation: string; code: string }, seconds: number): void;
  authEvent(kind: AuthEventKind, outcome: AuthOutcome): void;
  rateLimited(limit: string): void;
};

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const requests = new Counter({
    name: 'portcullis_http_requests_total',
    help: 'HTTP requests answered, by matched route, GraphQL root field and status code',
    labelNames: ['route', 'operation', 'code'] as const,
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'portcullis_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its answer, by matched route, GraphQL root field and status code',
    labelNames: ['route', 'operation', 'code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const authEvents = new Counter({
    name: 'portcullis_auth_events_total',
    help: 'Sign-ins, refreshes, API key checks and forward-auth decisions, by outcome (success or error code)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'portcullis_rate_limited_total',
    help: 'Attempts refused because an abuse limit was spent, by limit',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  return {
    httpRequest(labels, seconds) {
      requests.inc(labels);
      durations.observe(labels, seconds);
    },
    authEvent: (kind, outcome) => authEvents.inc({ kind, outcome }),
    rateLimited: (limit) => rateLimited.inc({ limit }),
  };
}

/** For a process that serves no metrics (admin commands): counts nothing. */
export const UNCOUNTED: GatewayMetrics = {
  httpRequest: () => undefined,
  authEvent: () => undefined,
  rateLimited: () => undefined,
};

/** The catalog key an authentication step failed with; anything unplanned counts as one value. */
export function authOutcomeOf(error: unknown): ErrorKey {
  if (error instanceof AppError) return error.key;
  return isDatabaseUnavailable(error) ? 'service.unavailable' : 'internal.unexpected';
}

/** Runs an authentication step and counts its outcome, success or the error it throws. */
export async function countedAuthEvent<T>(
  metrics: GatewayMetrics,
  kind: AuthEventKind,
  step: () => Promise<T>,
): Promise<T> {
  try {
    const result = await step();
    metrics.authEvent(kind, 'success');
    return result;
  } catch (error) {
    metrics.authEvent(kind, authOutcomeOf(error));
    throw error;
  }
}
