import { AppError, type AppErrorOptions } from '../errors/app-error';
import type { ErrorKey } from '../errors/error-codes';

/**
 * A catalogued error raised before execution (validation or operation checks). Apollo answers
 * errors at that stage with HTTP 500 unless they carry a status, so this one says 400; the
 * formatter drops the `http` extension before the client sees it.
 */
export class RequestRefusal extends AppError {
  constructor(key: ErrorKey, options: AppErrorOptions = {}) {
    super(key, options);
    Object.assign(this.extensions, { http: { status: 400 } });
  }
}
