import type { IncomingMessage } from 'node:http';
import type { Principal } from '../context/context';

/**
 * What the request log line and the HTTP metrics say about one request beyond its method, route
 * and status, filled in by whatever serves it (the Apollo plugin, forward auth). Never secrets.
 */
export type RequestObservation = {
  /** The GraphQL operation's root field names, in the order they first appear; set once resolved. */
  rootFields?: readonly string[];
  /** The operation name the client sent, truncated: free text, so logged but never a metric label. */
  operationName?: string;
  /** A catalog error key or GraphQL code the answer carried; unset means derived from the status. */
  outcome?: string;
  principal?: Principal | null;
};

/** Keyed by the raw request, which every route and GraphQL's context builder have. */
const observations = new WeakMap<IncomingMessage, RequestObservation>();

export function observationOf(req: IncomingMessage): RequestObservation {
  let observation = observations.get(req);
  if (!observation) {
    observation = {};
    observations.set(req, observation);
  }
  return observation;
}

const MAX_OPERATION_NAME = 100;

export function truncatedOperationName(name: string | null | undefined): string | undefined {
  return typeof name === 'string' ? name.slice(0, MAX_OPERATION_NAME) : undefined;
}

/**
 * The `operation` label: the one root field selected (bounded by the schema, as the operation passed
 * validation), `multiple`, `unknown` on /graphql when no valid operation was resolved, and `-`
 * elsewhere.
 */
export function operationLabel(route: string, observation: RequestObservation | undefined): string {
  const fields = observation?.rootFields;
  if (fields && fields.length > 0) return fields.length === 1 ? fields[0] : 'multiple';
  return route === '/graphql' ? 'unknown' : '-';
}
