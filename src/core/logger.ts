import pino, { type Logger } from 'pino';
import { currentRequest } from './context/request-scope';

export type { Logger };

/** Paths that may hold secrets anywhere in a logged object; pino replaces them before writing. */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'currentPassword',
  'newPassword',
  'token',
  '*.token',
  'refreshToken',
  '*.refreshToken',
  'accessToken',
  '*.accessToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'variables',
  '*.variables',
];

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'portcullis' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Every line logged while serving a request carries that request's id.
    mixin: () => {
      const requestId = currentRequest()?.requestId;
      return requestId ? { requestId } : {};
    },
  });
}
