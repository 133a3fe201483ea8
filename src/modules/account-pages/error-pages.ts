import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../../core/db/pg-errors';
import { errorCatalog } from '../../core/errors/error-codes';
import { RETRY_AFTER_OUTAGE_SECONDS, ServiceUnavailableError } from '../../core/errors/service-unavailable';
import type { Logger } from '../../core/logger';
import { RateLimitedError } from '../../core/rate-limit/rate-limited-error';
import { html } from './html';
import type { PageKit } from './page-kit';

type ErrorState = 'forbidden' | 'rate-limited' | 'unavailable' | 'failed' | 'invalid-request' | 'method-not-allowed';

function sendError(
  kit: PageKit,
  reply: FastifyReply,
  status: number,
  state: ErrorState,
  title: string,
  paragraphs: string[],
  headers: Record<string, string> = {},
) {
  return kit.send(
    reply,
    status,
    { page: 'error', state, title, body: html`${paragraphs.map((text) => html`<p>${text}</p>`)}` },
    headers,
  );
}

/** A wait as people say it: seconds under two minutes, then minutes, then hours. */
export function readableWait(seconds: number): string {
  if (seconds < 120) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 120) return `${minutes} minutes`;
  return `${Math.ceil(minutes / 60)} hours`;
}

/** A POST without a valid CSRF token, or from another origin: nothing was changed. */
export function sendForbidden(kit: PageKit, reply: FastifyReply) {
  return sendError(kit, reply, 403, 'forbidden', 'This form could not be accepted', [
    errorCatalog['page.form_refused'].message,
  ]);
}

export function sendMethodNotAllowed(kit: PageKit, reply: FastifyReply, allow: string) {
  return sendError(
    kit,
    reply,
    405,
    'method-not-allowed',
    'This page cannot do that',
    [errorCatalog['page.method_not_allowed'].message],
    { allow },
  );
}

/** Fastify's own refusals of a request (a malformed or unreadable body) carry a 4xx status. */
function isClientError(error: FastifyError): boolean {
  return error instanceof SyntaxError || (typeof error.statusCode === 'number' && error.statusCode < 500);
}

/**
 * Whatever a page did not answer itself becomes a page too, never JSON or a stack: too many
 * attempts, a refused form, the database away, a body that cannot be read, or a failure of ours,
 * logged once and shown with the request id to quote.
 */
export function pageErrorHandler(kit: PageKit, logger: Logger) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A redirect that failed (its Location unsendable, or an error after it was set) must not take
    // the error page with it: the page is the answer now.
    reply.removeHeader('location');
    if (error instanceof RateLimitedError) {
      return sendError(
        kit,
        reply,
        429,
        'rate-limited',
        'Too many attempts',
        [`You can try again in ${readableWait(error.retryAfterSeconds)}.`],
        { 'retry-after': String(error.retryAfterSeconds) },
      );
    }
    if (error.code?.startsWith('FST_CSRF_')) return sendForbidden(kit, reply);
    if (error instanceof ServiceUnavailableError || isDatabaseUnavailable(error)) {
      return sendError(
        kit,
        reply,
        503,
        'unavailable',
        'Temporarily unavailable',
        [errorCatalog['service.unavailable'].message],
        { 'retry-after': String(RETRY_AFTER_OUTAGE_SECONDS) },
      );
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(kit, reply, 413, 'invalid-request', 'The form was too large', [
        errorCatalog['request.too_large'].message,
      ]);
    }
    if (isClientError(error)) {
      return sendError(kit, reply, 400, 'invalid-request', 'The form could not be read', [
        errorCatalog['request.invalid_input'].message,
        'Go back, reload the page and try again.',
      ]);
    }
    const requestId = request.scope?.requestId ?? '';
    logger.error({ err: error, path: request.url.split('?')[0], requestId }, 'request failed');
    return sendError(kit, reply, 500, 'failed', 'Something went wrong', [
      errorCatalog['internal.unexpected'].message,
      `If it happens again, quote this reference: ${requestId}`,
    ]);
  };
}
