import pino, { type DestinationStream, type Logger } from 'pino';

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
  '*.headers.authorization',
  '*.headers.cookie',
  'variables',
  '*.variables',
  // A failed query's values and PostgreSQL's "Failing row contains (…)" can hold password and token
  // hashes; the query text and the constraint's name still say what failed.
  'err.parameters',
  'err.detail',
  'err.driverError.detail',
];

/** A logged URL keeps its path and parameter names; the values may be tokens (`?token=…`). */
function withoutQueryValues(url: unknown): unknown {
  if (typeof url !== 'string' || !url.includes('?')) return url;
  const [path, query] = url.split('?', 2);
  const names = query.split('&').map((pair) => `${pair.split('=', 1)[0]}=[redacted]`);
  return `${path}?${names.join('&')}`;
}

/** JSON lines on stdout, or on `destination` (tests read every line written). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'portcullis' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { url: withoutQueryValues },
  };
  return destination ? pino(options, destination) : pino(options);
}
