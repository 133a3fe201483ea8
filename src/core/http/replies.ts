import type { FastifyReply } from 'fastify';
import { errorCatalog, type ErrorKey } from '../errors/error-codes';

/** Sent with every response, whichever route or error answers. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function sendJson(reply: FastifyReply, status: number, value: unknown, headers: Record<string, string> = {}) {
  return reply
    .code(status)
    .headers({ 'content-type': 'application/json; charset=utf-8', ...headers })
    .send(JSON.stringify(value));
}

/** The body of a GraphQL error response, for refusals made before or outside Apollo. */
export function graphQLErrorBody(key: ErrorKey, requestId: string, field?: string) {
  const { code, message } = errorCatalog[key];
  return { errors: [{ message, extensions: { code, reason: key, requestId, field } }] };
}

export function sendGraphQLError(
  reply: FastifyReply,
  status: number,
  key: ErrorKey,
  { field, headers }: { field?: string; headers?: Record<string, string> } = {},
) {
  return sendJson(reply, status, graphQLErrorBody(key, reply.request.scope.requestId, field), headers);
}

/** Only GET and HEAD reach paths other than /graphql; anything else is refused as before routing. */
export function sendNotFound(reply: FastifyReply) {
  const method = reply.request.method;
  return method === 'GET' || method === 'HEAD'
    ? sendJson(reply, 404, { error: 'not found' })
    : sendJson(reply, 405, { error: 'method not allowed' });
}
