import DataLoader from 'dataloader';
import { In, type DataSource, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { isId } from '../ids';

/**
 * A per-request loader of rows by primary key: one SELECT … WHERE id IN (…) per tick. An id that is
 * not a uuid (a client's input) names nothing: null, like an unknown id, without asking the database.
 */
export function loaderById<T extends ObjectLiteral & { id: string }>(db: DataSource, entity: EntityTarget<T>) {
  return new DataLoader<string, T | null>(async (ids) => {
    const wellFormed = ids.filter(isId);
    const rows = wellFormed.length ? await db.getRepository(entity).findBy({ id: In(wellFormed) } as never) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** A per-request loader of the rows whose `column` equals each key, e.g. memberships by user. */
export function loaderByColumn<T extends ObjectLiteral>(
  db: DataSource,
  entity: EntityTarget<T>,
  column: keyof T & string,
) {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await db.getRepository(entity).findBy({ [column]: In([...keys]) } as never);
    const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
    for (const row of rows) groups.get(row[column] as string)?.push(row);
    return keys.map((key) => groups.get(key) ?? []);
  });
}

/**
 * A per-request loader of ordered id lists: `sql` takes the keys as $1 and returns `key, id` rows
 * in the order each list should keep. Callers load the rows themselves through the by-id loaders.
 */
export function idListLoader(db: DataSource, sql: string) {
  return new DataLoader<string, string[]>(async (keys) => {
    const rows: Array<{ key: string; id: string }> = await db.query(sql, [keys]);
    const lists = new Map<string, string[]>(keys.map((key) => [key, []]));
    for (const row of rows) lists.get(row.key)?.push(row.id);
    return keys.map((key) => lists.get(key) ?? []);
  });
}

/** The rows for an id list, in its order, through a by-id loader: one batched look-up per tick. */
export async function loadAll<T>(loader: { load(id: string): Promise<T | null> }, ids: string[]): Promise<T[]> {
  const rows: Array<T | null> = await Promise.all(ids.map((id) => loader.load(id)));
  return rows.filter((row): row is T => row !== null);
}
