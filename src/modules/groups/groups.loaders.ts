import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { loaderById } from '../../core/db/load-by-ids';
import { GroupEntity } from './group.entity';

/** One group a user belongs to: enough to list their groups and to add its role to their permissions. */
export type GroupLink = { groupId: string; orgId: string; roleId: string | null };

/** Values grouped under their keys, in query order, with an empty list for every key without any. */
function byKey<T>(keys: readonly string[], rows: Array<[string, T]>): T[][] {
  const grouped = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const [key, value] of rows) grouped.get(key)?.push(value);
  return keys.map((key) => grouped.get(key) ?? []);
}

export function createGroupLoaders(db: DataSource) {
  return {
    groupById: loaderById(db, GroupEntity),
    /** Every user's groups in every org: one statement per batch, read by each permission check. */
    groupLinksByUserId: new DataLoader<string, GroupLink[]>(async (userIds) => {
      const rows: Array<{ user_id: string; group_id: string; org_id: string; role_id: string | null }> = await db.query(
        `SELECT gm.user_id, g.id AS group_id, g.org_id, g.role_id
           FROM group_members gm JOIN groups g ON g.id = gm.group_id
          WHERE gm.user_id = ANY($1::uuid[])`,
        [userIds],
      );
      return byKey(
        userIds,
        rows.map((row) => [row.user_id, { groupId: row.group_id, orgId: row.org_id, roleId: row.role_id }]),
      );
    }),
    /** Each group's member ids, by email (service accounts, who have none, last). */
    memberIdsByGroupId: new DataLoader<string, string[]>(async (groupIds) => {
      const rows: Array<{ group_id: string; user_id: string }> = await db.query(
        `SELECT gm.group_id, gm.user_id
           FROM group_members gm JOIN users u ON u.id = gm.user_id
          WHERE gm.group_id = ANY($1::uuid[])
          ORDER BY lower(u.email) NULLS LAST, u.id`,
        [groupIds],
      );
      return byKey(
        groupIds,
        rows.map((row) => [row.group_id, row.user_id]),
      );
    }),
  };
}
