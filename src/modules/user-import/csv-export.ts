import { stringify } from 'csv-stringify/sync';
import type { EntityManager } from 'typeorm';
import type { PrincipalKind } from '../users/user.entity';
import { neutraliseFormula } from './formula-cells';

export const EXPORT_COLUMNS = [
  'email',
  'firstName',
  'lastName',
  'role',
  'groups',
  'teams',
  'status',
  'kind',
  'customerId',
  'createdAt',
  'lastLoginAt',
] as const;

type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | Date | null>;

/**
 * The org's members as RFC 4180 CSV (CRLF records, quoted where needed), ordered by email.
 * `role` is the role key, `groups` and `teams` are names joined by `;` (as the import reads
 * them), `status` is the membership's and `createdAt` is when the member joined the org.
 */
export async function exportMembersCsv(db: EntityManager, orgId: string, kind: PrincipalKind | null): Promise<string> {
  const rows: ExportRow[] = await db.query(
    `SELECT u.email, u.first_name AS "firstName", u.last_name AS "lastName", r.key AS role,
            array_to_string(ARRAY(SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
                                   WHERE gm.user_id = u.id AND g.org_id = $1 ORDER BY lower(g.name)), ';') AS groups,
            array_to_string(ARRAY(SELECT t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id
                                   WHERE tm.user_id = u.id AND t.org_id = $1 ORDER BY lower(t.name)), ';') AS teams,
            m.status, u.kind, u.customer_id AS "customerId", m.created_at AS "createdAt", u.last_login_at AS "lastLoginAt"
       FROM memberships m
       JOIN users u ON u.id = m.user_id
       JOIN roles r ON r.id = m.role_id
      WHERE m.org_id = $1 AND ($2::text IS NULL OR u.kind = $2)
      ORDER BY lower(coalesce(u.email, '')), u.id`,
    [orgId, kind],
  );
  return stringify(rows.map(toCells), {
    header: true,
    columns: [...EXPORT_COLUMNS],
    record_delimiter: 'windows',
    // csv-stringify quotes a field holding its own record delimiter (CRLF) but not a lone CR or LF.
    quoted_match: /[\r\n]/,
  });
}

function toCells(row: ExportRow): Record<string, string> {
  return Object.fromEntries(
    EXPORT_COLUMNS.map((column) => {
      const value = row[column];
      return [column, value instanceof Date ? value.toISOString() : neutraliseFormula(value ?? '')];
    }),
  );
}
