import type { EntityManager } from 'typeorm';
import { hashToken } from '../../core/crypto/opaque-token';
import { queryRows } from '../../core/db/sql';
import { InvitationKind } from './invitation.entity';

/** Whether the invitation can still be accepted, or why not. */
export type InvitationState = 'usable' | 'expired' | 'used' | 'revoked';

/** What a page shows about an invitation before anyone accepts it. */
export type InvitationPreview = {
  state: InvitationState;
  kind: InvitationKind;
  orgName: string;
  /** The inviter's name, or their email when they gave none; null when nobody is on record. */
  inviterName: string | null;
  roleName: string;
  /** The invited address (EMAIL invitations only). */
  email: string | null;
  expiresAt: Date;
  /** Whether an account holds the invited address, so its owner signs in to join. */
  accountExists: boolean;
};

type PreviewRow = {
  status: string;
  kind: InvitationKind;
  expires_at: Date;
  max_uses: number | null;
  use_count: number;
  email: string | null;
  org_name: string;
  role_name: string;
  inviter_first_name: string | null;
  inviter_last_name: string | null;
  inviter_email: string | null;
  account_exists: boolean;
};

/**
 * Reads an invitation by its token, changing nothing: the token stays unspent and no limit is
 * charged, so opening the link (or a mail scanner fetching it) costs its holder nothing. Null for a
 * token no invitation has. Acceptance checks everything again under lock.
 */
export async function previewInvitation(manager: EntityManager, token: string): Promise<InvitationPreview | null> {
  const [row] = await queryRows<PreviewRow>(
    manager,
    `SELECT i.status, i.kind, i.expires_at, i.max_uses, i.use_count, i.email,
            o.name AS org_name, r.name AS role_name,
            inviter.first_name AS inviter_first_name, inviter.last_name AS inviter_last_name,
            inviter.email AS inviter_email,
            (i.email IS NOT NULL AND EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = lower(i.email))) AS account_exists
       FROM invitations i
       JOIN orgs o ON o.id = i.org_id
       JOIN roles r ON r.id = i.role_id
       LEFT JOIN users inviter ON inviter.id = i.invited_by_id
      WHERE i.token_hash = $1`,
    [hashToken(token)],
  );
  if (!row) return null;
  const inviterName =
    [row.inviter_first_name, row.inviter_last_name].filter(Boolean).join(' ') || row.inviter_email || null;
  return {
    state: stateOf(row),
    kind: row.kind,
    orgName: row.org_name,
    inviterName,
    roleName: row.role_name,
    email: row.kind === InvitationKind.EMAIL ? row.email : null,
    expiresAt: row.expires_at,
    accountExists: row.account_exists,
  };
}

/** The same rules as acceptance (invitations.service.ts `isUsable`), told apart for the page. */
function stateOf(row: PreviewRow): InvitationState {
  if (row.status === 'REVOKED') return 'revoked';
  if (row.status === 'ACCEPTED') return 'used';
  if (row.max_uses !== null && row.use_count >= row.max_uses) return 'used';
  if (row.expires_at.getTime() <= Date.now()) return 'expired';
  return 'usable';
}
