import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ArgumentValidationError } from 'type-graphql';
import type { ValidationError } from 'class-validator';
import { currentRequest } from '../context/request-scope';
import type { Logger } from '../logger';
import { AppError } from './app-error';
import { errorCatalog } from './error-codes';

/** Apollo's own request-level errors are the client's fault; they keep their message. */
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
 * The one place that decides what a client sees of an error: catalogued errors keep their code,
 * client mistakes become BAD_USER_INPUT, and everything else is masked and logged with a requestId.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };

    if (original instanceof AppError) {
      return { ...base, message: original.message, extensions: { ...original.extensions } };
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
    const apolloCode = formatted.extensions?.code;
    if (typeof apolloCode === 'string' && CLIENT_ERROR_CODES.has(apolloCode)) {
      return { ...base, message: formatted.message, extensions: { code: 'BAD_USER_INPUT', reason: apolloCode } };
    }

    const requestId = currentRequest()?.requestId;
    logger.error({ err: original, path: formatted.path }, 'unexpected error while serving a request');
    return {
      ...base,
      message: errorCatalog['internal.unexpected'].message,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    };
  };
}
