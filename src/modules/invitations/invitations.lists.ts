import type { KeysetList } from '../../core/graphql/keyset-pages';
import { InvitationStatus } from './invitation.type';

/** Which stored rows have a status; EXPIRED and PENDING depend on the expiry, as `effectiveStatus` reads it. */
function statusCondition(status: InvitationStatus | null | undefined): string {
  if (status === InvitationStatus.EXPIRED) return ` AND i.status = 'PENDING' AND i.expires_at <= now()`;
  if (status === InvitationStatus.PENDING) return ` AND i.status = 'PENDING' AND i.expires_at > now()`;
  if (status) return ' AND i.status = $2';
  return '';
}

/** An org's invitations, newest first, optionally of one status (Org.invitations needs members:invite). */
export function orgInvitations(status: InvitationStatus | null | undefined): KeysetList<string> {
  const condition = statusCondition(status);
  return {
    key: `Org.invitations:${status ?? ''}`,
    cursorKind: 'invitations',
    sortType: 'timestamptz',
    direction: 'DESC',
    parentKey: (orgId) => orgId,
    rows: (orgIds) => ({
      sql: `SELECT i.org_id AS parent, i.id, i.created_at AS sort FROM invitations i
             WHERE i.org_id = ANY($1::uuid[])${condition}`,
      params: condition.includes('$2') ? [orgIds, status] : [orgIds],
    }),
  };
}
