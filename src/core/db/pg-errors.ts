import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';

/** Whether a statement failed on a unique index (optionally a specific one). */
export function isUniqueViolation(error: unknown, indexName?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && (indexName === undefined || driverError.constraint === indexName);
}

/**
 * Socket errors of a server that is down, restarting, or not reachable over the network. Only as
 * node reports them (with the failed `syscall`): other libraries reuse the codes for their own
 * timeouts.
 */
const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs of a server that cannot take the session: shutting down (57P01 admin, 57P02 crash),
 * starting up or in recovery (57P03), out of connection slots (53300). Class 08 is added below.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * What node-postgres and its pool say when a connection ended or never came (their errors carry
 * no code): the server closed it, a connect attempt or the wait for a pooled one timed out, or a
 * client whose connection broke was asked to query.
 */
const UNREACHABLE_DRIVER_MESSAGES = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'timeout expired',
  'Client has encountered a connection error and is not queryable',
]);

function isUnavailableSqlState(code: string): boolean {
  if (UNAVAILABLE_SQLSTATES.has(code)) return true;
  // Class 08 is "connection exception", except 08P01: a protocol violation is a client bug, and
  // the server that reported it is up.
  return /^08[0-9A-Z]{3}$/.test(code) && code !== '08P01';
}

/**
 * TypeORM hands a transaction's connection back to the pool as soon as the connection reports an
 * error (the server closing it), and keeps no record of that error: the transaction's next
 * statement then fails as "already released". Our code never uses a query runner after its
 * transaction ended (that would fail every time, and tests would show it), so this is a lost
 * connection.
 */
function isConnectionLostByTypeOrm(error: object): boolean {
  return error instanceof QueryRunnerAlreadyReleasedError || error instanceof QueryRunnerProviderAlreadyReleasedError;
}

function describesUnavailability(error: object): boolean {
  if (isConnectionLostByTypeOrm(error)) return true;
  const { code, syscall, message } = error as { code?: unknown; syscall?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (typeof syscall === 'string' && UNREACHABLE_SOCKET_CODES.has(code)) return true;
    if (isUnavailableSqlState(code)) return true;
  }
  return typeof message === 'string' && UNREACHABLE_DRIVER_MESSAGES.has(message);
}

/**
 * The errors the database layer made this one from: TypeORM's QueryFailedError wraps the driver's
 * error (TypeORM 1.x sets no `cause`), and node reports each address of a host name it tried in an
 * AggregateError. Other wrappers' causes are not followed: they keep their own meaning, and a mail
 * server that cannot be reached is not the database.
 */
function underlying(error: object): unknown[] {
  // By name: node's own errors come from another realm under test runners that sandbox globals.
  const { name, errors } = error as { name?: unknown; errors?: unknown };
  if (name === 'AggregateError' && Array.isArray(errors)) return errors;
  if (error instanceof QueryFailedError) return [error.driverError];
  return [];
}

/**
 * Whether the database could not be reached or went away: the failure is the database's
 * availability, not the request or the code, so trying again later can succeed. Anything the
 * server answered about the statement itself (a constraint, a syntax error, a lock timeout) is not.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<object>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const candidate = pending.pop();
    if (typeof candidate !== 'object' || candidate === null || seen.has(candidate)) continue;
    seen.add(candidate);
    if (describesUnavailability(candidate)) return true;
    pending.push(...underlying(candidate));
  }
  return false;
}
