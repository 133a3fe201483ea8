import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { AppError } from '../errors/app-error';
import type { ErrorKey } from '../errors/error-codes';
import { isId } from '../ids';
import { isUniqueViolation } from './pg-errors';

/** Loads a row by id FOR UPDATE, or throws `notFound`; a malformed id names nothing. */
export async function findLockedOrFail<T extends ObjectLiteral>(
  tx: EntityManager,
  entity: EntityTarget<T>,
  id: string,
  notFound: ErrorKey,
): Promise<T> {
  const row = isId(id)
    ? await tx.findOne(entity, { where: { id } as never, lock: { mode: 'pessimistic_write' } })
    : null;
  if (!row) throw new AppError(notFound);
  return row;
}

/** Saves a row whose `index` must stay unique, reporting a clash as `conflict` on `field`. */
export async function saveUnique<T extends ObjectLiteral>(
  tx: EntityManager,
  row: T,
  unique: { index: string; conflict: ErrorKey; field: string },
): Promise<T> {
  try {
    return await tx.save(row);
  } catch (error) {
    if (isUniqueViolation(error, unique.index)) throw new AppError(unique.conflict, { field: unique.field });
    throw error;
  }
}
