import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger';
import { sendGraphQLError, sendNotFound } from './replies';

/** Fastify's own refusals of a request (malformed body, bad Content-Length) carry a 4xx status. */
function isClientError(error: FastifyError): boolean {
  return error instanceof SyntaxError || (typeof error.statusCode === 'number' && error.statusCode < 500);
}

/**
 * The last word on any error: a body too large or malformed is the client's (in the GraphQL error
 * shape), anything else is logged and answered as 500 with the request id, never its details.
 */
export function errorHandler(logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A path with no route never reads its body: any trouble with one changes nothing about the answer.
    if (request.is404) return sendNotFound(reply);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendGraphQLError(reply, 413, 'request.too_large');
    if (isClientError(error)) return sendGraphQLError(reply, 400, 'request.invalid_input');
    // The path only: a query string may hold variables.
    logger.error(
      { err: error, path: request.url.split('?')[0], requestId: request.scope?.requestId },
      'request failed',
    );
    return sendGraphQLError(reply, 500, 'internal.unexpected');
  };
}
