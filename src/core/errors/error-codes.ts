/** The contract's `extensions.code` values (api.md, "Errors"). */
export type PublicCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

/**
 * Every error the gateway reports on purpose, by namespaced code. Each maps to one public code and
 * a default message; a new failure mode gets a new entry here, never an ad-hoc string.
 */
export const errorCatalog = {
  'auth.unauthenticated': { code: 'UNAUTHENTICATED', message: 'Authentication required' },
  'auth.invalid_credentials': { code: 'UNAUTHENTICATED', message: 'Invalid email or password' },
  'auth.invalid_token': { code: 'UNAUTHENTICATED', message: 'Invalid or expired token' },
  'auth.invalid_refresh_token': { code: 'UNAUTHENTICATED', message: 'Invalid or expired refresh token' },
  'auth.forbidden': { code: 'FORBIDDEN', message: 'Not allowed' },
  'request.invalid_input': { code: 'BAD_USER_INPUT', message: 'Invalid input' },
  'request.too_large': { code: 'BAD_USER_INPUT', message: 'Request body is too large' },
  'request.too_complex': { code: 'BAD_USER_INPUT', message: 'Query is too complex' },
  'session.not_found': { code: 'NOT_FOUND', message: 'Session not found' },
  'org.not_found': { code: 'NOT_FOUND', message: 'Organization not found' },
  'user.not_found': { code: 'NOT_FOUND', message: 'User not found' },
  'internal.unexpected': { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' },
} as const satisfies Record<string, { code: PublicCode; message: string }>;

export type ErrorKey = keyof typeof errorCatalog;
