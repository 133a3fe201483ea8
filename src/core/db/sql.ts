import type { EntityManager } from 'typeorm';

/**
 * Runs a statement and returns its rows. TypeORM's `query()` answers UPDATE and DELETE with
 * `[rows, count]` instead of rows, so statements with RETURNING go through this.
 */
export async function queryRows<T>(tx: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  const ownRunner = tx.queryRunner ? null : tx.connection.createQueryRunner();
  const runner = tx.queryRunner ?? ownRunner!;
  try {
    const result = await runner.query(sql, params, true);
    return result.records as T[];
  } finally {
    await ownRunner?.release();
  }
}
