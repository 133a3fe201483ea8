import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * An entity's selectable columns, read straight from a joined row: a statement that joins several
 * tables can hand each loader the same object its by-id look-up would, without TypeORM hydrating
 * every row. Only plain columns (no transformers, relations or embedded entities) are mapped: an
 * entity with anything else is refused when the shape is built, not misread later.
 */
export type EntityRowShape<T> = {
  /** `alias.column AS "prefix column"` for every selectable column, to put in a SELECT list. */
  select(alias: string, prefix: string): string;
  /** The entity read from a row selected with `select(…, prefix)`. */
  read(row: Record<string, unknown>, prefix: string): T;
};

const shapes = new WeakMap<DataSource, Map<unknown, EntityRowShape<unknown>>>();

/** Built once per data source and entity: loaders are created for every request. */
export function entityRowShape<T extends ObjectLiteral>(db: DataSource, entity: EntityTarget<T>): EntityRowShape<T> {
  let known = shapes.get(db);
  if (!known) shapes.set(db, (known = new Map()));
  let shape = known.get(entity) as EntityRowShape<T> | undefined;
  if (!shape) known.set(entity, (shape = buildShape(db, entity)));
  return shape;
}

function buildShape<T extends ObjectLiteral>(db: DataSource, entity: EntityTarget<T>): EntityRowShape<T> {
  const metadata = db.getMetadata(entity);
  if (metadata.relations.length > 0 || metadata.embeddeds.length > 0) {
    throw new Error(`${metadata.name} has relations or embedded entities: read it with TypeORM`);
  }
  // password_hash and other `select: false` columns stay out, as they do from find().
  const columns = metadata.columns.filter((column) => column.isSelect);
  for (const column of columns) {
    if (column.transformer) throw new Error(`${metadata.name}.${column.propertyName} has a transformer`);
  }
  const prototype = (metadata.target as { prototype: object }).prototype;
  const keys = new Map<string, string[]>();
  const keysOf = (prefix: string) => {
    let prefixed = keys.get(prefix);
    if (!prefixed) keys.set(prefix, (prefixed = columns.map((column) => prefix + column.databaseName)));
    return prefixed;
  };
  return {
    select: (alias, prefix) =>
      columns.map((column) => `${alias}.${column.databaseName} AS "${prefix}${column.databaseName}"`).join(', '),
    read: (row, prefix) => {
      // An instance of the entity (TypeORM can save it, instanceof holds) without running its
      // constructor, which would define every field only for this loop to set it again.
      const value = Object.create(prototype) as Record<string, unknown>;
      const prefixed = keysOf(prefix);
      for (let index = 0; index < columns.length; index++) value[columns[index].propertyName] = row[prefixed[index]];
      return value as T;
    },
  };
}
