import { AppError } from '../errors/app-error';

/** RATE_LIMITED, with `extensions.retryAfter`: whole seconds until the spent limit lets the client in again. */
export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(msBeforeNext: number) {
    super('rate.limited');
    this.retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    this.extensions.retryAfter = this.retryAfterSeconds;
  }
}
