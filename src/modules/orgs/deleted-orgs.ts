import type { DataSource } from 'typeorm';
import { isId } from '../../core/ids';

/** Whether the id names an org that was deleted (deleteOrg): its audit chain outlives it. */
export async function isDeletedOrg(db: DataSource, orgId: unknown): Promise<boolean> {
  if (!isId(orgId)) return false;
  const rows: unknown[] = await db.query('SELECT 1 FROM deleted_orgs WHERE id = $1', [orgId]);
  return rows.length > 0;
}
