import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { NODE_TABLES, type NodeTypeName } from './node-lookup';

/** The type of each id, for `node(id)`: one UNION query per batch. */
export function createNodeLoaders(db: DataSource) {
  const sql = NODE_TABLES.map(
    ([type, table]) => `SELECT id, '${type}' AS type FROM ${table} WHERE id = ANY($1::uuid[])`,
  ).join(' UNION ALL ');
  return {
    nodeTypeById: new DataLoader<string, NodeTypeName | null>(async (ids) => {
      const rows: Array<{ id: string; type: NodeTypeName }> = await db.query(sql, [ids]);
      const types = new Map(rows.map((row) => [row.id, row.type]));
      return ids.map((id) => types.get(id) ?? null);
    }),
  };
}
