import { HeaderMap } from '@apollo/server';
import { isDatabaseUnavailable } from '../db/pg-errors';
import { AppError } from './app-error';

/**
 * How long a client is asked to wait before trying again (`Retry-After`, seconds): about what a
 * PostgreSQL restart or failover takes, and no shorter than the pool's connect timeout.
 */
export const RETRY_AFTER_OUTAGE_SECONDS = 5;

/** SERVICE_UNAVAILABLE: the database cannot be reached; the same request can succeed later. */
export class ServiceUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super('service.unavailable');
    this.cause = cause;
    this.extensions.retryAfter = RETRY_AFTER_OUTAGE_SECONDS;
    // Apollo answers with this status and header when the error ends a request before execution
    // (context creation), where no plugin sees the response.
    this.extensions.http = {
      status: 503,
      headers: new HeaderMap([['retry-after', String(RETRY_AFTER_OUTAGE_SECONDS)]]),
    };
  }
}

/** For `catch`: a database outage becomes SERVICE_UNAVAILABLE; anything else is thrown on unchanged. */
export function rethrowDatabaseOutage(error: unknown): never {
  throw isDatabaseUnavailable(error) ? new ServiceUnavailableError(error) : error;
}
