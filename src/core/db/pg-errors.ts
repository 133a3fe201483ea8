import { QueryFailedError } from 'typeorm';

/** Whether a statement failed on a unique index (optionally a specific one). */
export function isUniqueViolation(error: unknown, indexName?: string): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; constraint?: string };
  return driverError.code === '23505' && (indexName === undefined || driverError.constraint === indexName);
}
