import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ArgumentValidationError } from 'type-graphql';
import { QueryFailedError } from 'typeorm';
import type { ValidationError } from 'class-validator';
import { requestIdOf } from '../context/request-scope';
import { isDatabaseUnavailable } from '../db/pg-errors';
import type { Logger } from '../logger';
import { AppError } from './app-error';
import { errorCatalog } from './error-codes';
import { RETRY_AFTER_OUTAGE_SECONDS, ServiceUnavailableError } from './service-unavailable';

/**
 * Apollo's own request-level errors are the client's fault: they keep their message and their
 * code, which clients key on (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, …).
 */
const CLIENT_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function firstInvalidField(errors: ValidationError[], prefix = ''): { field: string; message: string } | null {
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const constraint = error.constraints && Object.values(error.constraints)[0];
    if (constraint) return { field: path, message: constraint };
    const nested = firstInvalidField(error.children ?? [], path);
    if (nested) return nested;
  }
  return null;
}

/**
 * PostgreSQL refused a value: a data exception (SQLSTATE class 22: malformed, out of range) or a
 * CHECK constraint. Only input gets that far unchecked, so it is the client's fault, not a 500.
 */
function isRefusedValue(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '23514');
}

/**
 * A foreign key refused a row: what it points at (an org, a user) was deleted by a transaction that
 * committed while this one ran, after this one's checks. The request named something that is now
 * gone, so it is NOT_FOUND, and its transaction rolled back.
 */
function isVanishedReference(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  return (error.driverError as { code?: unknown } | undefined)?.code === '23503';
}

/**
 * A refusal Apollo raises itself, without a code, for a malformed request: an unsupported persisted
 * query version, a hash that does not match its query. It carries the 4xx status Apollo answers with
 * and wraps no exception, so it cannot be an internal fault.
 */
function isApolloRequestRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.originalError) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The catalogued error behind a reported one: itself, or the one Apollo wrapped when it passed a
 * validation failure through with its own code (GRAPHQL_VALIDATION_FAILED).
 */
function catalogued(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof GraphQLError && error.originalError instanceof AppError) return error.originalError;
  return null;
}

/**
 * Apollo refuses introspection with advice about its own constructor ("pass introspection: true to
 * ApolloServer"), which nobody running the gateway can follow: name the setting that does it.
 */
function operatorWording(message: string): string {
  return message.startsWith('GraphQL introspection is not allowed')
    ? 'Introspection is turned off on this gateway (INTROSPECTION=false, the default in production); set INTROSPECTION=true to allow it.'
    : message;
}

/**
 * The one place that decides what a client sees of an error: catalogued errors keep their code,
 * Apollo's parse, validation and persisted-query errors keep theirs, other client mistakes become
 * BAD_USER_INPUT, a database outage SERVICE_UNAVAILABLE (wherever it was
 * thrown: a resolver, a permission rule, the rate limiter), and everything else is masked and
 * logged with a requestId.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };

    const appError = catalogued(original);
    const requestId = requestIdOf(error);
    if (appError instanceof ServiceUnavailableError || (!appError && isDatabaseUnavailable(original))) {
      logger.warn({ err: original, path: formatted.path, requestId }, 'the database is unavailable');
      const entry = errorCatalog['service.unavailable'];
      return {
        ...base,
        message: entry.message,
        extensions: {
          code: entry.code,
          reason: 'service.unavailable',
          retryAfter: RETRY_AFTER_OUTAGE_SECONDS,
          requestId,
        },
      };
    }
    if (appError) {
      // `http` sets the response's status and headers for Apollo; it is not for the client.
      const { http: _http, ...extensions } = appError.extensions;
      return { ...base, message: appError.message, extensions };
    }
    if (original instanceof ArgumentValidationError) {
      const invalid = firstInvalidField(original.extensions.validationErrors as ValidationError[]);
      return {
        ...base,
        message: invalid ? `Invalid input: ${invalid.message}` : errorCatalog['request.invalid_input'].message,
        extensions: {
          code: 'BAD_USER_INPUT',
          reason: 'request.invalid_input',
          ...(invalid ? { field: invalid.field } : {}),
        },
      };
    }
    if (isRefusedValue(original)) {
      // Still logged: an argument's validation let this value through, and should be tightened.
      logger.warn({ err: original, path: formatted.path, requestId }, 'the database refused a value from a request');
      const entry = errorCatalog['request.invalid_value'];
      return { ...base, message: entry.message, extensions: { code: entry.code, reason: 'request.invalid_value' } };
    }
    if (isVanishedReference(original)) {
      // Logged: a reference that never existed would be a fault of ours, not a race.
      logger.warn(
        { err: original, path: formatted.path, requestId },
        'a row the request refers to was deleted meanwhile',
      );
      const entry = errorCatalog['request.target_gone'];
      return { ...base, message: entry.message, extensions: { code: entry.code, reason: 'request.target_gone' } };
    }
    const apolloCode = formatted.extensions?.code;
    if (typeof apolloCode === 'string' && CLIENT_ERROR_CODES.has(apolloCode)) {
      return { ...base, message: operatorWording(formatted.message), extensions: { code: apolloCode } };
    }
    if (isApolloRequestRefusal(original)) {
      return { ...base, message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }

    logger.error({ err: original, path: formatted.path, requestId }, 'unexpected error while serving a request');
    return {
      ...base,
      message: errorCatalog['internal.unexpected'].message,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    };
  };
}
