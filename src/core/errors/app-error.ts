import { GraphQLError } from 'graphql';
import { errorCatalog, type ErrorKey, type PublicCode } from './error-codes';

export type AppErrorOptions = {
  /** Overrides the catalog's message; must never carry secrets. */
  message?: string;
  /** The input field at fault, reported as `extensions.field`. */
  field?: string;
  /** Ids the client needs to act on the error (e.g. `orgId`); never secrets, never personal data. */
  details?: Record<string, unknown>;
};

/** The one error class for expected failures; anything else is masked by the formatter. */
export class AppError extends GraphQLError {
  readonly key: ErrorKey;
  readonly publicCode: PublicCode;

  constructor(key: ErrorKey, options: AppErrorOptions = {}) {
    const entry = errorCatalog[key];
    super(options.message ?? entry.message, {
      extensions: {
        ...options.details,
        code: entry.code,
        reason: key,
        ...(options.field ? { field: options.field } : {}),
      },
    });
    this.key = key;
    this.publicCode = entry.code;
  }
}

/** Throws an AppError unless the condition holds, narrowing the value for the caller. */
export function assertThat(condition: unknown, key: ErrorKey, options?: AppErrorOptions): asserts condition {
  if (!condition) throw new AppError(key, options);
}
