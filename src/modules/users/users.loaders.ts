import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { entityRowShape } from '../../core/db/entity-rows';
import { isId } from '../../core/ids';
import { UserEntity } from './user.entity';

const statements = new WeakMap<DataSource, string>();

/**
 * Users by id, as loaderById reads them (the same columns and UserEntity objects, an id that is not
 * a uuid names nothing) but with a statement written once per data source: nearly every request
 * reads a user (`me`, rules, member rows), and TypeORM's query building cost more CPU than the read.
 */
function userByIdLoader(db: DataSource) {
  const row = entityRowShape(db, UserEntity);
  let sql = statements.get(db);
  if (!sql) statements.set(db, (sql = `SELECT ${row.select('u', '')} FROM users u WHERE u.id = ANY($1::uuid[])`));
  const text = sql;
  return new DataLoader<string, UserEntity | null>(async (ids) => {
    const wellFormed = ids.filter(isId);
    const rows: Array<Record<string, unknown>> = wellFormed.length ? await db.query(text, [wellFormed]) : [];
    const byId = new Map<string, UserEntity>();
    for (const found of rows) {
      const user = row.read(found, '');
      byId.set(user.id, user);
    }
    return ids.map((id) => byId.get(id) ?? null);
  });
}

export function createUserLoaders(db: DataSource) {
  return { userById: userByIdLoader(db) };
}
